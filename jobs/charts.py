"""Small inline SVG line charts for the admin (no JavaScript, nothing fetched)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class Series:
    name: str
    points: list[tuple[float, float]]  # (x, y)
    color: str
    dashed: bool = False
    markers: bool = False


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round tick values covering [low, high]."""
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0]
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.0f}" if value == int(value) else f"{value:.1f}"
    return f"{value:.3g}"


def line_chart(
    title: str,
    series: list[Series],
    *,
    x_label: str = "step",
    y_label: str = "",
    width: int = 560,
    height: int = 240,
) -> SafeString:
    """An SVG chart of the series; an explanatory note when there is nothing to plot."""
    drawn = [s for s in series if s.points]
    if not drawn:
        return mark_safe("")
    left, right, top, bottom = 56, 12, 28, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    xs = [x for s in drawn for x, _ in s.points]
    ys = [y for s in drawn for _, y in s.points]
    x_ticks = nice_ticks(min(xs), max(xs))
    y_ticks = nice_ticks(min(ys), max(ys))
    x0, x1, y0, y1 = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]

    def px(x: float) -> float:
        return left + (x - x0) / ((x1 - x0) or 1) * plot_w

    def py(y: float) -> float:
        return top + plot_h - (y - y0) / ((y1 - y0) or 1) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="jobs-chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f"aria-label={quoteattr(title)}>",
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="16" class="jobs-chart-title">{escape(title)}</text>',
    ]
    for y in y_ticks:
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{py(y):.1f}" y2="{py(y):.1f}" '
            f'class="jobs-chart-grid"/>'
            f'<text x="{left - 6}" y="{py(y) + 4:.1f}" text-anchor="end" '
            f'class="jobs-chart-tick">{_fmt(y)}</text>'
        )
    for x in x_ticks:
        parts.append(
            f'<text x="{px(x):.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
            f'class="jobs-chart-tick">{_fmt(x)}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.0f}" y="{top + plot_h + 32}" text-anchor="middle" '
        f'class="jobs-chart-tick">{escape(x_label)}</text>'
    )
    if y_label:
        parts.append(
            f'<text transform="translate(14 {top + plot_h / 2:.0f}) rotate(-90)" '
            f'text-anchor="middle" class="jobs-chart-tick">{escape(y_label)}</text>'
        )
    for s in drawn:
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in s.points)
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        parts.append(
            f'<polyline fill="none" stroke="{s.color}" stroke-width="2"{dash} '
            f'points="{coords}" data-series={quoteattr(s.name)}><title>{escape(s.name)}</title>'
            f"</polyline>"
        )
        if s.markers or len(s.points) == 1:
            for x, y in s.points:
                parts.append(
                    f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{s.color}">'
                    f"<title>{escape(s.name)} at {x:g}: {_fmt(y)}</title></circle>"
                )
    # Legend under the axis label.
    lx = left
    for s in drawn:
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        parts.append(
            f'<line x1="{lx}" x2="{lx + 18}" y1="{height - 10}" y2="{height - 10}" '
            f'stroke="{s.color}" stroke-width="2"{dash}/>'
            f'<text x="{lx + 22}" y="{height - 6}" class="jobs-chart-legend">'
            f"{escape(s.name)}</text>"
        )
        lx += 30 + 7 * len(s.name)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every interpolated string is escaped above
