"""The History and quarantine panel: past runs and the records kept aside with their errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from app.ui.dom import by_id, download, el, fill, pretty_json
from app.ui.rows import LIST_LIMIT, history_row, quarantine_item

if TYPE_CHECKING:  # the console imports its panels; a panel knows it only as a type
    from app.ui.console import Console


class HistoryPanel:
    """Show past runs and the quarantined records."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.quarantine: list = []

    async def refresh(self) -> None:
        """Show past runs and the quarantined records."""
        history = await self.console.call("dataMigrationService", "getHistory") or []
        rows = [history_row(run) for run in history if isinstance(run, Mapping)]
        if not rows:
            rows = [el("tr", el("td", "No migration has run in this browser yet.", cls="empty", colspan=7))]
        fill(by_id("history-body"), *rows)
        quarantine = await self.console.call("dataMigrationService", "getQuarantine")
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
