"""Text and chart geometry for the console: pure functions, no ``js`` import."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

DASH = "—"
_UNITS = ("B", "KB", "MB", "GB", "TB")


def number(value: Any, digits: int = 0) -> str:
    """Return ``value`` with thousands separators, or a dash when it is not a finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return DASH
    if digits == 0:
        return f"{round(value):,}"
    return f"{value:,.{digits}f}"


def size(value: Any) -> str:
    """Return a byte count as "12.3 KB" (powers of 1024)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return DASH
    amount = float(value)
    for unit in _UNITS:
        if amount < 1024 or unit == _UNITS[-1]:
            return f"{int(amount)} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return DASH  # pragma: no cover


def duration(ms: Any) -> str:
    """Return milliseconds as "850 ms", "4.2 s", "3 min 05 s" or "1 h 02 min"."""
    if isinstance(ms, bool) or not isinstance(ms, (int, float)) or not math.isfinite(ms) or ms < 0:
        return DASH
    if ms < 1000:
        return f"{ms:.0f} ms" if ms >= 10 else f"{ms:.1f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def eta(ms: Any, running: bool = True) -> str:
    """Return the time left of a run, or why it is not known."""
    if not running:
        return DASH
    if ms is None:
        return "estimating…"
    if ms == 0:
        return "done"
    return duration(ms)


def rate(value: Any) -> str:
    """Return items per second as "1,234 items/s"."""
    text = number(value, 0 if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 100 else 1)
    return DASH if text == DASH else f"{text} items/s"


def percent(value: Any) -> str:
    """Return a percentage with one decimal, clamped to 0..100."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return DASH
    return f"{min(100.0, max(0.0, float(value))):.1f} %"


