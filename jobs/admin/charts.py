"""Small inline SVG line charts for the admin (no JavaScript, nothing fetched)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[float, float]]  # (x, y)
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


@dataclass(frozen=True)
class _Frame:
    """The plot area of a chart and the data range it shows."""

    width: int
    height: int
    x_ticks: list[float]
    y_ticks: list[float]
    left: int = 56
    right: int = 12
    top: int = 28
    bottom: int = 58

    @property
    def plot_w(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> int:
        return self.height - self.top - self.bottom

    def px(self, x: float) -> float:
        x0, x1 = self.x_ticks[0], self.x_ticks[-1]
        return self.left + (x - x0) / ((x1 - x0) or 1) * self.plot_w

    def py(self, y: float) -> float:
        y0, y1 = self.y_ticks[0], self.y_ticks[-1]
        return self.top + self.plot_h - (y - y0) / ((y1 - y0) or 1) * self.plot_h


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
    xs = [x for s in drawn for x, _ in s.points]
    ys = [y for s in drawn for _, y in s.points]
    frame = _Frame(width, height, nice_ticks(min(xs), max(xs)), nice_ticks(min(ys), max(ys)))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="jobs-chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f"aria-label={quoteattr(title)}>",
        f"<title>{escape(title)}</title>",
        f'<text x="{frame.left}" y="16" class="jobs-chart-title">{escape(title)}</text>',
        *_axes(frame, x_label, y_label),
        *(part for s in drawn for part in _line(frame, s)),
        *_legend(frame, drawn),
        "</svg>",
    ]
    return mark_safe("".join(parts))  # every interpolated string is escaped here


def _axes(f: _Frame, x_label: str, y_label: str) -> list[str]:
    """Grid lines with the y ticks, the x ticks, and the axis labels."""
    parts = [
        f'<line x1="{f.left}" x2="{f.left + f.plot_w}" y1="{f.py(y):.1f}" y2="{f.py(y):.1f}" '
        f'class="jobs-chart-grid"/>'
        f'<text x="{f.left - 6}" y="{f.py(y) + 4:.1f}" text-anchor="end" '
        f'class="jobs-chart-tick">{_fmt(y)}</text>'
        for y in f.y_ticks
    ]
    parts += [
        f'<text x="{f.px(x):.1f}" y="{f.top + f.plot_h + 16}" text-anchor="middle" '
        f'class="jobs-chart-tick">{_fmt(x)}</text>'
        for x in f.x_ticks
    ]
    parts.append(
        f'<text x="{f.left + f.plot_w / 2:.0f}" y="{f.top + f.plot_h + 32}" text-anchor="middle" '
        f'class="jobs-chart-tick">{escape(x_label)}</text>'
    )
    if y_label:
        parts.append(
            f'<text transform="translate(14 {f.top + f.plot_h / 2:.0f}) rotate(-90)" '
            f'text-anchor="middle" class="jobs-chart-tick">{escape(y_label)}</text>'
        )
    return parts


def _dash(s: Series) -> str:
    return ' stroke-dasharray="6 4"' if s.dashed else ""


def _line(f: _Frame, s: Series) -> list[str]:
    """One series: its polyline, and a marker on each point if it asks for them."""
    coords = " ".join(f"{f.px(x):.1f},{f.py(y):.1f}" for x, y in s.points)
    parts = [
        f'<polyline fill="none" stroke="{s.color}" stroke-width="2"{_dash(s)} '
        f'points="{coords}" data-series={quoteattr(s.name)}><title>{escape(s.name)}</title>'
        f"</polyline>"
    ]
    if s.markers or len(s.points) == 1:
        parts += [
            f'<circle cx="{f.px(x):.1f}" cy="{f.py(y):.1f}" r="3" fill="{s.color}">'
            f"<title>{escape(s.name)} at {x:g}: {_fmt(y)}</title></circle>"
            for x, y in s.points
        ]
    return parts


def _legend(f: _Frame, drawn: list[Series]) -> list[str]:
    """The legend, under the axis label."""
    parts = []
    lx = f.left
    for s in drawn:
        parts.append(
            f'<line x1="{lx}" x2="{lx + 18}" y1="{f.height - 10}" y2="{f.height - 10}" '
            f'stroke="{s.color}" stroke-width="2"{_dash(s)}/>'
            f'<text x="{lx + 22}" y="{f.height - 6}" class="jobs-chart-legend">'
            f"{escape(s.name)}</text>"
        )
        lx += 30 + 7 * len(s.name)
    return parts


# --- a training run's charts ------------------------------------------------------


def loss_chart(history: dict[str, list[tuple[int, float]]]) -> SafeString:
    return line_chart(
        "Loss",
        [
            Series("training loss", history.get("train/loss", []), "#2f6fb0"),
            Series("validation loss", history.get("validation/loss", []), "#d9822b", markers=True),
        ],
        y_label="BCE loss",
    )


def rouge_chart(history: dict[str, list[tuple[int, float]]], table: list[Any]) -> SafeString:
    steps = [
        s for tag in ("validation/rouge", "validation/rouge1") for s, _ in history.get(tag, [])
    ]
    series = [
        Series("ROUGE mean", history.get("validation/rouge", []), "#1f7a3a", markers=True),
        Series("ROUGE-1", history.get("validation/rouge1", []), "#7fb58f"),
        Series("ROUGE-2", history.get("validation/rouge2", []), "#b5d3bd"),
    ]
    if steps:
        mean = table[-1].values
        for column, name, color in (
            ("lead3", "Lead-3 mean", "#8a5a9c"),
            ("textrank", "TextRank mean", "#b08b2f"),
            ("active_val", "active version mean", "#666666"),
        ):
            if mean[column] is not None:
                span = [(min(steps), mean[column]), (max(steps), mean[column])]
                series.append(Series(name, span, color, dashed=True))
    return line_chart("Validation ROUGE (F1 × 100)", series, y_label="ROUGE")
