"""Small server-side SVG charts for the back office: no JavaScript, no dependency.

Each function returns an ``<svg>`` element as :class:`~markupsafe.Markup`, ready to put in
a template. The charts are

* **accessible** — ``role="img"`` with a ``<title>`` and ``<desc>`` it is labelled by, and
  each bar or point carries its own ``<title>`` ("12 Mar: €140.00"), which browsers show
  on hover and screen readers can reach; pages add a data table for the full numbers;
* **safe** — every label is escaped, ids are derived from a caller-chosen slug;
* **CSP-friendly** — colours and sizes are SVG presentation attributes (``fill=``,
  ``font-size=``), never ``style`` attributes, so ``style-src 'self'`` holds.

Values are integers (minor units, counts); the caller formats them for display.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable, Sequence

from markupsafe import Markup, escape

FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"
AXIS_COLOUR = "#5b6570"
GRID_COLOUR = "#d9dee3"
BAR_COLOUR = "#27466b"
LINE_COLOUR = "#2f7d5c"


@dataclass(frozen=True)
class Datum:
    """One bar or point: its axis label, its value and how the value reads ("€140.00")."""

    label: str
    value: int
    display: str = ""

    @property
    def text(self) -> str:
        return self.display or str(self.value)


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ at or above ``value`` (1 for nothing): a round axis top."""
    if value <= 0:
        return 1
    exponent = 10 ** int(math.floor(math.log10(value)))
    for step in (1, 2, 5, 10):
        if step * exponent >= value:
            return step * exponent
    return 10 * exponent  # pragma: no cover - the loop always returns


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "chart"


