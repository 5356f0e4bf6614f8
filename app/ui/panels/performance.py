"""The Performance panel: the performance monitor's figures, phases and chart."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.ui import chart
from app.ui import format as fmt
from app.ui.dom import by_id, el, fill

if TYPE_CHECKING:  # the console imports its panels; a panel knows it only as a type
    from app.ui.console import Console


class PerformancePanel:
    """Show how fast the last or current run went."""

    def __init__(self, console: Console) -> None:
        self.console = console

    async def refresh(self) -> None:
        """Show the performance monitor's figures and chart."""
        metrics = await self.console.call("performanceMonitor", "getMetrics") or {}
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
