"""The Logs panel: the filtered log entries, the level the logger keeps, and their download."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from app.ui import format as fmt
from app.ui.dom import by_id, download, el, fill, set_text
from app.ui.rows import int_or_none, log_row

if TYPE_CHECKING:  # the console imports its panels; a panel knows it only as a type
    from app.ui.console import Console


class LogsPanel:
    """Show and download the audit trail's entries."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def _query(self) -> dict:
        query: dict[str, Any] = {}
        level = str(by_id("logs-level").value)
        text = str(by_id("logs-text").value).strip()
        if level:
            query["level"] = level
        if text:
            query["text"] = text
        return query

    async def refresh(self) -> None:
        """Show the log entries matching the filters, newest first."""
        query = self._query()
        limit = int_or_none(by_id("logs-limit").value)
        entries = await self.console.call("migrationLogger", "queryLogs", {**query, "limit": limit}) or []
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
        by_id("logs-record-level").value = (await self.console.call("migrationLogger", "getLogLevel"))["level"]

    async def set_record_level(self) -> None:
        """Change the minimum level the logger keeps."""
        answer = await self.console.call("migrationLogger", "setLogLevel", str(by_id("logs-record-level").value))
        self.console.notify(f"Log entries below {answer.get('level')} are no longer recorded.", "info")

    async def download(self, kind: str) -> None:
        """Download the entries matching the filters as JSON or CSV."""
        text = await self.console.call("migrationLogger", "exportLogs", kind, self._query())
        mime = "application/json" if kind == "json" else "text/csv"
        download(f"airprompts-migrate-logs.{kind}", mime, text)
