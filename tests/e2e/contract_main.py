"""Run the storage contract on BrowserStorage inside the page; publish the results as JSON."""

import asyncio
import json

import js

from app.storage.browser import BrowserStorage
from tests.contract.faults import BrowserFaults
from tests.contract.storage_contract import run_all


async def main() -> None:
    try:
        results = await run_all(BrowserStorage(), BrowserFaults())
    except BaseException as exc:  # noqa: BLE001 - the test reads the failure from the page
        results = [{"name": "run_all", "ok": False, "error": repr(exc)}]
    js.document.getElementById("results").textContent = json.dumps(results)
    js.document.documentElement.dataset.contractDone = "true"


asyncio.ensure_future(main())
