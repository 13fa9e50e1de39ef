"""A bar chart as inline SVG text: drawn on the server, no script and no request elsewhere."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT, PAD = 640, 200, 28


def bar_chart(labels: Sequence[str], values: Sequence[float], title: str) -> str:
    """A ``<svg>`` element with one bar per value, labelled below, the maximum on the axis."""
    top = max(values, default=0.0) or 1.0
    n = max(len(values), 1)
    step = (WIDTH - 2 * PAD) / n
    bars = []
    for i, (text, value) in enumerate(zip(labels, values, strict=True)):
        h = (HEIGHT - 2 * PAD) * value / top
        x = PAD + i * step
        y = HEIGHT - PAD - h
        bars.append(
            f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" height="{h:.1f}"'
            f' fill="#2b6cb0"><title>{escape(text)}: {value:g}</title></rect>'
            f'<text x="{x + step / 2:.1f}" y="{HEIGHT - PAD + 12}" font-size="9"'
            f' text-anchor="middle">{escape(text)}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        f' aria-label="{escape(title)}" width="{WIDTH}" height="{HEIGHT}">'
        f'<text x="{PAD}" y="14" font-size="11">{escape(title)} (max {top:g})</text>'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}"'
        ' stroke="#333"/>' + "".join(bars) + "</svg>"
    )
