"""Reading the trail back: entries matching a query, and their export as JSON or CSV text."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import UTC, datetime
from typing import Any

from app.core.errors import InvalidInput
from app.services.logger.entry import RANK, normalize_level
from app.services.logger.trail import Trail

EXPORT_FORMATS = ("json", "csv")
# Spreadsheets run cells starting with these as formulas (OWASP adds tab and CR).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _to_ms(value: float | str | datetime | None, argument: str) -> int | None:
    """Return epoch milliseconds for a query bound: a number is epoch ms (like ``ts``), a string is ISO 8601."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInput(
            f"{argument} must be epoch milliseconds or an ISO 8601 string, got {value!r}", argument=argument
        )
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise InvalidInput(f"{argument} must be a finite number, got {value!r}", argument=argument)
        return math.floor(value) if argument == "since" else math.ceil(value)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise InvalidInput(f"{argument} is not an ISO 8601 date: {value!r}", argument=argument) from exc
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return round(value.timestamp() * 1000)
    raise InvalidInput(f"{argument} must be epoch milliseconds or an ISO 8601 string, got {value!r}", argument=argument)


async def query_entries(
    trail: Trail,
    *,
    level: str | None,
    text: str | None,
    since: float | str | None,
    until: float | str | None,
    limit: int | None,
    run_id: str | None,
) -> list[dict[str, Any]]:
    """Return the trail's stored and buffered entries matching every filter, newest first."""
    rank = RANK[normalize_level(level)] if level is not None else 0
    if text is not None and not isinstance(text, str):
        raise InvalidInput(f"text must be a string, got {type(text).__name__}", argument="text")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise InvalidInput(f"limit must be a non-negative integer, got {limit!r}", argument="limit")
    needle = text.lower() if text else None
    since_ms, until_ms = _to_ms(since, "since"), _to_ms(until, "until")
    matches: list[dict[str, Any]] = []
    if limit == 0:
        return matches
    for entry in await trail.entries(since_ms, until_ms):
        if RANK.get(entry.get("level"), 0) < rank:
            continue
        if run_id is not None and entry.get("runId") != run_id:
            continue
        if needle is not None and needle not in str(entry.get("message", "")).lower():
            context = json.dumps(entry.get("context", {}), ensure_ascii=False).lower()
            if needle not in context:
                continue
        matches.append(entry)
        if limit is not None and len(matches) >= limit:
            break
    return matches


def export_format(fmt: object) -> str:
    """Return the export format ``fmt`` names (``json`` or ``csv``, any case); raise InvalidInput for another."""
    kind = fmt.strip().lower() if isinstance(fmt, str) else fmt
    if kind not in EXPORT_FORMATS:
        raise InvalidInput(f"unknown export format {fmt!r}; use 'json' or 'csv'", format=fmt)
    return kind


def _csv_cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def export_text(entries: list[dict[str, Any]], kind: str) -> str:
    """Return ``entries`` as a JSON array, or as CSV text (RFC 4180) with formula-safe cells."""
    if kind == "json":
        return json.dumps(entries, ensure_ascii=False)
    out = io.StringIO()
    # RFC 4180: CRLF line ends; quote fields holding commas, quotes or line breaks.
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(["time", "level", "message", "context"])
    for entry in entries:
        context = dict(entry.get("context") or {})
        if "runId" in entry:
            context = {"runId": entry["runId"], **context}
        cells = [
            entry.get("time", ""),
            entry.get("level", ""),
            entry.get("message", ""),
            json.dumps(context, ensure_ascii=False),
        ]
        writer.writerow([_csv_cell(str(cell)) for cell in cells])
    return out.getvalue()
