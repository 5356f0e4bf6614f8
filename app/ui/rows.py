"""The console's pure parts: the rows, tables and lists it builds from API answers, and the texts it says.

Nothing here calls the API or reads the page: each builder turns plain JSON into element
trees (``app/ui/dom.py``) that a panel puts on the page.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from app.ui import format as fmt
from app.ui.dom import el, pretty_json

LIST_LIMIT = 200
COLLECTIONS = ("templates", "workflows", "snippets", "folders")

NEXT_STEPS = {
    "MigrationInProgress": "Another tab or window is migrating this data. Close it or wait for it to finish, then press Refresh.",
    "DataChanged": "Another AirPrompts tab kept changing your data during the migration. Nothing was lost: the run was undone around those changes. Close the other AirPrompts tabs, then start the migration again.",
    "RolledBack": "Your data was put back exactly as it was before the run. Download the logs (JSON) and send them to support before trying again.",
    "QuotaExceeded": (
        "The browser refused to store the migrated data: it is out of storage space, or a collection is larger than "
        "it stores in one record (the message above says which). Free space by deleting old backups in Backups, or "
        "delete or export some items in AirPrompts, then start the migration again."
    ),
    "PlanError": "This data cannot be migrated by this version of the app. Do not change it; download the logs and contact support.",
    "ValidationFailed": "Some records could not be checked. Your data was not changed; download the logs and the quarantine and contact support.",
    "VerificationFailed": "The written data did not match what was prepared, so it was restored. Download the logs and contact support.",
}
DEFAULT_NEXT_STEP = (
    "Your data was not changed by the failed run, or was restored from the pre-migration backup. "
    "Download the logs (JSON) from Logs and send them to support; you can restore any backup from Backups."
)


def cell(label: str, content: Any, cls: str | None = None) -> Any:
    """Return a table cell labelled for the narrow, card-like layout."""
    return el("td", content, cls=cls, data_label=label)


def row_button(label: str, action: str, backup_id: str, description: str, *, cls: str | None = None,
               disabled: bool = False, title: str | None = None) -> Any:
    """Return a backup row's action button, found by the table's click listener through its data attributes."""
    return el(
        "button",
        label,
        type="button",
        id=f"backup-{action}-{backup_id}",
        cls=cls,
        data_action=action,
        data_backup_id=backup_id,
        aria_label=f"{label} backup {description}",
        disabled=disabled,
        title=title,
    )


def backup_row(meta: Mapping[str, Any], verdict: Mapping[str, Any] | None) -> Any:
    """Return the backup table's row of one backup, with its last verification's ``verdict`` and its actions."""
    backup_id = str(meta["id"])
    description = meta.get("description") or "(no description)"
    kind = meta.get("kind") or ""
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


def backup_name(meta: Mapping[str, Any]) -> str:
    """Return how the texts name a backup: its description and date, or its date alone."""
    description = meta.get("description")
    when = fmt.when(meta.get("createdAt") or meta.get("createdAtMs"))
    return f"“{description}” ({when})" if description else f"of {when}"


def key_list(title: str, keys: list[str], empty: str) -> Any:
    """Return a titled list of storage keys, cut at LIST_LIMIT."""
    shown = keys[:LIST_LIMIT]
    items = [el("li", el("code", key)) for key in shown]
    if len(keys) > LIST_LIMIT:
        items.append(el("li", f"… and {len(keys) - LIST_LIMIT} more"))
    return el("div", el("h3", title), el("ul", *items) if items else el("p", empty, cls="hint"))


def log_row(entry: Mapping[str, Any]) -> Any:
    """Return the logs table's row of one entry."""
    level = str(entry.get("level") or "")
    context = dict(entry.get("context") or {})
    if entry.get("runId"):
        context = {"runId": entry["runId"], **context}
    return el(
        "tr",
        cell("Time", el("span", fmt.when(entry.get("time")))),
        cell("Level", el("span", level, cls=f"level level-{level}")),
        cell("Message", el("span", str(entry.get("message") or ""), cls="message")),
        cell("Context", el("span", fmt.compact_json(context)), cls="context"),
        data_level=level,
    )


def history_row(run: Mapping[str, Any]) -> Any:
    """Return the history table's row of one run."""
    success = run.get("success")
    error = run.get("error")
    if success:
        result = el("span", "✓ success", cls="status-ok")
    elif success is False:
        message = error.get("name") if isinstance(error, Mapping) else error
        result = el("span", f"✗ failed{': ' + str(message) if message else ''}", cls="status-bad")
    else:
        result = el("span", fmt.DASH)
    displaced = [f"{d.get('area')}:{d.get('key')}" for d in run.get("displaced") or [] if isinstance(d, Mapping)]
    if displaced:
        # Values another writer stored during a run that was rolled back: kept in this history entry.
        result = el(
            "span",
            result,
            el("small", f" Kept aside (written during the run, replaced by the restore): {', '.join(displaced)}",
               cls="status-note"),
        )
    return el(
        "tr",
        cell("Started", el("span", fmt.when(run.get("startedAt") or run.get("finishedAt")))),
        cell("Versions", el("span", fmt.version_path(run.get("fromVersion"), run.get("toVersion")))),
        cell("Result", result),
        cell("Migrated", el("span", fmt.number(run.get("migrated"))), cls="num"),
        cell("Quarantined", el("span", fmt.number(count(run.get("quarantined")))), cls="num"),
        cell("Duration", el("span", fmt.duration(run.get("durationMs"))), cls="num"),
        cell("Backup", el("code", str(run.get("backupId") or fmt.DASH))),
    )