def when(value: Any) -> str:
    """Return an ISO 8601 time or epoch milliseconds as "2025-07-24 15:38:40 UTC"."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        moment = datetime.fromtimestamp(value / 1000, UTC)
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        moment = moment.astimezone(UTC)
    else:
        return DASH
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def yes_no(value: Any) -> str:
    """Return "yes", "no" or a dash for unknown."""
    if value is None:
        return DASH
    return "yes" if value else "no"


def compact_json(value: Any, limit: int = 300) -> str:
    """Return ``value`` as one line of JSON, cut to ``limit`` characters."""
    if value in (None, {}, []):
        return ""
    text = json.dumps(value, ensure_ascii=False, default=str, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plural(count: int, word: str, many: str | None = None) -> str:
    """Return "1 record" / "3 records"."""
    return f"{number(count)} {word if count == 1 else (many or word + 's')}"


def version_path(current: Any, target: Any) -> str:
    """Return "1.0.0 → 3.0.0" (or just the version when there is nothing to do)."""
    current = current or "none"
    target = target or DASH
    return str(current) if current == target else f"{current} → {target}"


def record_label(record: Any) -> str:
    """Return how a person recognises a record: its name, else its id, else its type."""
    if isinstance(record, Mapping):
        for field in ("name", "title", "id"):
            value = record.get(field)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return str(value)
        return "(record without name or id)"
    return f"({type(record).__name__}: {compact_json(record, 60) or repr(record)})"


def error_lines(errors: Any) -> list[str]:
    """Return validation errors (strings or {path/loc, message/msg} objects) as lines of text."""
    if errors is None:
        return []
    if isinstance(errors, (str, Mapping)):
        errors = [errors]
    lines: list[str] = []
    for error in errors if isinstance(errors, Iterable) else [errors]:
        if isinstance(error, Mapping):
            where = error.get("path", error.get("loc", error.get("field")))
            if isinstance(where, (list, tuple)):
                where = ".".join(str(part) for part in where)
            message = error.get("message", error.get("msg", compact_json(error)))
            lines.append(f"{where}: {message}" if where not in (None, "") else str(message))
        else:
            lines.append(str(error))
    return lines


# ------------------------------------------------------------------ chart geometry
class Scale:
    """Map a data range linearly onto a pixel range."""

    def __init__(self, low: float, high: float, start: float, end: float) -> None:
        if not high > low:
            high = low + 1
        self.low, self.high, self.start, self.end = low, high, start, end

    def __call__(self, value: float) -> float:
        return self.start + (value - self.low) * (self.end - self.start) / (self.high - self.low)


def nice_max(value: float) -> float:
    """Return a round number >= ``value`` for an axis top (1, 2, 2.5, 5 times a power of ten)."""
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power + 1e-9:
            return step * power
    return 10 * power  # pragma: no cover


def _finite_pairs(series: Any, y_index: int) -> list[tuple[float, float]]:
    pairs = []
    for point in series or ():
        if not isinstance(point, Sequence) or len(point) <= y_index:
            continue
        x, y = point[0], point[y_index]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (x, y)):
            pairs.append((float(x), float(y)))
    return pairs


def polyline(
    series: Any, y_index: int, *, x_scale: Scale, y_top: float, box: tuple[float, float, float, float]
) -> str:
    """Return the SVG ``points`` of ``series`` (``[t, ..., y]`` rows) inside ``box`` = (left, top, right, bottom)."""
    left, top, right, bottom = box
    y_scale = Scale(0.0, y_top, bottom, top)
    out = []
    for x, y in _finite_pairs(series, y_index):
        px = min(right, max(left, x_scale(x)))
        py = min(bottom, max(top, y_scale(y)))
        out.append(f"{px:.1f},{py:.1f}")
    return " ".join(out)


def chart_model(metrics: Mapping[str, Any], width: int = 640, height: int = 220) -> dict[str, Any]:
    """Return what the run chart draws: two polylines over a shared time axis, with axis labels.

    Batch durations (ms, left axis) come from ``batches.series`` rows ``[t, duration, size]``;
    throughput (items/s, right axis) from ``throughputSeries`` rows ``[t, rate]``.
    """
    batches = (metrics.get("batches") or {}).get("series") or []
    rates = metrics.get("throughputSeries") or []
    duration_points = _finite_pairs(batches, 1)
    rate_points = _finite_pairs(rates, 1)
    box = (48.0, 26.0, float(width - 56), float(height - 28))
    times = [x for x, _ in duration_points + rate_points]
    t_low, t_high = (min(times), max(times)) if times else (0.0, 1.0)
    if t_high - t_low < 1:
        t_high = t_low + 1
    x_scale = Scale(t_low, t_high, box[0], box[2])
    duration_top = nice_max(max((y for _, y in duration_points), default=0))
    rate_top = nice_max(max((y for _, y in rate_points), default=0))
    return {
        "width": width,
        "height": height,
        "box": box,
        "empty": not duration_points and not rate_points,
        "durations": polyline(batches, 1, x_scale=x_scale, y_top=duration_top, box=box),
        "rates": polyline(rates, 1, x_scale=x_scale, y_top=rate_top, box=box),
        "durationTop": duration_top,
        "rateTop": rate_top,
        "timeStart": t_low,
        "timeEnd": t_high,
        "durationCount": len(duration_points),
        "rateCount": len(rate_points),
    }


def axis_number(value: float) -> str:
    """Return an axis label: "2.5", "40", "1.2k"."""
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    if value == int(value):
        return str(int(value))
    return f"{value:g}"


def field_changes(before: Any, after: Any, limit: int = 8) -> str:
    """Return how a record's fields change, e.g. "adds folderIds, tags; renames-from folder_id; changes id"."""
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        return "replaced" if before != after else "unchanged"
    added = [k for k in after if k not in before]
    removed = [k for k in before if k not in after]
    changed = [k for k in after if k in before and before[k] != after[k]]

    def names(keys: list[str]) -> str:
        shown = ", ".join(str(k) for k in keys[:limit])
        return shown + (f" (+{len(keys) - limit} more)" if len(keys) > limit else "")

    parts = []
    if added:
        parts.append("adds " + names(added))
    if removed:
        parts.append("drops " + names(removed))
    if changed:
        parts.append("changes " + names(changed))
    return "; ".join(parts) if parts else "unchanged"


def step_label(step: Any) -> str:
    """Return a plan step such as "1.0.0->2.0.0" as "1.0.0 → 2.0.0"."""
    if isinstance(step, Mapping):
        name = step.get("name") or step.get("id") or ""
        return str(name).replace("->", " → ")
    return str(step).replace("->", " → ")
