"""Entry point of the browser app: wire the services to the browser and publish window.airprompts.

It runs in the engine's Worker (static/js/worker.js), started by static/js/loader.js
on the host app's pages and by static/js/console.js on the console page; test pages
may run it on their own main thread through PyScript (static/js/boot.js). Each sets
``js.airpromptsHost`` first: the page's query string and options, whether a console
is to be mounted (with the page's elements, for app/ui/dom.py), and the
``ready``/``fail`` signals; everything else reaches the page through the storage,
crypto, event and console (``js.airpromptsUi``) bridges.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import sys
import time
from typing import Any

import js
from pyodide.ffi import create_proxy, to_js

from app.api import Api, event_json
from app.core.warmup import warm_up
from app.storage.browser import BrowserLock, BrowserStorage, count_json_array, js_text, text_from_js
from app.storage.webcrypto import WebCrypto
from app.wiring import Services, build

log = logging.getLogger("app.main")
PREFIX = "[airprompts]"
# The worker's event loop (the page's calls, a pause) gets its turn once this many seconds of
# batches have run, not after each batch (progress events still go out after each): a turn
# costs 1 to 2 ms, as much as a third of a batch of 100 records. A page's call waits for the
# next turn: 50 ms at most.
TURN_EVERY = 0.05


def console_sink(entry: dict) -> None:
    """Mirror one audit-trail entry to the browser console."""
    level = entry.get("level", "INFO")
    method = {"DEBUG": "debug", "INFO": "info", "WARN": "warn", "ERROR": "error", "CRITICAL": "error"}.get(level, "log")
    context = entry.get("context") or {}
    text = f"{PREFIX} {level} {entry.get('message', '')}"
    if context:
        text += " " + json.dumps(context, ensure_ascii=False, default=str)[:2000]
    getattr(js.console, method)(text)


def memory_probe() -> dict:
    """Return the Pyodide heap size and the JS heap figures Chromium exposes."""
    used, total, limit = js.airpromptsPerf.memory().to_py()
    import pyodide_js  # type: ignore[import-not-found]

    heap = int(pyodide_js._module.HEAPU8.length)
    return {"wasmHeapBytes": heap, "jsHeapUsed": int(used), "jsHeapTotal": int(total), "jsHeapLimit": int(limit)}


def option_enabled(param: str, option: str) -> bool:
    """Return whether a page option is on: off with ``?<param>=0`` or ``airpromptsOptions.<option> = false``."""
    params = js.URLSearchParams.new(js.airpromptsHost.search)
    if params.get(param) in ("0", "false", "no"):
        return False
    options = getattr(js.airpromptsHost, "options", None)
    if options is not None and getattr(options, option, True) is False:
        return False
    return True


def autostart_enabled() -> bool:
    """Return whether a needed migration starts by itself (off with ?autostart=0)."""
    return option_enabled("autostart", "autostart")


def publish_events(services: Services) -> None:
    """Dispatch every app event as a DOM CustomEvent ``airprompts:<name>`` on window."""

    def forward(name: str, payload: dict) -> None:
        js.airpromptsEmit(name, event_json(payload))

    services.events.subscribe("*", forward)


class PageMeasurements:
    """Feed the page's long tasks and frame gaps to the monitor, on a page the console does not measure.

    The page (static/js/engine.js) samples frames while a run goes and observes
    long tasks; ``js.airpromptsPerf.drain()`` asks it for what it measured since
    the last call. Fed during a run (at most every ``INTERVAL_S``), at its end,
    and before the monitor answers ``getMetrics``.
    """

    INTERVAL_S = 0.5

    def __init__(self, services: Services) -> None:
        self.services = services
        self._last = 0.0
        self._tasks: set[asyncio.Task] = set()

    def __repr__(self) -> str:
        return f"<PageMeasurements pending={len(self._tasks)}>"

    async def feed(self) -> None:
        """Record what the page measured since the last feed."""
        drained = js.airpromptsPerf.drain()  # a Promise from a worker (a round trip), the arrays on the page
        if inspect.isawaitable(drained):
            drained = await drained
        long_tasks, gaps = drained.to_py()
        monitor = self.services.monitor
        for _start, duration in long_tasks:
            monitor.record_long_task(float(duration))
        for gap in gaps:
            monitor.record_frame_gap(float(gap))

    def on_event(self, name: str, _payload: dict) -> None:
        now = time.monotonic()
        if name in ("complete", "failed") or (name == "progress" and now - self._last >= self.INTERVAL_S):
            self._last = now
            task = asyncio.ensure_future(self.feed())
            self._tasks.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.debug("page measurements not fed: %r", task.exception())


async def start() -> None:
    storage = BrowserStorage()
    services = build(
        storage,
        WebCrypto(),
        BrowserLock(),
        compat_lock=BrowserLock(),
        memory_probe=memory_probe,
        sink=console_sink,
        count_array=count_json_array,
        turn_every=TURN_EVERY,
    )
    publish_events(services)
    api = Api(services)
    measurements = PageMeasurements(services)
    services.events.subscribe("*", measurements.on_event)

    async def handler(service: str, method: str, args_json: str) -> str:
        if service == "performanceMonitor":
            try:
                await measurements.feed()
            except Exception as exc:  # the figures are extra: never fail the call for them
                log.debug("page measurements not fed: %r", exc)
        return await api.dispatch(service, method, args_json)

    async def answer(service: str, method: str, args_json: Any) -> Any:
        # Large texts cross each way as UTF-8 bytes (a compatibilityLayer.get of a few MB of
        # non-ASCII text took seconds as a str): static/js/api.js encodes and decodes them.
        return to_js(js_text(await handler(service, method, text_from_js(args_json))))

    dispatch = create_proxy(answer)  # lives as long as the page
    js.__airpromptsDispatch = dispatch
    sys.modules["__main__"].services = services  # devtools: inspect from the PyScript REPL
    recovered = {}
    try:
        recovered["backup"] = await services.backups.recover()
        recovered["migration"] = await services.migration.recover()
    except Exception as exc:  # recovery failing must not hide the console
        services.logger.error("Recovery on load failed", error=str(exc))
    try:
        # Legacy keys stay readable for the dual-read period after a migration; a later load removes them.
        recovered["legacyRemoved"] = await services.migration.cleanup_legacy()
    except Exception as exc:  # another tab may hold the lock: the next load tries again
        services.logger.warn("Legacy key clean-up skipped", reason=str(exc))
    # One status decides the warm-up and the automatic start: it reads and plans the whole store
    # (about half a second at 10 000 records), and the run reads it again anyway.
    status: dict[str, Any] | None = None

    async def status_once() -> dict[str, Any]:
        nonlocal status
        if status is None:
            status = await services.migration.check_migration_status()
        return status

    warmed = None
    try:
        if option_enabled("warmup", "warmUp") and (await status_once()).get("needed"):
            # Compile the engine's WebAssembly paths now rather than during the first batches.
            warmed = warm_up()
            services.monitor.record_warm_up(warmed["ms"])
    except Exception as exc:  # only a speed-up: never in the way of the console
        services.logger.warn("Warm-up skipped", reason=str(exc))
    services.logger.info(
        "AirPrompts Migrate ready", python=sys.version.split()[0], recovered=recovered, warmUp=warmed
    )
    if js.airpromptsHost.console:
        from app.ui.client import Client
        from app.ui.console import mount
        from app.ui.dom import document

        # The console's page changes go out through js.airpromptsUi; its events come in here.
        js.__airpromptsUi = create_proxy(document.receive)  # lives as long as the page
        document.connect(js.airpromptsUi.post, json.loads(str(getattr(js.airpromptsHost, "ui", None) or "{}")))

        def subscribe(name: str, listener: Any) -> Any:
            # The detail a host's CustomEvent carries: the same JSON text, read back.
            return services.events.subscribe(name, lambda event, payload: listener(event, json.loads(event_json(payload))))

        await mount(Client(handler, subscribe))
    js.airpromptsHost.ready()
    if autostart_enabled():
        status = await status_once()
        if status.get("needed") and not status.get("running"):
            try:
                await services.migration.start_progressive_migration()
            except Exception as exc:  # another tab may hold the lock
                services.logger.warn("Automatic start skipped", reason=str(exc))
    await services.logger.flush()


def _report_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        exc = task.exception()
        js.console.error(f"{PREFIX} failed to start: {exc!r}")
        js.airpromptsHost.fail(f"{exc}")


_task = asyncio.ensure_future(start())
_task.add_done_callback(_report_failure)
