"""The Status panel: the stored and target versions, the counts, the plan, and the dry run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from app.ui import format as fmt
from app.ui.dom import by_id, el, fill, set_text, show
from app.ui.rows import COLLECTIONS, counts_table, issue_list, ordered, sample_table

if TYPE_CHECKING:  # the console imports its panels; a panel knows it only as a type
    from app.ui.console import Console

SAMPLE_PER_COLLECTION = 3


class StatusPanel:
    """Show what is stored and what a migration would change, writing nothing."""

    def __init__(self, console: Console) -> None:
        self.console = console

    async def refresh(self) -> None:
        """Show the stored and target versions, counts, legacy keys and the plan."""
        status = await self.console.call("dataMigrationService", "checkMigrationStatus")
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
        if status.get("running") and self.console.run.state == "idle":
            # A run this page did not start (another tab, or the automatic start); after an outcome the
            # service may still report its own run as running for a moment while it releases the lock.
            if (await self.console.call("dataMigrationService", "getMigrationProgress") or {}).get("running"):
                self.console.run.set_state("paused" if status.get("paused") else "running")
            else:
                self.console.run.set_state("remote")
        self.console.run.sync_buttons()

    async def dry_run(self) -> None:
        """Run the migration in memory and show what it would change, writing nothing."""
        options = self.console.run.options()
        report = await self.console.call(
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
            stored = await self.console.call("compatibilityLayer", "getStored", kind) or {}
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
            upgraded = await self.console.call("compatibilityLayer", "get", kind) or []
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
