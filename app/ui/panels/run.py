"""The Migration run panel: start, pause and resume a run, its progress, and its outcome."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Mapping

from app.ui import format as fmt
from app.ui.client import ApiError
from app.ui.dom import by_id, el, fill, set_text, show
from app.ui.rows import DEFAULT_NEXT_STEP, NEXT_STEPS, count, int_or_none

if TYPE_CHECKING:  # the console imports its panels; a panel knows it only as a type
    from app.ui.console import Console

# Minimum time between two live refreshes of the performance panel during a run.
METRICS_INTERVAL_MS = 700
# A burst of progress events paints once per frame (the page applies each message at once).
FRAME_S = 1 / 60
REFRESH_AFTER_RUN_S = 0.15


class RunPanel:
    """Drive this page's run, watch another tab's, and show how either ended."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.state = "idle"  # idle | starting | running | paused | done | failed | remote
        self._progress: dict | None = None
        self._frame_pending = False
        self._last_metrics_ms = 0.0
        self._other_tab: asyncio.Task | None = None

    def options(self) -> dict:
        """Return the run form's batch options, leaving out an empty or unreadable field."""
        options: dict[str, Any] = {}
        size = int_or_none(by_id("batch-size").value)
        delay = int_or_none(by_id("batch-delay").value)
        if size is not None:
            options["batchSize"] = size
        if delay is not None:
            options["batchDelayMs"] = delay
        return options

    async def start(self) -> None:
        """Start a progressive migration with the form's batch options."""
        show(by_id("run-result"), False)
        self.set_state("starting")
        self._progress = None
        self._show_progress({"processed": 0, "total": 0, "percent": 0, "running": True, "phase": "starting"})
        try:
            await self.console.call("dataMigrationService", "startProgressiveMigration", self.options())
        except ApiError as exc:
            self.set_state("remote" if exc.name == "MigrationInProgress" else "idle")
            raise
        except BaseException:
            self.set_state("idle")
            raise
        if self.state == "starting":
            self.set_state("running")
        await self.refresh()

    async def pause(self) -> None:
        """Pause the running migration after its current batch."""
        await self.console.call("dataMigrationService", "pauseMigration")
        if self.state in ("running", "starting"):
            self.set_state("paused")
        set_text("run-state", "Paused")

    async def resume(self) -> None:
        """Resume a paused migration."""
        await self.console.call("dataMigrationService", "resumeMigration")
        if self.state == "paused":
            self.set_state("running")

    async def refresh(self) -> None:
        """Show the service's current progress (used on load and after start)."""
        progress = await self.console.call("dataMigrationService", "getMigrationProgress")
        if not isinstance(progress, dict):
            return
        if progress.get("running") and self.state in ("idle", "starting", "running"):
            self.set_state("paused" if progress.get("paused") else "running")
            self._show_progress(progress)
        elif self.state == "idle" and progress.get("total"):
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
        if progress.get("paused") and self.state == "running":
            self.set_state("paused")

    def set_state(self, state: str) -> None:
        """Show run ``state``; in another tab's run, wait for its end to show what it left."""
        self.state = state
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
        self.sync_buttons()
        if state == "remote" and (self._other_tab is None or self._other_tab.done()):
            self._other_tab = self.console.listeners.spawn(self.console.guard(self._after_other_tab()))

    def on_progress(self, payload: dict) -> None:
        """Paint a progress event, a burst of them once per frame."""
        self._progress = payload
        if not self._frame_pending:
            # Coalesce a burst of progress events into one paint.
            self._frame_pending = True
            asyncio.get_running_loop().call_later(FRAME_S, self._on_frame)

    def on_phase(self, payload: dict) -> None:
        """Show a phase event's phase; a phase means a run is going on."""
        phase = payload.get("phase")
        if phase:
            set_text("run-phase", phase)
            if self._progress is not None:
                # The next progress paint must not bring back the previous phase.
                self._progress = {**self._progress, "phase": phase}
        if self.state in ("idle", "starting", "done", "failed"):
            self.set_state("running")

    def _on_frame(self, _timestamp: Any = None) -> None:
        self._frame_pending = False
        progress = self._progress
        if progress is None or self.state in ("done", "failed"):
            # A frame queued before the outcome must not paint over it.
            return
        self._show_progress(progress)
        now = time.monotonic() * 1000
        if now - self._last_metrics_ms >= METRICS_INTERVAL_MS:
            self._last_metrics_ms = now
            self.console.listeners.spawn(self.console.guard(self.console.performance.refresh()))

    async def _after_other_tab(self) -> None:
        """Wait for another tab's run to end or its tab to close; show what recovering it left."""
        outcome = await self.console.call("dataMigrationService", "waitUntilIdle")
        if self.state == "remote":  # not when its outcome arrived through the relay, or this page ran it
            self.set_state("idle")
        if isinstance(outcome, Mapping) and outcome.get("outcome") not in (None, "locked"):
            said = {
                "completed": "This tab finished it: your data is migrated.",
                "rolled-back": "This tab rolled it back: your data is as it was before that run.",
                "failed": "It could not be finished; your data was restored as it was before that run.",
                "discarded": "Your data had changed since, so it was not applied; your data is as you left it.",
            }.get(str(outcome.get("outcome")), "")
            self.console.notify(f"The tab that was migrating closed before the end. {said}".strip(), "info")
        console = self.console
        await asyncio.gather(
            console.guard(console.status.refresh()),
            console.guard(self.refresh()),
            console.guard(console.history.refresh()),
            console.guard(console.backups.refresh()),
            console.guard(console.logs.refresh()),
        )

    def sync_buttons(self) -> None:
        """Enable the run controls the run state allows, except a control busy with its own action."""
        # Another tab's run is watched, never driven from here: no Start, Pause or Resume.
        busy = self.state in ("starting", "running", "paused", "remote")
        if by_id("run-start").getAttribute("aria-busy") != "true":
            by_id("run-start").disabled = busy
        if by_id("run-pause").getAttribute("aria-busy") != "true":
            by_id("run-pause").disabled = self.state != "running"
        if by_id("run-resume").getAttribute("aria-busy") != "true":
            by_id("run-resume").disabled = self.state != "paused"
        by_id("dry-run").disabled = busy

    async def finished(self, payload: Mapping[str, Any], *, failed: bool) -> None:
        """Show the outcome of a run, then refresh every panel it changed."""
        result = dict(payload) if isinstance(payload, Mapping) else {}
        if not failed and result.get("success") is False:
            failed = True
        self.set_state("failed" if failed else "done")
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
        console = self.console
        await asyncio.gather(
            console.guard(console.status.refresh()),
            console.guard(console.backups.refresh()),
            console.guard(console.history.refresh()),
            console.guard(console.logs.refresh()),
            console.guard(console.performance.refresh()),
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
