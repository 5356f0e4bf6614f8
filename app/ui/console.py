"""The migration console on index.html: it listens to the app's events and calls the API.

Every call and every event goes through ``window.airprompts`` as JSON (``app/ui/client.py``),
exactly as a host app gets them: the console never reaches a service or the storage
itself. User data reaches the page only as text (see ``app/ui/dom.py``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable, Mapping

from app.core.errors import describe
from app.ui import chart
from app.ui import format as fmt
from app.ui.client import ApiError, Client
from app.ui.dom import WINDOW, Listeners, by_id, download, el, fill, pretty_json, set_text, show
from app.ui.rows import (
    COLLECTIONS,
    DEFAULT_NEXT_STEP,
    LIST_LIMIT,
    NEXT_STEPS,
    backup_name,
    cell,
    count,
    counts_table,
    history_row,
    int_or_none,
    issue_list,
    key_list,
    log_row,
    ordered,
    quarantine_item,
    row_button,
    sample_table,
)

log = logging.getLogger(__name__)

# Minimum time between two live refreshes of the performance panel during a run.
METRICS_INTERVAL_MS = 700
# A burst of progress events paints once per frame (the page applies each message at once).
FRAME_S = 1 / 60
LOGS_REFRESH_DELAY_S = 1.0
REFRESH_AFTER_RUN_S = 0.15
SAMPLE_PER_COLLECTION = 3


class Console:
    """Own the console page: its listeners, its event subscriptions and what it shows."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.listeners = Listeners()
        self.run_state = "idle"  # idle | starting | running | paused | done | failed
        self.backups: dict[str, dict] = {}
        self.verified: dict[str, dict] = {}
        self.quarantine: list = []
        self._progress: dict | None = None
        self._frame_pending = False
        self._last_metrics_ms = 0.0
        self._logs_refresh: asyncio.Task | None = None
        self._backups_refresh: asyncio.Task | None = None
        self._dialog_future: asyncio.Future | None = None
        self._other_tab: asyncio.Task | None = None

    def __repr__(self) -> str:
        return f"<Console state={self.run_state} backups={len(self.backups)}>"

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
            self._guard(self.show_record_level()),
            self._guard(self.refresh_status()),
            self._guard(self.refresh_backups()),
            self._guard(self.refresh_logs()),
            self._guard(self.refresh_history()),
            self._guard(self.refresh_progress()),
            self._guard(self.refresh_performance()),
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
        self._sync_run_buttons()
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
        on(by_id("status-refresh"), "click", self._action("status-refresh", self.refresh_status))
        on(by_id("dry-run"), "click", self._action("dry-run", self.dry_run))
        on(by_id("run-form"), "submit", self._action("run-start", self.start_run))
        on(by_id("run-pause"), "click", self._action("run-pause", self.pause_run))
        on(by_id("run-resume"), "click", self._action("run-resume", self.resume_run))
        on(by_id("backups-refresh"), "click", self._action("backups-refresh", self.refresh_backups))
        on(by_id("backup-form"), "submit", self._action("backup-create", self.create_backup))
        on(by_id("backup-import"), "click", self._action("backup-import", self.import_backup))
        on(by_id("backups-body"), "click", self._on_backup_click)
        on(by_id("logs-form"), "submit", self._action("logs-apply", self.refresh_logs))
        on(by_id("logs-record-level"), "change", self._action("logs-record-level", self.set_record_level))
        on(by_id("logs-download-json"), "click", self._action("logs-download-json", lambda: self.download_logs("json")))
        on(by_id("logs-download-csv"), "click", self._action("logs-download-csv", lambda: self.download_logs("csv")))
        on(by_id("history-refresh"), "click", self._action("history-refresh", self.refresh_history))
        on(by_id("quarantine-download"), "click", self._action("quarantine-download", self.download_quarantine))
        on(by_id("performance-refresh"), "click", self._action("performance-refresh", self.refresh_performance))
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
            await self._guard(work())
        finally:
            button.removeAttribute("aria-busy")
            if button.tagName == "BUTTON":
                button.disabled = was_disabled
            self._sync_run_buttons()

    async def _guard(self, work: Awaitable[Any]) -> Any:
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
            await self._guard(work())

        setattr(self, attr, self.listeners.spawn(later()))

    # ------------------------------------------------------------------ app events
    def _on_event(self, name: str, payload: dict) -> None:
        if name == "progress":
            self._progress = payload
            if not self._frame_pending:
                # Coalesce a burst of progress events into one paint.
                self._frame_pending = True
                asyncio.get_running_loop().call_later(FRAME_S, self._on_frame)
        elif name == "phase":
            phase = payload.get("phase")
            if phase:
                set_text("run-phase", phase)
                if self._progress is not None:
                    # The next progress paint must not bring back the previous phase.
                    self._progress = {**self._progress, "phase": phase}
            if self.run_state in ("idle", "starting", "done", "failed"):
                self._set_run_state("running")
        elif name == "complete":
            self.listeners.spawn(self._guard(self._finished(payload, failed=False)))
        elif name == "failed":
            self.listeners.spawn(self._guard(self._finished(payload, failed=True)))
        elif name == "backup":
            self._defer("_backups_refresh", 0.2, self.refresh_backups)
        elif name == "log" and self.run_state not in ("running", "starting"):
            # During a run the log view refreshes at the end, to leave the main thread to the migration.
            self._defer("_logs_refresh", LOGS_REFRESH_DELAY_S, self.refresh_logs)

    def _on_remote(self, name: str, event: Any) -> None:
        detail = event.detail
        if not isinstance(detail, dict) or detail.get("remote") is not True:
            return  # this tab's own events arrive through the event bus
        payload = dict(detail)
        payload.pop("runId", None)  # not this page's run: nothing of it to measure here
        if name in ("progress", "phase") and self.run_state not in ("starting", "running", "paused"):
            self._set_run_state("remote")
        if name in ("complete", "failed") and self.run_state != "remote":
            return
        self._on_event(name, payload)

    def _on_frame(self, _timestamp: Any = None) -> None:
        self._frame_pending = False
        progress = self._progress
        if progress is None or self.run_state in ("done", "failed"):
            # A frame queued before the outcome must not paint over it.
            return
        self._show_progress(progress)
        now = time.monotonic() * 1000
        if now - self._last_metrics_ms >= METRICS_INTERVAL_MS:
            self._last_metrics_ms = now
            self.listeners.spawn(self._guard(self.refresh_performance()))

    # ------------------------------------------------------------------ status and dry run
    async def refresh_status(self) -> None:
        """Show the stored and target versions, counts, legacy keys and the plan."""
        status = await self.call("dataMigrationService", "checkMigrationStatus")
        current, target = status.get("currentVersion"), status.get("targetVersion")
        set_text("status-current", current or "none")
        set_text("status-target", target or fmt.DASH)
        needed = status.get("needed")
        set_text("status-needed", "needed" if needed else "not needed")
        by_id("status-needed").dataset.needed = "true" if needed else "false"
        counts = status.get("counts") or {}
        total = sum(v for v in counts.values() if isinstance(v, (int, float)) and not isinstance(v, bool))
        set_text("status-total", fmt.number(total))
        rows = [
            el("tr", el("th", name, scope="row"), el("td", fmt.number(value), cls="num"))
            for name, value in ordered(counts)
        ]
        fill(by_id("counts-body"), *(rows or [el("tr", el("td", "No AirPrompts data found.", cls="empty", colspan=2))]))
        legacy = status.get("legacyKeys") or []
        fill(
            by_id("legacy-keys"),
            *([el("li", el("code", key)) for key in legacy] or [el("li", "None.", cls="empty")]),
        )
        steps = (status.get("plan") or {}).get("steps") or []
        step_items = [el("li", fmt.step_label(step)) for step in steps]
        if not step_items:
            message = "Nothing to do: the data is already at the target version." if not needed else "Record the target version."
            step_items = [el("li", message, cls="empty")]
        fill(by_id("plan-steps"), *step_items)
        if status.get("running") and self.run_state == "idle":
            # A run this page did not start (another tab, or the automatic start); after an outcome the
            # service may still report its own run as running for a moment while it releases the lock.
            if (await self.call("dataMigrationService", "getMigrationProgress") or {}).get("running"):
                self._set_run_state("paused" if status.get("paused") else "running")
            else:
                self._set_run_state("remote")
        self._sync_run_buttons()

    async def dry_run(self) -> None:
        """Run the migration in memory and show what it would change, writing nothing."""
        options = self._run_options()
        report = await self.call(
            "dataMigrationService", "dryRun", {"batchSize": options["batchSize"]} if options.get("batchSize") else None
        )
        report = report if isinstance(report, Mapping) else {}
        raw = await self._stored_sources(report.get("sources") or {})
        samples = await self._samples(report, raw)
        self._show_report(report, raw, samples)
        section = by_id("dry-run-result")
        show(section, True)
        section.scrollIntoView({"block": "nearest"})

    async def _stored_sources(self, sources: Mapping[str, Any]) -> dict[str, list]:
        """Return the records of each collection source as stored, to name the records a report lists by index."""
        raw: dict[str, list] = {}
        kinds = {info.get("kind") for info in sources.values() if isinstance(info, Mapping)}
        for kind in (k for k in COLLECTIONS if k in kinds):
            stored = await self.call("compatibilityLayer", "getStored", kind) or {}
            value = stored.get("value")
            # Indexes name positions in one stored array: legacy keys merged on read have none of their own.
            if stored.get("location") in ("app", "local") and isinstance(value, list):
                for source_key, info in sources.items():
                    if isinstance(info, Mapping) and stored.get("sourceKey") in (source_key, info.get("sourceKey")):
                        raw[source_key] = value
        return raw

    async def _samples(self, report: Mapping[str, Any], raw: Mapping[str, list]) -> list[tuple[str, Any, Any]]:
        """Return (collection, stored record, record as it would be written) for the first records of each collection."""
        samples: list[tuple[str, Any, Any]] = []
        for source_key, info in (report.get("sources") or {}).items():
            kind = info.get("kind") if isinstance(info, Mapping) else None
            records = raw.get(source_key) or []
            if kind not in COLLECTIONS or not records:
                continue
            # The compatibility layer upgrades on read exactly as the migration would, and never writes.
            upgraded = await self.call("compatibilityLayer", "get", kind) or []
            by_id_text = {str(r.get("id")): r for r in upgraded if isinstance(r, Mapping)}
            # First, middle and last: real stores mix shapes, and later records are often the newer ones.
            picks = sorted({0, len(records) // 2, len(records) - 1})[:SAMPLE_PER_COLLECTION]
            for record in (records[i] for i in picks):
                record_id = record.get("id") if isinstance(record, Mapping) else None
                samples.append((kind, record, by_id_text.get(str(record_id)) if record_id is not None else None))
        return samples

    def _show_report(self, report: Mapping[str, Any], raw: Mapping[str, list], samples: list) -> None:
        """Fill the dry-run panel with a report's figures, a sample of records and every listed record."""
        counts = report.get("counts") or {}
        total = sum(c.get("input", 0) for c in counts.values() if isinstance(c, Mapping))
        facts = [
            ("Versions", fmt.version_path(report.get("fromVersion"), report.get("toVersion"))),
            ("Records", fmt.number(total)),
            ("Would migrate", fmt.number(report.get("migrated"))),
            ("Repairs", fmt.number(len(report.get("repairs") or []))),
            ("Quarantined", fmt.number(report.get("quarantinedCount", len(report.get("quarantined") or [])))),
            ("Warnings", fmt.number(len(report.get("warnings") or []))),
            ("Keys written", fmt.number(len(report.get("targets") or []))),
            ("Keys removed", fmt.number(len(report.get("remove") or []))),
        ]
        fill(by_id("dry-run-summary"), *[el("div", el("dt", label), el("dd", value)) for label, value in facts])
        blocks: list[Any] = []
        if report.get("needed") is False:
            blocks.append(el("p", "No migration is needed: the data is already at the target version.", cls="hint"))
        if counts:
            blocks.append(counts_table(counts))
        if samples:
            blocks.append(sample_table(samples))

        def label(item: Mapping[str, Any]) -> str:
            records = raw.get(item.get("sourceKey") or item.get("source") or "") or []
            index = item.get("index")
            if isinstance(index, int) and 0 <= index < len(records):
                return fmt.record_label(records[index])
            return str(item.get("id") or item.get("sourceKey") or item.get("source") or "(value)")

        for key, title in (
            ("quarantined", "Records that would be quarantined"),
            ("repairs", "Repairs"),
            ("warnings", "Warnings"),
        ):
            items = [i for i in report.get(key) or [] if isinstance(i, Mapping)]
            if items:
                blocks.append(issue_list(title, items, label))
        if not (report.get("quarantined") or report.get("repairs") or report.get("warnings")):
            blocks.append(el("p", "No record would be repaired or quarantined.", cls="hint"))
        fill(by_id("dry-run-details"), *blocks)

    # ------------------------------------------------------------------ run
    def _run_options(self) -> dict:
        options: dict[str, Any] = {}
        size = int_or_none(by_id("batch-size").value)
        delay = int_or_none(by_id("batch-delay").value)
        if size is not None:
            options["batchSize"] = size
        if delay is not None:
            options["batchDelayMs"] = delay
        return options

    async def start_run(self) -> None:
        """Start a progressive migration with the form's batch options."""
        show(by_id("run-result"), False)
        self._set_run_state("starting")
        self._progress = None
        self._show_progress({"processed": 0, "total": 0, "percent": 0, "running": True, "phase": "starting"})
        try:
            await self.call("dataMigrationService", "startProgressiveMigration", self._run_options())
        except ApiError as exc:
            self._set_run_state("remote" if exc.name == "MigrationInProgress" else "idle")
            raise
        except BaseException:
            self._set_run_state("idle")
            raise
        if self.run_state == "starting":
            self._set_run_state("running")
        await self.refresh_progress()

    async def pause_run(self) -> None:
        """Pause the running migration after its current batch."""
        await self.call("dataMigrationService", "pauseMigration")
        if self.run_state in ("running", "starting"):
            self._set_run_state("paused")
        set_text("run-state", "Paused")

    async def resume_run(self) -> None:
        """Resume a paused migration."""
        await self.call("dataMigrationService", "resumeMigration")
        if self.run_state == "paused":
            self._set_run_state("running")

    async def refresh_progress(self) -> None:
        """Show the service's current progress (used on load and after start)."""
        progress = await self.call("dataMigrationService", "getMigrationProgress")
        if not isinstance(progress, dict):
            return
        if progress.get("running") and self.run_state in ("idle", "starting", "running"):
            self._set_run_state("paused" if progress.get("paused") else "running")
            self._show_progress(progress)
        elif self.run_state == "idle" and progress.get("total"):
            self._show_progress(progress)

    def _show_progress(self, progress: Mapping[str, Any]) -> None:
        percent = progress.get("percent")
        if not isinstance(percent, (int, float)) or isinstance(percent, bool):
            total = progress.get("total") or 0
            percent = (progress.get("processed") or 0) * 100 / total if total else 0
        bar = by_id("run-progress")
        bar.value = max(0.0, min(100.0, float(percent)))
        bar.textContent = fmt.percent(percent)
        set_text("run-percent", fmt.percent(percent))
        set_text("run-processed", f"{fmt.number(progress.get('processed'))} of {fmt.number(progress.get('total'))}")
        set_text("run-throughput", fmt.rate(progress.get("throughput")))
        running = bool(progress.get("running", True))
        set_text("run-eta", fmt.eta(progress.get("etaMs"), running))
        phase = progress.get("phase")
        if phase:
            set_text("run-phase", phase)
        if progress.get("paused") and self.run_state == "running":
            self._set_run_state("paused")

    def _set_run_state(self, state: str) -> None:
        self.run_state = state
        labels = {
            "idle": "Idle",
            "starting": "Starting…",
            "running": "Running",
            "paused": "Paused",
            "done": "Finished",
            "failed": "Failed",
            "remote": "Running in another tab",
        }
        set_text("run-state", labels.get(state, state))
        by_id("run-panel").dataset.runState = state
        self._sync_run_buttons()
        if state == "remote" and (self._other_tab is None or self._other_tab.done()):
            self._other_tab = self.listeners.spawn(self._guard(self._after_other_tab()))

    async def _after_other_tab(self) -> None:
        """Wait for another tab's run to end or its tab to close; show what recovering it left."""
        outcome = await self.call("dataMigrationService", "waitUntilIdle")
        if self.run_state == "remote":  # not when its outcome arrived through the relay, or this page ran it
            self._set_run_state("idle")
        if isinstance(outcome, Mapping) and outcome.get("outcome") not in (None, "locked"):
            said = {
                "completed": "This tab finished it: your data is migrated.",
                "rolled-back": "This tab rolled it back: your data is as it was before that run.",
                "failed": "It could not be finished; your data was restored as it was before that run.",
                "discarded": "Your data had changed since, so it was not applied; your data is as you left it.",
            }.get(str(outcome.get("outcome")), "")
            self.notify(f"The tab that was migrating closed before the end. {said}".strip(), "info")
        await asyncio.gather(
            self._guard(self.refresh_status()),
            self._guard(self.refresh_progress()),
            self._guard(self.refresh_history()),
            self._guard(self.refresh_backups()),
            self._guard(self.refresh_logs()),
        )

    def _sync_run_buttons(self) -> None:
        # Another tab's run is watched, never driven from here: no Start, Pause or Resume.
        busy = self.run_state in ("starting", "running", "paused", "remote")
        if by_id("run-start").getAttribute("aria-busy") != "true":
            by_id("run-start").disabled = busy
        if by_id("run-pause").getAttribute("aria-busy") != "true":
            by_id("run-pause").disabled = self.run_state != "running"
        if by_id("run-resume").getAttribute("aria-busy") != "true":
            by_id("run-resume").disabled = self.run_state != "paused"
        by_id("dry-run").disabled = busy

    async def _finished(self, payload: Mapping[str, Any], *, failed: bool) -> None:
        """Show the outcome of a run, then refresh every panel it changed."""
        result = dict(payload) if isinstance(payload, Mapping) else {}
        if not failed and result.get("success") is False:
            failed = True
        self._set_run_state("failed" if failed else "done")
        if not failed:
            total = result.get("total") or (self._progress or {}).get("total")
            if total is not None:
                self._show_progress({**(self._progress or {}), "processed": total, "total": total, "percent": 100,
                                     "running": False, "etaMs": 0})
            set_text("run-phase", "done")
        else:
            set_text("run-phase", f"stopped during {by_id('run-phase').textContent}")
            set_text("run-eta", fmt.DASH)
            set_text("run-throughput", fmt.DASH)
        self._show_result(result, failed)
        # The outcome is on screen; the panels it changed refresh a moment later, once the run has
        # finished its last writes and its caller has the result (they read several stores).
        await asyncio.sleep(REFRESH_AFTER_RUN_S)
        await asyncio.gather(
            self._guard(self.refresh_status()),
            self._guard(self.refresh_backups()),
            self._guard(self.refresh_history()),
            self._guard(self.refresh_logs()),
            self._guard(self.refresh_performance()),
        )

    def _show_result(self, result: Mapping[str, Any], failed: bool) -> None:
        box = by_id("run-result")
        facts: list[Any] = []
        if failed:
            error = result.get("error") if isinstance(result.get("error"), Mapping) else {}
            name = str(error.get("name") or "MigrationError")
            message = str(error.get("message") or "The migration did not complete.")
            box.dataset.outcome = "failure"
            box.setAttribute("role", "alert")
            set_text("run-result-title", f"Migration failed: {name}")
            set_text("run-result-text", message)
            if result.get("restored") or name == "RolledBack":
                facts.append(el("li", "Your data was restored from the backup made before the run."))
            if result.get("backupId"):
                facts.append(el("li", "Backup made before the run: ", el("code", result["backupId"])))
            set_text("run-result-next", "What to do next: " + NEXT_STEPS.get(name, DEFAULT_NEXT_STEP))
        else:
            box.dataset.outcome = "success"
            box.setAttribute("role", "status")
            versions = fmt.version_path(result.get("fromVersion"), result.get("toVersion"))
            set_text("run-result-title", f"Migration complete: {versions}")
            parts = []
            if result.get("migrated") is not None:
                parts.append(f"{fmt.plural(result.get('migrated') or 0, 'record')} migrated")
            quarantined = count(result.get("quarantined"))
            parts.append(f"{fmt.number(quarantined)} quarantined")
            warnings = count(result.get("warnings"))
            parts.append(fmt.plural(warnings, "warning"))
            text = ", ".join(parts)
            if result.get("durationMs") is not None:
                text += f" in {fmt.duration(result.get('durationMs'))}"
            set_text("run-result-text", text + ".")
            if result.get("backupId"):
                facts.append(el("li", "Backup made before the run: ", el("code", result["backupId"])))
            if quarantined:
                facts.append(el("li", "Quarantined records are kept, with their errors, under History and quarantine."))
            set_text(
                "run-result-next",
                "What to do next: open AirPrompts and check your templates. If anything looks wrong, "
                "restore the backup made before the run from Backups.",
            )
        fill(by_id("run-result-facts"), *facts)
        show(box, True)
        box.focus({"preventScroll": True})

    # ------------------------------------------------------------------ backups
    async def refresh_backups(self) -> None:
        """Show every stored backup."""
        backups = await self.call("backupService", "listBackups") or []
        self.backups = {b["id"]: b for b in backups if isinstance(b, Mapping) and b.get("id")}
        rows = [self._backup_row(b) for b in backups if isinstance(b, Mapping) and b.get("id")]
        if not rows:
            rows = [el("tr", el("td", "No backup yet. One is made automatically before every migration.",
                                cls="empty", colspan=7))]
        fill(by_id("backups-body"), *rows)

    def _backup_row(self, meta: Mapping[str, Any]) -> Any:
        backup_id = str(meta["id"])
        description = meta.get("description") or "(no description)"
        kind = meta.get("kind") or ""
        # This page's verification, else the last one the backup service remembers (kept across reloads).
        verdict = self.verified.get(backup_id) or meta.get("verified")
        if verdict is None:
            verified = el("span", "not checked")
        elif verdict.get("ok"):
            verified = el("span", "✓ ok", cls="status-ok")
        else:
            verified = el("span", "✗ failed", cls="status-bad", title="; ".join(verdict.get("errors") or []))
        full = meta.get("type", "full") == "full"
        buttons = el(
            "div",
            row_button("Verify", "verify", backup_id, description),
            row_button("Restore", "restore", backup_id, description),
            row_button("Export", "export", backup_id, description, disabled=not full,
                        title=None if full else "Incremental backups need their base; export a full backup"),
            row_button("Delete", "delete", backup_id, description, cls="danger"),
            cls="actions",
        )
        return el(
            "tr",
            cell("Date", el("span", fmt.when(meta.get("createdAt") or meta.get("createdAtMs")))),
            cell("Description", el("span", el("span", description, cls="description"),
                                    el("span", kind, cls="tag") if kind and kind != "manual" else None)),
            cell("Version", el("span", meta.get("schemaVersion") or fmt.DASH)),
            cell("Size", el("span", fmt.size(meta.get("sizeBytes"))), cls="num"),
            cell("Encrypted", el("span", fmt.yes_no(meta.get("encrypted")))),
            cell("Verified", verified),
            cell("Actions", buttons, cls="actions-cell"),
            data_backup_id=backup_id,
        )

    def _on_backup_click(self, event: Any) -> None:
        button = event.action  # the clicked element's closest [data-action], as the page found it
        if button is None or button.disabled or button.tagName != "BUTTON":
            return
        action = button.dataset.action
        backup_id = button.dataset.backupId
        work = {
            "verify": self.verify_backup,
            "restore": self.restore_backup,
            "export": self.export_backup,
            "delete": self.delete_backup,
        }.get(action)
        if work is None or button.getAttribute("aria-busy") == "true":
            return
        self.listeners.spawn(self._busy(button, lambda: work(backup_id)))

    def _meta(self, backup_id: str) -> dict:
        meta = self.backups.get(backup_id)
        if meta is None:
            raise LookupError(f"backup {backup_id} is no longer listed; press Refresh")
        return meta

    async def create_backup(self) -> None:
        """Make a full backup with the form's description and optional passphrase."""
        description = str(by_id("backup-description").value).strip()
        passphrase = str(by_id("backup-passphrase").value)
        options = {"passphrase": passphrase} if passphrase else None
        meta = await self.call("backupService", "createFullBackup", description, options)
        by_id("backup-passphrase").value = ""
        by_id("backup-description").value = ""
        await self.refresh_backups()
        self.notify(
            f"Backup created: {meta.get('id')} ({fmt.size(meta.get('sizeBytes'))}"
            f"{', encrypted' if meta.get('encrypted') else ''}).",
            "info",
        )

    async def verify_backup(self, backup_id: str) -> None:
        """Recompute every hash of a backup (asking for its passphrase when encrypted)."""
        meta = self._meta(backup_id)
        options = None
        if meta.get("encrypted"):
            confirmed, passphrase = await self.confirm(
                "Verify encrypted backup",
                f"Backup {backup_name(meta)} is encrypted. Its passphrase proves that it can be decrypted.",
                [],
                "Verify",
                passphrase=True,
            )
            if not confirmed:
                return
            options = {"passphrase": passphrase}
        report = await self.call("backupService", "verifyBackup", backup_id, options)
        self.verified[backup_id] = report or {}
        await self.refresh_backups()
        chunks = len((report or {}).get("chunks") or [])
        if report and report.get("ok"):
            self.notify(f"Backup {backup_name(meta)} verified: every checksum of its {fmt.plural(chunks, 'chunk')} matches.", "info")
        else:
            errors = "; ".join((report or {}).get("errors") or []) or "a chunk does not match its checksum"
            self.notify(f"Backup {backup_name(meta)} failed verification: {errors}. Do not restore it.")

    async def restore_backup(self, backup_id: str) -> None:
        """Confirm, then bring the app data back to a backup's state."""
        meta = self._meta(backup_id)
        now = await self.call("compatibilityLayer", "getStoredKeys") or {}
        current = [*(now.get("local") or []), *(f"AirPromptsDB:{k}" for k in now.get("app") or [])]
        keys = meta.get("keys") or {}
        in_backup = [*(keys.get("local") or []), *(f"AirPromptsDB:{k}" for k in keys.get("app") or [])]
        removed = sorted(k for k in current if k not in set(in_backup))
        details = [
            key_list(f"Keys that will be restored ({len(in_backup)})", in_backup, "None: the backup holds no data."),
            key_list(f"Keys that exist now and will be removed ({len(removed)})", removed, "None."),
        ]
        text = (
            f"This puts the AirPrompts data back exactly as it was on {fmt.when(meta.get('createdAt'))}"
            f" (version {meta.get('schemaVersion') or 'unknown'}, {fmt.plural(meta.get('itemCount') or 0, 'record')})."
            " A safety backup of the current data is made first, so you can undo this."
        )
        confirmed, passphrase = await self.confirm(
            f"Restore backup {backup_name(meta)}?",
            text,
            details,
            "Restore",
            passphrase=bool(meta.get("encrypted")),
            danger=True,
        )
        if not confirmed:
            return
        options = {"passphrase": passphrase} if passphrase else None
        result = await self.call("backupService", "restoreBackup", backup_id, options) or {}
        await asyncio.gather(
            self._guard(self.refresh_backups()), self._guard(self.refresh_status()), self._guard(self.refresh_logs())
        )
        safety = result.get("safetyBackupId")
        self.notify(
            f"Restored backup {backup_name(meta)}: {fmt.plural(result.get('written') or 0, 'value')} written, "
            f"{fmt.plural(len(result.get('removed') or []), 'key')} removed."
            + (f" Safety backup of the previous data: {safety}." if safety else ""),
            "info",
        )

    async def delete_backup(self, backup_id: str) -> None:
        """Confirm, then delete a backup."""
        meta = self._meta(backup_id)
        confirmed, _ = await self.confirm(
            f"Delete backup {backup_name(meta)}?",
            f"The backup from {fmt.when(meta.get('createdAt'))} ({fmt.size(meta.get('sizeBytes'))}) is deleted for good. "
            "Your current data does not change.",
            [],
            "Delete",
            danger=True,
        )
        if not confirmed:
            return
        await self.call("backupService", "deleteBackup", backup_id)
        self.verified.pop(backup_id, None)
        await self.refresh_backups()
        self.notify(f"Deleted backup {backup_name(meta)}.", "info")

    async def export_backup(self, backup_id: str) -> None:
        """Download a full backup as a self-contained JSON file."""
        text = await self.call("backupService", "exportBackup", backup_id)
        download(f"airprompts-backup-{backup_id}.json", "application/json", text)

    async def import_backup(self) -> None:
        """Import the backup file the user picked."""
        files = by_id("backup-file").files  # the texts of the picked files, sent with the click
        if not files:
            self.notify("Choose a backup file first (a .json file exported from this console).")
            return
        text = files[0]
        meta = await self.call("backupService", "importBackup", str(text))
        by_id("backup-file").value = ""
        by_id("backup-file").files = []
        await self.refresh_backups()
        if meta.get("alreadyImported"):
            self.notify(f"This file is backup {backup_name(meta)}, already stored as {meta.get('id')}: not imported again.", "info")
        else:
            self.notify(f"Imported backup {backup_name(meta)} as {meta.get('id')}.", "info")

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

    # ------------------------------------------------------------------ logs
    def _log_query(self) -> dict:
        query: dict[str, Any] = {}
        level = str(by_id("logs-level").value)
        text = str(by_id("logs-text").value).strip()
        if level:
            query["level"] = level
        if text:
            query["text"] = text
        return query

    async def refresh_logs(self) -> None:
        """Show the log entries matching the filters, newest first."""
        query = self._log_query()
        limit = int_or_none(by_id("logs-limit").value)
        entries = await self.call("migrationLogger", "queryLogs", {**query, "limit": limit}) or []
        rows = [log_row(entry) for entry in entries if isinstance(entry, Mapping)]
        if not rows:
            rows = [el("tr", el("td", "No log entry matches these filters.", cls="empty", colspan=4))]
        fill(by_id("logs-body"), *rows)
        shown = len(entries)
        set_text(
            "logs-count",
            f"Showing {fmt.plural(shown, 'entry', 'entries')}"
            + (f" (the newest {limit})" if limit is not None and shown >= limit else "")
            + (f", level {query['level']} and above" if "level" in query else "")
            + (f", containing “{query['text']}”" if "text" in query else "")
            + ".",
        )

    async def show_record_level(self) -> None:
        """Show the minimum level the logger keeps."""
        by_id("logs-record-level").value = (await self.call("migrationLogger", "getLogLevel"))["level"]

    async def set_record_level(self) -> None:
        """Change the minimum level the logger keeps."""
        answer = await self.call("migrationLogger", "setLogLevel", str(by_id("logs-record-level").value))
        self.notify(f"Log entries below {answer.get('level')} are no longer recorded.", "info")

    async def download_logs(self, kind: str) -> None:
        """Download the entries matching the filters as JSON or CSV."""
        text = await self.call("migrationLogger", "exportLogs", kind, self._log_query())
        mime = "application/json" if kind == "json" else "text/csv"
        download(f"airprompts-migrate-logs.{kind}", mime, text)

    # ------------------------------------------------------------------ history and quarantine
    async def refresh_history(self) -> None:
        """Show past runs and the quarantined records."""
        history = await self.call("dataMigrationService", "getHistory") or []
        rows = [history_row(run) for run in history if isinstance(run, Mapping)]
        if not rows:
            rows = [el("tr", el("td", "No migration has run in this browser yet.", cls="empty", colspan=7))]
        fill(by_id("history-body"), *rows)
        quarantine = await self.call("dataMigrationService", "getQuarantine")
        self.quarantine = list(quarantine) if isinstance(quarantine, list) else []
        items = [quarantine_item(entry) for entry in self.quarantine[:LIST_LIMIT]]
        if len(self.quarantine) > LIST_LIMIT:
            items.append(el("li", f"… and {len(self.quarantine) - LIST_LIMIT} more: download the quarantine to see all.",
                            cls="empty"))
        fill(by_id("quarantine-list"), *(items or [el("li", "No record is quarantined.", cls="empty")]))
        by_id("quarantine-download").disabled = not self.quarantine

    async def download_quarantine(self) -> None:
        """Download every quarantined record with its errors as JSON."""
        download("airprompts-quarantine.json", "application/json", pretty_json(self.quarantine))

    # ------------------------------------------------------------------ performance
    async def refresh_performance(self) -> None:
        """Show the performance monitor's figures and chart."""
        metrics = await self.call("performanceMonitor", "getMetrics") or {}
        batches = metrics.get("batches") or {}
        memory = metrics.get("memory") or {}
        current, peak = memory.get("current") or {}, memory.get("peak") or {}
        facts = [
            ("Total time", fmt.duration(metrics.get("totalMs"))),
            ("Items per second", fmt.rate(metrics.get("itemsPerSecond"))),
            ("Batches", fmt.number(batches.get("count"))),
            ("Batch mean", fmt.duration(batches.get("meanMs"))),
            ("Batch p95", fmt.duration(batches.get("p95Ms"))),
            ("Slowest batch", fmt.duration(batches.get("maxMs"))),
            ("Longest main-thread task", fmt.duration(metrics.get("longestTaskMs"))),
            ("Long tasks (>50 ms)", fmt.number(metrics.get("longTasks"))),
            ("Frame gap p95", fmt.duration(metrics.get("frameGapP95Ms"))),
            ("Pyodide heap", fmt.size(current.get("wasmHeapBytes"))),
            ("JS heap used", fmt.size(current.get("jsHeapUsed"))),
            ("JS heap peak", fmt.size(peak.get("jsHeapUsed"))),
        ]
        fill(by_id("performance-facts"), *[el("div", el("dt", label), el("dd", value)) for label, value in facts])
        phases = metrics.get("phases") or {}
        rows = [el("tr", el("th", name, scope="row"), el("td", fmt.duration(ms), cls="num")) for name, ms in phases.items()]
        fill(by_id("phases-body"), *(rows or [el("tr", el("td", "No run measured yet.", cls="empty", colspan=2))]))
        fill(by_id("performance-chart"), chart.draw(metrics))
        fill(
            by_id("performance-chart-caption"),
            el("span", "━ batch duration (ms)", cls="legend-durations"),
            "  ",
            el("span", "╍ throughput (items/s)", cls="legend-rates"),
            f" over the {'current' if metrics.get('running') else 'last'} run.",
        )


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
