import json
import logging

import pytest

from app.core.errors import InvalidInput
from app.services.performance import PerformanceMonitor, downsample, percentile


class FakeClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_monitor(**kwargs):
    clock = FakeClock()
    return PerformanceMonitor(clock=clock, **kwargs), clock


def batch(monitor, clock, *, seconds, size, duration_ms=None):
    clock.advance(seconds)
    monitor.record_batch(size=size, duration_ms=seconds * 1000 if duration_ms is None else duration_ms)


@pytest.mark.parametrize(("p", "expected"), [(0, 15), (5, 15), (30, 20), (40, 20), (50, 35), (100, 50)])
def test_percentile_is_nearest_rank(p, expected):
    assert percentile([50, 15, 40, 35, 20], p) == expected


def test_percentile_of_nothing_is_none():
    assert percentile([], 95) is None


def test_p95_of_twenty_batches_is_the_nineteenth():
    monitor, clock = make_monitor()
    monitor.start_run("r", 20)
    for duration in range(20, 0, -1):
        batch(monitor, clock, seconds=0.5, size=1, duration_ms=duration)
    metrics = monitor.get_metrics()["batches"]
    assert metrics["count"] == 20
    assert metrics["p95Ms"] == 19
    assert metrics["maxMs"] == 20
    assert metrics["meanMs"] == 10.5


def test_throughput_and_eta_from_a_fake_clock():
    monitor, clock = make_monitor()
    monitor.start_run("r", 1000)
    batch(monitor, clock, seconds=0.5, size=100)
    assert monitor.progress(100, 1000)["throughput"] == 200.0
    batch(monitor, clock, seconds=0.5, size=100, duration_ms=250)

    progress = monitor.progress(200, 1000)

    # 200 items since the first batch started at 0 ms, 1 s ago.
    assert progress == {"processed": 200, "total": 1000, "percent": 20.0, "throughput": 200.0, "etaMs": 4000}


def test_throughput_forgets_batches_older_than_the_window_and_decays_when_stalled():
    monitor, clock = make_monitor()
    monitor.start_run("r", 1000)
    batch(monitor, clock, seconds=1, size=100)  # ends at 1000 ms
    batch(monitor, clock, seconds=6, size=10, duration_ms=1000)  # ends at 7000 ms, started at 6000 ms
    assert monitor.progress(110, 1000)["throughput"] == 10.0

    clock.advance(2)  # nothing new for 2 s: the latest batch alone, over 3 s
    progress = monitor.progress(110, 1000)

    assert progress["throughput"] == 3.33
    assert progress["etaMs"] == 267000


def test_throughput_uses_at_most_the_last_ten_batches():
    monitor, clock = make_monitor()
    monitor.start_run("r", 120)
    batch(monitor, clock, seconds=1, size=10)
    batch(monitor, clock, seconds=1, size=10)
    for _ in range(10):
        batch(monitor, clock, seconds=0.1, size=10)

    assert monitor.progress(120, 240)["throughput"] == 100.0
    assert monitor.get_metrics()["itemsPerSecond"] == 40.0


def test_progress_edge_cases():
    monitor, clock = make_monitor()
    monitor.start_run("r", 3)
    assert monitor.progress(0, 3) == {"processed": 0, "total": 3, "percent": 0.0, "throughput": 0.0, "etaMs": None}
    assert monitor.progress(1, 3)["percent"] == 33.3
    assert monitor.progress(2, 3)["percent"] == 66.7
    assert monitor.progress(0, 0)["percent"] == 100.0
    assert monitor.progress(5, 3)["percent"] == 100.0
    assert monitor.progress(5, 3)["etaMs"] == 0
    with pytest.raises(InvalidInput):
        monitor.progress(-1, 3)


def test_throughput_series_follows_each_batch():
    monitor, clock = make_monitor()
    monitor.start_run("r", 30)
    batch(monitor, clock, seconds=0.5, size=10)
    batch(monitor, clock, seconds=0.5, size=20)
    assert monitor.get_metrics()["throughputSeries"] == [[500.0, 20.0], [1000.0, 30.0]]


def test_series_is_downsampled_to_200_points_keeping_spikes():
    monitor, clock = make_monitor()
    monitor.start_run("r", 1000)
    for index in range(1000):
        batch(monitor, clock, seconds=0.25, size=1, duration_ms=index % 7)
    metrics = monitor.get_metrics()
    series = metrics["batches"]["series"]

    assert len(series) == 200
    # Each point covers 5 batches: its end time, its slowest duration, its items.
    assert series[0] == [1250.0, 4, 5]
    assert series[-1] == [250000.0, 5, 5]  # batches 995..999: durations 1..5
    assert sum(point[2] for point in series) == 1000
    assert len(metrics["throughputSeries"]) == 200


def test_downsample_keeps_short_series_as_is():
    points = [[1, 2, 3], [4, 5, 6]]
    assert downsample(points, 200, lambda chunk: chunk[0]) == points


def test_only_the_last_max_batches_are_kept_for_p95_and_chart():
    monitor, clock = make_monitor(max_batches=50)
    monitor.start_run("r", 60)
    for index in range(60):
        batch(monitor, clock, seconds=0.1, size=1, duration_ms=1000 if index < 10 else 10)
    metrics = monitor.get_metrics()["batches"]
    assert metrics["count"] == 60
    assert metrics["maxMs"] == 1000
    assert metrics["meanMs"] == pytest.approx((10 * 1000 + 50 * 10) / 60, abs=0.001)
    assert metrics["p95Ms"] == 10
    assert len(metrics["series"]) == 50


