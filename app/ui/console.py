"""The migration console on index.html: it listens to the app's events and calls the API.

Every call and every event goes through ``window.airprompts`` as JSON (``app/ui/client.py``),
exactly as a host app gets them: the console never reaches a service or the storage
itself. User data reaches the page only as text (see ``app/ui/dom.py``).

``Console`` is the facade: it wires the page's controls and the app's events to the
panels (``app/ui/panels/``, one for each section of index.html) and holds what they
share: the API call, the busy buttons, the notice bar and the confirmation dialog.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from app.core.errors import describe
from app.ui.client import ApiError, Client
from app.ui.dom import WINDOW, Listeners, by_id, fill, set_text, show
from app.ui.panels.backups import BackupsPanel
from app.ui.panels.history import HistoryPanel
from app.ui.panels.logs import LogsPanel
from app.ui.panels.performance import PerformancePanel
from app.ui.panels.run import RunPanel
from app.ui.panels.status import StatusPanel

log = logging.getLogger(__name__)

LOGS_REFRESH_DELAY_S = 1.0


class Console:
    """Own the console page: its listeners, its event subscriptions and what it shows."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.listeners = Listeners()
        # One object per panel of index.html; each draws its own elements and calls back here.
        self.status = StatusPanel(self)
        self.run = RunPanel(self)
        self.backups = BackupsPanel(self)
        self.logs = LogsPanel(self)
        self.history = HistoryPanel(self)
        self.performance = PerformancePanel(self)
        self._logs_refresh: asyncio.Task | None = None
        self._backups_refresh: asyncio.Task | None = None
        # A run of this tab's engine is going, however it was started (this page's button, the
        # JavaScript API, devtools): from its first phase event to its complete or failed event.
        self._run_going = False
        self._dialog_future: asyncio.Future | None = None

    def __repr__(self) -> str:
        return f"<Console state={self.run.state} backups={len(self.backups.listed)}>"

    # ------------------------------------------------------------------ set-up
    async def start(self) -> None:
        """Wire the controls and the app events, then fill every panel."""
        self._bind()
        for name in ("progress", "phase", "complete", "failed", "backup", "log"):
            self.listeners.subscribe(self.client.on(name, self._on_event))
        for name in ("progress", "phase", "complete", "failed"):
            # Another tab's run, relayed by static/js/api.js (detail.remote): this page shows it too.
            self.listeners.on(WINDOW, f"airprompts:{name}", lambda event, name=name: self._on_remote(name, event))
        await asyncio.gather(
            self.guard(self.logs.show_record_level()),
            self.guard(self.status.refresh()),
            self.guard(self.backups.refresh()),
            self.guard(self.logs.refresh()),
            self.guard(self.history.refresh()),
            self.guard(self.run.refresh()),
            self.guard(self.performance.refresh()),
        )
        for button_id in (
            "status-refresh",
            "dry-run",
            "backups-refresh",
            "backup-create",
            "backup-import",
            "logs-apply",
            "logs-download-json",
            "logs-download-csv",
            "history-refresh",
            "performance-refresh",
        ):
            by_id(button_id).disabled = False
        self.run.sync_buttons()
        boot = by_id("boot")
        boot.textContent = "Ready. Nothing is changed until you start a migration, restore or delete a backup."
        boot.dataset.state = "ready"
        by_id("console").dataset.state = "ready"

    def close(self) -> None:
        """Remove every listener and subscription."""
        self.listeners.close()

    def _bind(self) -> None:
        on = self.listeners.on
        on(by_id("notice-close"), "click", lambda _e: show(by_id("notice"), False))
        on(by_id("status-refresh"), "click", self._action("status-refresh", self.status.refresh))
        on(by_id("dry-run"), "click", self._action("dry-run", self.status.dry_run))
        on(by_id("run-form"), "submit", self._action("run-start", self.run.start))
        on(by_id("run-pause"), "click", self._action("run-pause", self.run.pause))
        on(by_id("run-resume"), "click", self._action("run-resume", self.run.resume))
        on(by_id("backups-refresh"), "click", self._action("backups-refresh", self.backups.refresh))
        on(by_id("backup-form"), "submit", self._action("backup-create", self.backups.create))
        on(by_id("backup-import"), "click", self._action("backup-import", self.backups.import_file))
        on(by_id("backups-body"), "click", self._on_backup_click)
        on(by_id("logs-form"), "submit", self._action("logs-apply", self.logs.refresh))
        on(by_id("logs-record-level"), "change", self._action("logs-record-level", self.logs.set_record_level))
        on(by_id("logs-download-json"), "click", self._action("logs-download-json", lambda: self.logs.download("json")))
        on(by_id("logs-download-csv"), "click", self._action("logs-download-csv", lambda: self.logs.download("csv")))
        on(by_id("history-refresh"), "click", self._action("history-refresh", self.history.refresh))
        on(by_id("quarantine-download"), "click", self._action("quarantine-download", self.history.download_quarantine))
        on(by_id("performance-refresh"), "click", self._action("performance-refresh", self.performance.refresh))
        on(by_id("confirm-dialog"), "close", self._on_dialog_close)

    # ------------------------------------------------------------------ plumbing
    async def call(self, service: str, method: str, *args: Any) -> Any:
        """Call ``airprompts.<service>.<method>(*args)`` and return its plain result."""
        return await self.client.call(service, method, *args)

    def _action(self, button_id: str, work: Callable[[], Awaitable[Any]]) -> Callable[[Any], None]:
        """Return a DOM handler running ``work`` once at a time, with ``button_id`` busy meanwhile."""

        def handler(event: Any) -> None:
            event.preventDefault()
            button = by_id(button_id)
            if button.getAttribute("aria-busy") == "true":
                return
            self.listeners.spawn(self._busy(button, work))

        return handler

    async def _busy(self, button: Any, work: Callable[[], Awaitable[Any]]) -> None:
        was_disabled = bool(button.disabled)
        button.setAttribute("aria-busy", "true")
        if button.tagName == "BUTTON":
            button.disabled = True
        try:
            await self.guard(work())
        finally:
            button.removeAttribute("aria-busy")
            if button.tagName == "BUTTON":
                button.disabled = was_disabled
            self.run.sync_buttons()

    async def guard(self, work: Awaitable[Any]) -> Any:
        """Await ``work``; show a failure as a notice instead of raising."""
        try:
            return await work
        except ApiError as exc:
            self.notify(f"{exc.name}: {exc.message}")
        except Exception as exc:  # the console must stay usable whatever a service does
            log.exception("console action failed")
            self.notify(describe(exc))
        return None

    def notify(self, message: str, kind: str = "error") -> None:
        """Show ``message`` in the notice bar at the top of the console."""
        notice = by_id("notice")
        notice.dataset.kind = kind
        notice.setAttribute("role", "alert" if kind == "error" else "status")
        set_text("notice-text", message)
        show(notice, True)

    def _defer(self, attr: str, delay_s: float, work: Callable[[], Awaitable[Any]]) -> None:
        """Run ``work`` once after ``delay_s``, however often this is called meanwhile."""
        pending = getattr(self, attr)
        if pending is not None and not pending.done():
            return

        async def later() -> None:
            await asyncio.sleep(delay_s)
            if not self._run_in_progress():  # a run began meanwhile: its end refreshes the panels
                await self.guard(work())

        setattr(self, attr, self.listeners.spawn(later()))

    # ------------------------------------------------------------------ app events
    def _on_event(self, name: str, payload: dict) -> None:
        if name == "progress":
            self.run.on_progress(payload)
        elif name == "phase":
            self._run_going = True
            self.run.on_phase(payload)
        elif name == "complete":
            self._run_going = False
            self.listeners.spawn(self.guard(self.run.finished(payload, failed=False)))
        elif name == "failed":
            self._run_going = False
            self.listeners.spawn(self.guard(self.run.finished(payload, failed=True)))
        elif self._run_in_progress():
            # During a run the backups and log views refresh at its end (RunPanel.finished): each
            # refresh reads its whole store in the engine's worker, which the run needs.
            return
        elif name == "backup":
            self._defer("_backups_refresh", 0.2, self.backups.refresh)
        elif name == "log":
            self._defer("_logs_refresh", LOGS_REFRESH_DELAY_S, self.logs.refresh)

    def _run_in_progress(self) -> bool:
        return self._run_going or self.run.state in ("running", "starting")

    def _on_remote(self, name: str, event: Any) -> None:
        detail = event.detail
        if not isinstance(detail, dict) or detail.get("remote") is not True:
            return  # this tab's own events arrive through the event bus
        payload = dict(detail)
        payload.pop("runId", None)  # not this page's run: nothing of it to measure here
        if name in ("progress", "phase") and self.run.state not in ("starting", "running", "paused"):
            self.run.set_state("remote")
        if name in ("complete", "failed") and self.run.state != "remote":
            return
        self._on_event(name, payload)

    def _on_backup_click(self, event: Any) -> None:
        button = event.action  # the clicked element's closest [data-action], as the page found it
        if button is None or button.disabled or button.tagName != "BUTTON":
            return
        action = button.dataset.action
        backup_id = button.dataset.backupId
        work = {
            "verify": self.backups.verify,
            "restore": self.backups.restore,
            "export": self.backups.export,
            "delete": self.backups.delete,
        }.get(action)
        if work is None or button.getAttribute("aria-busy") == "true":
            return
        self.listeners.spawn(self._busy(button, lambda: work(backup_id)))

    # ------------------------------------------------------------------ confirmation dialog
    async def confirm(
        self,
        title: str,
        text: str,
        details: list[Any],
        ok_label: str,
        *,
        passphrase: bool = False,
        danger: bool = False,
    ) -> tuple[bool, str]:
        """Ask in the page's own <dialog>; return (confirmed, passphrase)."""
        dialog = by_id("confirm-dialog")
        if self._dialog_future is not None and not self._dialog_future.done():
            self._dialog_future.set_result(False)
        set_text("confirm-title", title)
        set_text("confirm-text", text)
        fill(by_id("confirm-details"), *details)
        ok = by_id("confirm-ok")
        ok.textContent = ok_label
        ok.className = "danger" if danger else "primary"
        field = by_id("confirm-passphrase")
        field.value = ""
        show(by_id("confirm-passphrase-field"), passphrase)
        dialog.returnValue = ""
        self._dialog_future = asyncio.get_event_loop().create_future()
        dialog.showModal()
        (field if passphrase else by_id("confirm-cancel")).focus()
        confirmed = await self._dialog_future
        secret = str(field.value)
        field.value = ""
        return bool(confirmed), secret

    def _on_dialog_close(self, _event: Any) -> None:
        future = self._dialog_future
        if future is not None and not future.done():
            future.set_result(by_id("confirm-dialog").returnValue == "confirm")


async def mount(client: Client) -> Console:
    """Build the console on the page and return it (``close`` frees its listeners)."""
    console = Console(client)
    try:
        await console.start()
    except Exception as exc:  # the API must still become ready when the console cannot start
        log.exception("the console failed to start")
        boot = by_id("boot")
        if boot:
            boot.textContent = f"The console failed to start: {describe(exc)}"
            boot.dataset.state = "failed"
    return console
