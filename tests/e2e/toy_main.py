"""The toy 4.0.0 (tests/toy_v4.py) registered in Chromium, on the real localStorage and IndexedDB.

The page's query names one step: ``?step=rollback`` (the switch's version write fails:
everything is rolled back), ``?step=stall`` (the run stops answering after its second
staged batch, so the test can reload the page mid-run) or ``?step=finish`` (a fresh
page recovers the interrupted run as app/main.py does, then finishes it). The result
goes to ``#results`` as JSON and ``data-toy-done`` is set.
"""

import asyncio
import json
from typing import Any

import js

from app.core import keys, revisions
from app.storage.browser import BrowserLock, BrowserStorage, count_json_array
from app.storage.webcrypto import WebCrypto
from app.wiring import build
from tests import toy_v4


class Hooked:
    """The browser storage with a hook before each write, as MemoryStorage.fault has."""

    def __init__(self, inner: BrowserStorage, hook: Any) -> None:
        self.inner = inner
        self.hook = hook

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def local_write(self, set_items, remove=(), expect=None) -> None:
        await self.hook("local_write", set_items)
        await self.inner.local_write(set_items, remove, expect)

    async def own_write(self, ops) -> None:
        await self.hook("own_write", ops)
        await self.inner.own_write(ops)


async def fail_the_version_write(operation: str, detail: Any) -> None:
    if operation == "local_write" and keys.SCHEMA_VERSION_KEY in detail:
        raise RuntimeError("injected: the version write failed")


staged = [0]


async def stall_after_the_second_staged_batch(operation: str, detail: Any) -> None:
    if operation == "own_write" and any(getattr(op, "store", "") == "staging" for op in detail):
        staged[0] += 1
        if staged[0] == 2:
            js.document.documentElement.dataset.toyStalled = "true"
            await asyncio.Future()  # never answers: the test reloads the page here


async def no_fault(operation: str, detail: Any) -> None:
    return None


HOOKS = {"rollback": fail_the_version_write, "stall": stall_after_the_second_staged_batch, "finish": no_fault}


async def main() -> None:
    step = dict(part.split("=", 1) for part in str(js.location.search).lstrip("?").split("&") if "=" in part)["step"]
    revisions.REGISTRY.append(toy_v4.REVISION)
    storage = Hooked(BrowserStorage(), HOOKS[step])
    services = build(storage, WebCrypto(), BrowserLock(), compat_lock=BrowserLock(), count_array=count_json_array)
    result: dict[str, Any] = {"step": step, "target": revisions.target()}
    try:
        if step == "finish":
            await services.backups.recover()
            result["recovered"] = await services.migration.recover()
        status = await services.migration.check_migration_status()
        result["neededBefore"] = status["needed"]
        if status["needed"]:
            result["run"] = await services.migration.run_pending_migrations(batch_size=3)
        result["neededAfter"] = (await services.migration.check_migration_status())["needed"]
    except Exception as exc:  # noqa: BLE001 - the test reads the failure from the page
        result["error"] = {"type": type(exc).__name__, "name": getattr(exc, "name", None), "message": str(exc)}
    js.document.getElementById("results").textContent = json.dumps(result, ensure_ascii=False)
    js.document.documentElement.dataset.toyDone = "true"


asyncio.ensure_future(main())
