"""The performance monitor: phase timings, batch durations, throughput, ETA and browser health.

Every figure is computed from recorded values with the injected clock, so a
fake clock gives exact numbers. Times are milliseconds since ``start_run``;
rates are items per second. The browser wiring feeds ``record_long_task``
(a ``longtask`` PerformanceObserver), ``record_frame_gap``
(requestAnimationFrame sampling) and ``memory_probe`` (Pyodide heap size and
``performance.memory``).
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping, Sequence

from app.core.errors import InvalidInput

_log = logging.getLogger(__name__)

# Throughput is rolling: the last WINDOW_BATCHES batches that ended within WINDOW_MS
# (always at least the latest one), so a stall shows as a falling rate.
WINDOW_MS = 5000.0
WINDOW_BATCHES = 10
SERIES_POINTS = 200
HISTORY_RUNS = 10
MAX_SAMPLES = 5000

Batch = tuple[float, float, int]  # (end t_ms, duration_ms, size)


def percentile(values: Sequence[float], p: float) -> float | None:
    """Return the nearest-rank ``p``-th percentile of ``values`` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p * len(ordered) / 100))
    return ordered[min(rank, len(ordered)) - 1]


def downsample(
    points: Sequence[Sequence[Any]], limit: int, merge: Callable[[Sequence[Sequence[Any]]], list[Any]]
) -> list[list[Any]]:
    """Return at most ``limit`` points, merging runs of consecutive points with ``merge``."""
    count = len(points)
    if count <= limit:
        return [list(point) for point in points]
    return [merge(points[i * count // limit : (i + 1) * count // limit]) for i in range(limit)]


def _merge_batches(chunk: Sequence[Sequence[Any]]) -> list[Any]:
    # Keep the slowest duration so a spike never disappears from the chart, and the items the span processed.
    return [chunk[-1][0], max(point[1] for point in chunk), sum(point[2] for point in chunk)]


def _merge_rates(chunk: Sequence[Sequence[Any]]) -> list[Any]:
    return list(chunk[-1])


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _check_count(value: object, argument: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{argument} must be a non-negative integer, got {value!r}", argument=argument)
    return value


def _check_ms(value: object, argument: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise InvalidInput(
            f"{argument} must be a non-negative number of milliseconds, got {value!r}", argument=argument
        )
    return float(value)


class PerformanceMonitor:
    """Measure one migration run at a time and keep the summaries of the last few."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.perf_counter,
        memory_probe: Callable[[], Mapping[str, Any]] | None = None,
        max_batches: int = 2000,
    ) -> None:
        if isinstance(max_batches, bool) or not isinstance(max_batches, int) or max_batches < 1:
            raise InvalidInput(f"max_batches must be a positive integer, got {max_batches!r}", max_batches=max_batches)
        self._clock = clock
        self._memory_probe = memory_probe
        self._max_batches = max_batches
        self._history: deque[dict[str, Any]] = deque(maxlen=HISTORY_RUNS)
        self._memory_current: dict[str, Any] = {}
        self._memory_peak: dict[str, float] = {}
        self._warm_up_ms: float | None = None
        self._reset(None, 0)

    def __repr__(self) -> str:
        return f"<PerformanceMonitor run={self.run_id!r} running={self.running} batches={self._batch_count}>"

    def _reset(self, run_id: str | None, total: int) -> None:
        self.run_id = run_id
        self.total = total
        self._started = self._clock()
        self._summary: dict[str, Any] | None = None
        self._phases: dict[str, float] = {}
        self._open_phases: dict[str, float] = {}
        # Only the last max_batches are kept for the percentile and the chart; count, mean and max cover all.
        self._batches: deque[Batch] = deque(maxlen=self._max_batches)
        self._rates: deque[tuple[float, float]] = deque(maxlen=self._max_batches)
        self._batch_count = 0
        self._batch_total_ms = 0.0
        self._batch_max_ms: float | None = None
        self._items = 0
        self._long_tasks = 0
        self._longest_task_ms: float | None = None
        self._frame_gaps: deque[float] = deque(maxlen=MAX_SAMPLES)

    def _now_ms(self) -> float:
        return (self._clock() - self._started) * 1000

    @property
    def running(self) -> bool:
        """Return whether a run is started and not ended."""
        return self.run_id is not None and self._summary is None

    @property
    def current_phase(self) -> str | None:
        """Return the most recently started phase still open."""
        return next(reversed(self._open_phases), None)

    def start_run(self, run_id: str, total: int) -> None:
        """Start measuring run ``run_id`` of ``total`` items, replacing any unfinished run."""
        if not isinstance(run_id, str) or not run_id:
            raise InvalidInput(f"run_id must be a non-empty string, got {run_id!r}", argument="run_id")
        # A failed run may never reach end_run; the next run must still start cleanly.
        self._reset(run_id, _check_count(total, "total"))
        self._memory_peak = {}
        self.sample_memory()

    def start_phase(self, name: str) -> None:
        """Start timing phase ``name``."""
        if not isinstance(name, str) or not name:
            raise InvalidInput(f"phase name must be a non-empty string, got {name!r}", argument="name")
        if name in self._open_phases:
            raise InvalidInput(f"phase {name!r} is already started", phase=name)
        self._open_phases[name] = self._clock()

    def end_phase(self, name: str) -> float:
        """Stop timing phase ``name``; return its duration in ms (added to earlier spans of the same phase)."""
        try:
            started = self._open_phases.pop(name)
        except KeyError:
            raise InvalidInput(f"phase {name!r} is not started", phase=name) from None
        duration = (self._clock() - started) * 1000
        self._phases[name] = self._phases.get(name, 0.0) + duration
        return duration

    @contextmanager
    def phase(self, name: str) -> Iterator[PerformanceMonitor]:
        """Time the ``with`` block as phase ``name``."""
        self.start_phase(name)
        try:
            yield self
        finally:
            self.end_phase(name)

    def record_batch(self, *, size: int, duration_ms: float) -> None:
        """Record a batch of ``size`` items that took ``duration_ms`` and ended now."""
        size = _check_count(size, "size")
        duration_ms = _check_ms(duration_ms, "duration_ms")
        if not self.running:
            raise InvalidInput("record_batch needs a started run: call start_run first")
        now = self._now_ms()
        self._batches.append((now, duration_ms, size))
        self._batch_count += 1
        self._batch_total_ms += duration_ms
        self._batch_max_ms = duration_ms if self._batch_max_ms is None else max(self._batch_max_ms, duration_ms)
        self._items += size
        rate = self._rolling_rate(now)
        if rate is not None:
            self._rates.append((now, rate))

    def record_long_task(self, duration_ms: float) -> None:
        """Record a main-thread task longer than 50 ms."""
        duration_ms = _check_ms(duration_ms, "duration_ms")
        self._long_tasks += 1
        self._longest_task_ms = (
            duration_ms if self._longest_task_ms is None else max(self._longest_task_ms, duration_ms)
        )

    def record_warm_up(self, duration_ms: float) -> None:
        """Record how long the start-up warm-up of the engine took (app.core.warmup)."""
        self._warm_up_ms = _check_ms(duration_ms, "duration_ms")

    def record_frame_gap(self, gap_ms: float) -> None:
        """Record the time between two animation frames."""
        self._frame_gaps.append(_check_ms(gap_ms, "gap_ms"))

    def sample_memory(self) -> dict[str, Any]:
        """Return the memory probe's current figures, keeping the peak of each number."""
        if self._memory_probe is None:
            return {}
        try:
            sample = dict(self._memory_probe())
        except Exception as exc:
            # performance.memory is Chromium-only and may vanish; a missing figure must not stop a migration.
            _log.warning("memory probe failed: %s", exc)
            return {}
        self._memory_current = {str(key): value for key, value in sample.items()}
        for key, value in self._memory_current.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self._memory_peak[key] = max(self._memory_peak.get(key, value), value)
        return dict(self._memory_current)

    def _rolling_rate(self, now: float) -> float | None:
        window: list[Batch] = []
        for batch in reversed(self._batches):
            if len(window) >= WINDOW_BATCHES or (window and batch[0] <= now - WINDOW_MS):
                break
            window.append(batch)
        if not window:
            return None
        elapsed = now - min(end - duration for end, duration, _ in window)
        if elapsed <= 0:
            return None
        return sum(size for _, _, size in window) / (elapsed / 1000)

    def progress(self, processed: int, total: int) -> dict[str, Any]:
        """Return ``{processed, total, percent, throughput, etaMs}`` from the rolling throughput."""
        processed = _check_count(processed, "processed")
        total = _check_count(total, "total")
        done = min(processed, total)
        percent = 100.0 if total == 0 else round(done * 100 / total, 1)
        rate = self._rolling_rate(self._now_ms())
        remaining = total - done
        if remaining == 0:
            eta: int | None = 0
        elif rate:
            eta = round(remaining / rate * 1000)
        else:
            eta = None
        return {
            "processed": processed,
            "total": total,
            "percent": percent,
            "throughput": _rate(rate) or 0.0,
            "etaMs": eta,
        }

    def end_run(self, processed: int) -> dict[str, Any]:
        """Stop the run, closing open phases; return its summary (also kept in the history)."""
        processed = _check_count(processed, "processed")
        if not self.running:
            raise InvalidInput("end_run needs a started run: call start_run first")
        for name in list(self._open_phases):
            self.end_phase(name)
        self.sample_memory()
        total_ms = self._now_ms()
        summary = {
            "runId": self.run_id,
            "total": self.total,
            "processed": processed,
            "totalMs": _ms(total_ms),
            "itemsPerSecond": _rate(processed / (total_ms / 1000)) if total_ms > 0 else None,
            "phases": {name: _ms(ms) for name, ms in self._phases.items()},
            "batches": self._batch_count,
            "batchP95Ms": _ms(percentile(list(self._durations()), 95)),
            "longestTaskMs": _ms(self._longest_task_ms),
            "longTasks": self._long_tasks,
            "frameGapP95Ms": _ms(percentile(self._frame_gaps, 95)),
            "memoryPeak": dict(self._memory_peak),
        }
        self._summary = summary
        self._history.append(summary)
        return dict(summary)

    def _durations(self) -> Iterator[float]:
        return (duration for _, duration, _ in self._batches)

    def get_metrics(self) -> dict[str, Any]:
        """Return every figure of the current (or last) run as JSON-compatible data."""
        phases = dict(self._phases)
        now_clock = self._clock()
        for name, started in self._open_phases.items():
            # Show an open phase's time so far, so a live chart does not jump when it ends.
            phases[name] = phases.get(name, 0.0) + (now_clock - started) * 1000
        if self._summary is not None:
            total_ms, items_per_second = self._summary["totalMs"], self._summary["itemsPerSecond"]
        elif self.run_id is not None:
            elapsed = self._now_ms()
            total_ms = _ms(elapsed)
            items_per_second = _rate(self._items / (elapsed / 1000)) if elapsed > 0 else None
        else:
            total_ms, items_per_second = 0.0, None
        durations = list(self._durations())
        return {
            "runId": self.run_id,
            "running": self.running,
            "total": self.total,
            "phase": self.current_phase,
            "phases": {name: _ms(ms) for name, ms in phases.items()},
            "totalMs": total_ms,
            "itemsPerSecond": items_per_second,
            "batches": {
                "count": self._batch_count,
                "meanMs": _ms(self._batch_total_ms / self._batch_count) if self._batch_count else None,
                "p95Ms": _ms(percentile(durations, 95)),
                "maxMs": _ms(self._batch_max_ms),
                "series": downsample(
                    [[_ms(t), _ms(d), size] for t, d, size in self._batches], SERIES_POINTS, _merge_batches
                ),
            },
            "throughputSeries": downsample([[_ms(t), _rate(r)] for t, r in self._rates], SERIES_POINTS, _merge_rates),
            "longestTaskMs": _ms(self._longest_task_ms),
            "longTasks": self._long_tasks,
            "frameGapP95Ms": _ms(percentile(self._frame_gaps, 95)),
            "warmUpMs": _ms(self._warm_up_ms),
            "memory": {"current": dict(self._memory_current), "peak": dict(self._memory_peak)},
            "history": [dict(summary) for summary in self._history],
        }