def test_phases_accumulate_and_show_while_open():
    monitor, clock = make_monitor()
    monitor.start_run("r", 0)
    with monitor.phase("backup"):
        assert monitor.current_phase == "backup"
        clock.advance(1.5)
    monitor.start_phase("migrate")
    clock.advance(0.25)
    assert monitor.get_metrics()["phases"] == {"backup": 1500.0, "migrate": 250.0}
    assert monitor.end_phase("migrate") == 250.0
    monitor.start_phase("migrate")
    clock.advance(0.5)
    monitor.end_phase("migrate")

    metrics = monitor.get_metrics()
    assert metrics["phases"] == {"backup": 1500.0, "migrate": 750.0}
    assert metrics["phase"] is None


def test_phase_misuse_is_invalid_input():
    monitor, _ = make_monitor()
    with pytest.raises(InvalidInput):
        monitor.end_phase("never")
    monitor.start_phase("verify")
    with pytest.raises(InvalidInput):
        monitor.start_phase("verify")


def test_phase_context_manager_times_a_failing_block():
    monitor, clock = make_monitor()
    with pytest.raises(ValueError), monitor.phase("validate"):
        clock.advance(0.125)
        raise ValueError("bad record")
    assert monitor.get_metrics()["phases"] == {"validate": 125.0}


def test_end_run_summarizes_and_keeps_history():
    monitor, clock = make_monitor(memory_probe=lambda: {"pyodideHeapBytes": 1000})
    monitor.start_run("run-1", 300)
    monitor.start_phase("migrate")
    batch(monitor, clock, seconds=1, size=200)
    monitor.record_long_task(120)
    monitor.record_long_task(80)
    for gap in (16, 17, 16, 50):
        monitor.record_frame_gap(gap)
    clock.advance(1)

    summary = monitor.end_run(300)

    assert summary == {
        "runId": "run-1",
        "total": 300,
        "processed": 300,
        "totalMs": 2000.0,
        "itemsPerSecond": 150.0,
        "phases": {"migrate": 2000.0},
        "batches": 1,
        "batchP95Ms": 1000.0,
        "longestTaskMs": 120.0,
        "longTasks": 2,
        "frameGapP95Ms": 50.0,
        "memoryPeak": {"pyodideHeapBytes": 1000},
    }
    metrics = monitor.get_metrics()
    assert metrics["running"] is False
    assert metrics["totalMs"] == 2000.0
    assert metrics["history"] == [summary]
    with pytest.raises(InvalidInput):
        monitor.end_run(300)

    monitor.start_run("run-2", 5)
    metrics = monitor.get_metrics()
    assert metrics["runId"] == "run-2"
    assert metrics["batches"]["count"] == 0
    assert metrics["longTasks"] == 0
    assert [run["runId"] for run in metrics["history"]] == ["run-1"]


def test_history_keeps_the_last_ten_runs():
    monitor, _ = make_monitor()
    for index in range(12):
        monitor.start_run(f"run-{index}", 0)
        monitor.end_run(0)
    assert [run["runId"] for run in monitor.get_metrics()["history"]] == [f"run-{i}" for i in range(2, 12)]


def test_memory_peak_is_kept_per_figure():
    samples = iter(
        [
            {"pyodideHeapBytes": 100, "usedJSHeapSize": 900},
            {"pyodideHeapBytes": 300, "usedJSHeapSize": 500},
            {"pyodideHeapBytes": 200, "usedJSHeapSize": 700},
        ]
    )
    monitor, _ = make_monitor(memory_probe=lambda: next(samples))
    monitor.start_run("r", 0)  # takes the first sample
    assert monitor.sample_memory() == {"pyodideHeapBytes": 300, "usedJSHeapSize": 500}
    monitor.sample_memory()
    assert monitor.get_metrics()["memory"] == {
        "current": {"pyodideHeapBytes": 200, "usedJSHeapSize": 700},
        "peak": {"pyodideHeapBytes": 300, "usedJSHeapSize": 900},
    }


def test_failing_memory_probe_is_logged_and_ignored(caplog):
    def probe():
        raise RuntimeError("performance.memory is undefined")

    monitor, _ = make_monitor(memory_probe=probe)
    with caplog.at_level(logging.WARNING, logger="app.services.performance"):
        assert monitor.sample_memory() == {}
    assert "memory probe failed" in caplog.text


def test_metrics_are_json_compatible_before_any_run():
    monitor, _ = make_monitor()
    metrics = monitor.get_metrics()
    assert json.loads(json.dumps(metrics, allow_nan=False)) == metrics
    assert metrics["runId"] is None
    assert metrics["batches"] == {"count": 0, "meanMs": None, "p95Ms": None, "maxMs": None, "series": []}
    assert metrics["frameGapP95Ms"] is None


def test_record_batch_needs_a_run_and_valid_figures():
    monitor, _ = make_monitor()
    with pytest.raises(InvalidInput):
        monitor.record_batch(size=1, duration_ms=1)
    monitor.start_run("r", 1)
    for kwargs in (
        {"size": -1, "duration_ms": 1},
        {"size": 1, "duration_ms": float("nan")},
        {"size": True, "duration_ms": 1},
    ):
        with pytest.raises(InvalidInput):
            monitor.record_batch(**kwargs)
    with pytest.raises(InvalidInput):
        monitor.record_long_task(-5)
    with pytest.raises(InvalidInput):
        monitor.start_run("", 1)


def test_warm_up_time_is_reported_and_checked():
    monitor = PerformanceMonitor()
    assert monitor.get_metrics()["warmUpMs"] is None
    monitor.record_warm_up(42.5)
    assert monitor.get_metrics()["warmUpMs"] == 42.5
    with pytest.raises(InvalidInput):
        monitor.record_warm_up(-1)
