"""Entry point PyScript runs on the console page."""

import asyncio
import sys

import js
import jsonschema
import pydantic

from app.storage.browser import BrowserStorage


async def main() -> None:
    storage = BrowserStorage()
    keys = await storage.local_keys()
    js.document.getElementById("boot").textContent = (
        f"Python {sys.version.split()[0]}, pydantic {pydantic.VERSION}, jsonschema {jsonschema.__version__}, keys {len(keys)}"
    )
    js.document.documentElement.dataset.migrationReady = "true"
    js.airprompts.__resolveReady(True)


asyncio.ensure_future(main())