def _number(value: float) -> str:
    """Coordinates with at most two decimals, no trailing zeros (short, stable output)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _open(chart_id: str, title: str, desc: str, width: int, height: int) -> list[str]:
    cid = escape(_slug(chart_id))
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{cid}" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" role="img" aria-labelledby="{cid}-title {cid}-desc" '
        f'font-family="{escape(FONT)}" font-size="11">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(desc)}</desc>',
    ]


def _y_axis(parts: list[str], *, top: float, left: float, right: float, plot_height: float, maximum: int,
            axis_format: Callable[[int], str]) -> None:
    # A middle line only where it falls on a whole number (5 orders: 0 and 5, not "2").
    fractions = (0, 0.5, 1) if maximum % 2 == 0 else (0, 1)
    for fraction in fractions:
        y = top + plot_height - plot_height * fraction
        value = int(maximum * fraction)
        parts.append(f'<line x1="{_number(left)}" y1="{_number(y)}" x2="{_number(right)}" y2="{_number(y)}" '
                     f'stroke="{GRID_COLOUR}" stroke-width="1"/>')
        parts.append(f'<text x="{_number(left - 6)}" y="{_number(y + 4)}" text-anchor="end" fill="{AXIS_COLOUR}">'
                     f'{escape(axis_format(value))}</text>')


def _x_labels(parts: list[str], data: Sequence[Datum], centres: Sequence[float], y: float, every: int) -> None:
    # Every `every`-th label, counted from the newest (last) datum, which is always named.
    last = len(data) - 1
    for index, (datum, x) in enumerate(zip(data, centres)):
        if (last - index) % every == 0:
            parts.append(f'<text x="{_number(x)}" y="{_number(y)}" text-anchor="middle" fill="{AXIS_COLOUR}">'
                         f'{escape(datum.label)}</text>')


def _label_every(count: int, plot_width: float, label_width: float = 48) -> int:
    fits = max(1, int(plot_width // label_width))
    return max(1, math.ceil(count / fits))


def _frame(data: Sequence[Datum], chart_id: str, title: str, desc: str, width: int, height: int,
           margins: tuple[int, int, int, int], axis_format: Callable[[int], str]
           ) -> tuple[list[str], float, float, int]:
    """Open a chart and draw its value axis: the SVG parts so far, the plot's width and
    height inside ``margins`` (left, right, top, bottom), and the axis maximum."""
    left, right, top, bottom = margins
    plot_width, plot_height = width - left - right, height - top - bottom
    maximum = nice_ceiling(max((max(d.value, 0) for d in data), default=0))
    parts = _open(chart_id, title, desc, width, height)
    _y_axis(parts, top=top, left=left, right=width - right, plot_height=plot_height, maximum=maximum,
            axis_format=axis_format)
    return parts, plot_width, plot_height, maximum


def bar_chart(data: Sequence[Datum], *, chart_id: str, title: str, desc: str, width: int = 720, height: int = 240,
              axis_format: Callable[[int], str] = str, fill: str = BAR_COLOUR) -> Markup:
    """Vertical bars, one per datum, on a zero-based axis rounded up to a 1/2/5 step."""
    left, right, top, bottom = 64, 16, 12, 28
    parts, plot_width, plot_height, maximum = _frame(data, chart_id, title, desc, width, height,
                                                     (left, right, top, bottom), axis_format)
    slot = plot_width / max(len(data), 1)
    bar_width = max(1.0, slot * 0.72)
    centres = []
    parts.append('<g class="chart-bars">')
    for index, datum in enumerate(data):
        bar_height = plot_height * max(datum.value, 0) / maximum
        x = left + slot * index + (slot - bar_width) / 2
        centres.append(left + slot * index + slot / 2)
        parts.append(f'<rect x="{_number(x)}" y="{_number(top + plot_height - bar_height)}" '
                     f'width="{_number(bar_width)}" height="{_number(bar_height)}" fill="{escape(fill)}" '
                     f'data-value="{datum.value}"><title>{escape(datum.label)}: {escape(datum.text)}</title></rect>')
    parts.append("</g>")
    _x_labels(parts, data, centres, height - 10, _label_every(len(data), plot_width))
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(data: Sequence[Datum], *, chart_id: str, title: str, desc: str, width: int = 720, height: int = 200,
               axis_format: Callable[[int], str] = str, stroke: str = LINE_COLOUR) -> Markup:
    """A line through the data with a marked point each (days with no value sit on zero)."""
    left, right, top, bottom = 64, 28, 12, 28
    parts, plot_width, plot_height, maximum = _frame(data, chart_id, title, desc, width, height,
                                                     (left, right, top, bottom), axis_format)
    step = plot_width / max(len(data) - 1, 1)
    points = [(left + step * index if len(data) > 1 else left + plot_width / 2,
               top + plot_height - plot_height * max(d.value, 0) / maximum) for index, d in enumerate(data)]
    if len(points) > 1:
        parts.append(f'<polyline points="{" ".join(f"{_number(x)},{_number(y)}" for x, y in points)}" '
                     f'fill="none" stroke="{escape(stroke)}" stroke-width="2"/>')
    parts.append('<g class="chart-points">')
    for datum, (x, y) in zip(data, points):
        parts.append(f'<circle cx="{_number(x)}" cy="{_number(y)}" r="3" fill="{escape(stroke)}" '
                     f'data-value="{datum.value}"><title>{escape(datum.label)}: {escape(datum.text)}</title></circle>')
    parts.append("</g>")
    _x_labels(parts, data, [x for x, _ in points], height - 10, _label_every(len(data), plot_width))
    parts.append("</svg>")
    return Markup("".join(parts))


def horizontal_bar_chart(data: Sequence[Datum], *, chart_id: str, title: str, desc: str, width: int = 720,
                         bar_height: int = 22, label_width: int = 220, fill: str = BAR_COLOUR) -> Markup:
    """A ranking: one labelled bar per row (longest labels are cut with an ellipsis), the
    value written after each bar."""
    top, gap, value_room = 6, 8, 110
    height = top * 2 + max(len(data), 1) * (bar_height + gap)
    plot_width = width - label_width - value_room
    maximum = max((max(d.value, 0) for d in data), default=0) or 1
    parts = _open(chart_id, title, desc, width, height)
    parts.append('<g class="chart-bars">')
    for index, datum in enumerate(data):
        y = top + index * (bar_height + gap)
        length = plot_width * max(datum.value, 0) / maximum
        label = datum.label if len(datum.label) <= 34 else datum.label[:33] + "…"
        parts.append(f'<text x="{label_width - 8}" y="{_number(y + bar_height * 0.7)}" text-anchor="end" '
                     f'fill="{AXIS_COLOUR}">{escape(label)}</text>')
        parts.append(f'<rect x="{label_width}" y="{y}" width="{_number(length)}" height="{bar_height}" '
                     f'fill="{escape(fill)}" data-value="{datum.value}"><title>{escape(datum.label)}: '
                     f'{escape(datum.text)}</title></rect>')
        parts.append(f'<text x="{_number(label_width + length + 6)}" y="{_number(y + bar_height * 0.7)}" '
                     f'fill="{AXIS_COLOUR}">{escape(datum.text)}</text>')
    parts.append("</g></svg>")
    return Markup("".join(parts))
