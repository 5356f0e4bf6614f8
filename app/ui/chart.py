"""Draw the run chart (batch durations and throughput) as inline SVG from the monitor's series."""

from __future__ import annotations

from typing import Any, Mapping

from app.ui import format as fmt
from app.ui.dom import svg

WIDTH, HEIGHT = 640, 220


def draw(metrics: Mapping[str, Any]) -> Any:
    """Return an ``<svg>`` element charting ``metrics``' batch durations (left axis) and throughput (right axis)."""
    model = fmt.chart_model(metrics, WIDTH, HEIGHT)
    left, top, right, bottom = model["box"]
    seconds = (model["timeEnd"] - model["timeStart"]) / 1000
    if model["empty"]:
        label = "Run chart: no batches measured yet."
    else:
        label = (
            f"Run chart over {seconds:.1f} s: {model['durationCount']} batch durations, up to "
            f"{fmt.axis_number(model['durationTop'])} ms (blue, left axis); throughput up to "
            f"{fmt.axis_number(model['rateTop'])} items/s (orange, right axis)."
        )
    root = svg(
        "svg",
        svg("title", label),
        viewBox=f"0 0 {WIDTH} {HEIGHT}",
        role="img",
        aria_label=label,
        preserveAspectRatio="xMidYMid meet",
        font_family="system-ui, sans-serif",
        font_size="12",
    )
    for fraction in (0.0, 0.5, 1.0):
        y = bottom - (bottom - top) * fraction
        root.appendChild(svg("line", x1=left, x2=right, y1=f"{y:.1f}", y2=f"{y:.1f}", stroke="#d0d7de", stroke_width=1))
        root.appendChild(
            svg("text", fmt.axis_number(model["durationTop"] * fraction), x=left - 6, y=f"{y + 4:.1f}",
                text_anchor="end", fill="#0b5cad")
        )
        root.appendChild(
            svg("text", fmt.axis_number(model["rateTop"] * fraction), x=right + 6, y=f"{y + 4:.1f}",
                text_anchor="start", fill="#bf4b00")
        )
    # Units sit above the axes, clear of the top tick labels.
    root.appendChild(svg("text", "batch ms", x=left - 40, y=12, text_anchor="start", fill="#0b5cad"))
    root.appendChild(svg("text", "items/s", x=right + 50, y=12, text_anchor="end", fill="#bf4b00"))
    start_label = f"{model['timeStart'] / 1000:.1f} s" if not model["empty"] else ""
    end_label = f"{model['timeEnd'] / 1000:.1f} s" if not model["empty"] else "time"
    root.appendChild(svg("text", start_label, x=left, y=HEIGHT - 8, text_anchor="start", fill="#57606a"))
    root.appendChild(svg("text", "time into the run", x=(left + right) / 2, y=HEIGHT - 8, text_anchor="middle",
                         fill="#57606a"))
    root.appendChild(svg("text", end_label, x=right, y=HEIGHT - 8, text_anchor="end", fill="#57606a"))
    if model["empty"]:
        root.appendChild(
            svg("text", "No batches measured yet", x=(left + right) / 2, y=(top + bottom) / 2,
                text_anchor="middle", fill="#57606a")
        )
        return root
    if model["durations"]:
        root.appendChild(
            svg("polyline", points=model["durations"], fill="none", stroke="#0b5cad", stroke_width=2,
                stroke_linejoin="round", data_series="durations")
        )
    if model["rates"]:
        root.appendChild(
            svg("polyline", points=model["rates"], fill="none", stroke="#bf4b00", stroke_width=2,
                stroke_dasharray="6 3", stroke_linejoin="round", data_series="rates")
        )
    return root