def quarantine_item(entry: Any) -> Any:
    """Return the quarantine list's item of one record: where it came from, its errors, the record as stored."""
    record = entry.get("record", entry) if isinstance(entry, Mapping) else entry
    errors = fmt.error_lines(entry.get("errors") if isinstance(entry, Mapping) else None)
    where = []
    if isinstance(entry, Mapping):
        for key, label in (("sourceKey", "from"), ("kind", "kind"), ("index", "position"),
                           ("runId", "run")):
            if entry.get(key) is not None:
                where.append(f"{label} {entry[key]}")
    return el(
        "li",
        el("span", fmt.record_label(record), cls="record-label"),
        el("span", f" ({', '.join(where)})", cls="hint") if where else None,
        el("ul", *[el("li", line) for line in errors], cls="errors") if errors else None,
        el("details", el("summary", "Record as stored"), el("pre", pretty_json(record), cls="record-json"), cls="record"),
    )


def counts_table(counts: Mapping[str, Any]) -> Any:
    """Return the dry run's per-collection table."""
    rows = []
    for name, value in ordered(counts):
        value = value if isinstance(value, Mapping) else {}
        versions = ", ".join(f"{v}: {fmt.number(n)}" for v, n in (value.get("byVersion") or {}).items())
        rows.append(
            el(
                "tr",
                el("th", name, scope="row", data_label="Collection"),
                cell("Records", el("span", fmt.number(value.get("input"))), cls="num"),
                cell("Would migrate", el("span", fmt.number(value.get("migrated"))), cls="num"),
                cell("Quarantined", el("span", fmt.number(value.get("quarantined"))), cls="num"),
                cell("Stored as", el("span", versions or fmt.DASH)),
            )
        )
    head = el("tr", *[el("th", h, scope="col", cls="num" if h in ("Records", "Would migrate", "Quarantined") else None)
                      for h in ("Collection", "Records", "Would migrate", "Quarantined", "Stored as")])
    return el("div", el("table", el("caption", "Per collection"), el("thead", head), el("tbody", *rows),
                        cls="cards", id="dry-run-counts"), cls="table-wrap")


def sample_table(samples: list) -> Any:
    """Return the dry run's table of sample records and what would change in each."""
    rows = []
    for kind, before, after in samples:
        change = fmt.field_changes(before, after) if after is not None else "would be quarantined or merged"
        rows.append(
            el(
                "tr",
                cell("Collection", el("span", kind)),
                cell("Record", el("span", fmt.record_label(before), cls="record-label")),
                cell("What changes", el("span", change)),
            )
        )
    head = el("tr", *[el("th", h, scope="col") for h in ("Collection", "Record", "What changes")])
    return el("div", el("table", el("caption", "A sample of records and how each would change"), el("thead", head),
                        el("tbody", *rows), cls="cards", id="dry-run-sample"), cls="table-wrap")


def issue_list(title: str, items: list, label: Callable[[Mapping[str, Any]], str]) -> Any:
    """Return a titled list of a dry run's quarantined records, repairs or warnings, each named by ``label``."""
    shown = []
    for item in items[:LIST_LIMIT]:
        lines = fmt.error_lines(item.get("errors")) or ([str(item["message"])] if item.get("message") else [])
        where = item.get("sourceKey") or item.get("source")
        head = label(item) + (f" ({where})" if where else "")
        shown.append(el("li", el("span", head, cls="record-label"),
                        el("ul", *[el("li", line) for line in lines], cls="errors") if lines else None))
    if len(items) > LIST_LIMIT:
        shown.append(el("li", f"… and {len(items) - LIST_LIMIT} more", cls="empty"))
    return el("div", el("h4", f"{title} ({len(items)})"), el("ul", *shown, cls="dry-run-list"))


def ordered(mapping: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Return the items of ``mapping``, the known collections first in their usual order."""
    known = [(k, mapping[k]) for k in COLLECTIONS if k in mapping]
    return known + [(k, v) for k, v in mapping.items() if k not in COLLECTIONS]


def count(value: Any) -> int:
    """Return how many ``value`` stands for: a list's length, a number, else 0."""
    if isinstance(value, list):
        return len(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    return 0


def int_or_none(value: Any) -> int | None:
    """Return a form field's text as an integer, or None when it is empty or not a number."""
    try:
        text = str(value).strip()
        return int(float(text)) if text else None
    except ValueError:
        return None
