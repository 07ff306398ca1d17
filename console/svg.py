"""Small charts drawn on the server as inline SVG: no JavaScript, no build step, nothing to vendor.

``sparkline`` turns a per-minute series (oldest first, as ``Stats.series`` returns it) into an ``<svg>``
element: a line with its area, an optional dashed reference line (a budget), optional red bars (429s)
and a ``<title>`` a person reads on hover and a screen reader reads aloud. Presentation attributes
only (no ``style``), so a strict Content-Security-Policy allows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def scale_max(values: Sequence[float], reference: float | None = None) -> float:
    """The top of the chart: the largest value or the reference line, and never 0."""
    top = max([0.0, *values, *([reference] if reference is not None else [])])
    return top if top > 0 else 1.0


def sparkline(
    values: Sequence[float],
    *,
    width: int = 240,
    height: int = 40,
    label: str = "",
    reference: float | None = None,
    alerts: Sequence[float] | None = None,
    color: str = "#2563eb",
) -> Markup:
    """An inline ``<svg>`` of ``values``; ``reference`` draws a dashed line at that value (the budget),
    ``alerts`` (same length) draws red bars under the line (e.g. 429s, on the same scale)."""
    values = [float(v) for v in values]
    pad = 2.0
    top = scale_max(values + [float(a) for a in (alerts or [])], reference)
    inner_h = height - 2 * pad
    n = len(values)
    step = (width - 2 * pad) / (n - 1) if n > 1 else 0.0

    def y(value: float) -> float:
        return pad + inner_h * (1 - value / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="spark" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">',
        f"<title>{escape(label)}</title>",
    ]
    parts.append(
        f'<line x1="0" y1="{_number(height - pad)}" x2="{width}" y2="{_number(height - pad)}" '
        'stroke="#d1d5db" stroke-width="1"/>'
    )
    if alerts:
        bar = max(1.0, step * 0.8)
        for i, a in enumerate(alerts):
            if a > 0:
                x = pad + i * step - bar / 2
                top_y = min(y(a), height - pad - 3)  # at least 3 px: one 429 must show on a scale of hundreds
                parts.append(
                    f'<rect class="alert" x="{_number(x)}" y="{_number(top_y)}" width="{_number(bar)}" '
                    f'height="{_number(height - pad - top_y)}" fill="#dc2626"/>'
                )
    if n:
        points = (
            [(pad + i * step, y(v)) for i, v in enumerate(values)]
            if n > 1
            else [(pad, y(values[0])), (width - pad, y(values[0]))]
        )
        line = " ".join(f"{_number(x)},{_number(yy)}" for x, yy in points)
        area = (
            f"{_number(points[0][0])},{_number(height - pad)} {line} {_number(points[-1][0])},{_number(height - pad)}"
        )
        parts.append(f'<polygon points="{area}" fill="{escape(color)}" fill-opacity="0.12"/>')
        parts.append(
            f'<polyline points="{line}" fill="none" stroke="{escape(color)}" stroke-width="1.5" '
            'stroke-linejoin="round"/>'
        )
    if reference is not None:
        parts.append(
            f'<line class="reference" x1="0" y1="{_number(y(reference))}" x2="{width}" '
            f'y2="{_number(y(reference))}" stroke="#6b7280" stroke-width="1" stroke-dasharray="4 3"/>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above, numbers are ours
