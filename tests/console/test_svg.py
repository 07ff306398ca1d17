"""The server-drawn sparkline: a pure function from a series to an <svg>."""

from __future__ import annotations

import re

from markupsafe import Markup

from console.svg import scale_max, sparkline


def points(svg: str) -> list[tuple[float, float]]:
    found = re.search(r'<polyline points="([^"]+)"', svg)
    assert found, svg
    return [tuple(float(v) for v in pair.split(",")) for pair in found.group(1).split()]


def test_one_point_per_minute_scaled_to_the_largest_value():
    svg = sparkline([0, 5, 10], width=100, height=40, label="hooks")
    assert isinstance(svg, Markup) and svg.startswith("<svg") and svg.endswith("</svg>")
    xy = points(svg)
    assert [x for x, _ in xy] == [2, 50, 98]  # 2 px padding each side
    assert [y for _, y in xy] == [38, 20, 2]  # 0 at the bottom, the maximum at the top
    assert 'viewBox="0 0 100 40"' in svg and "<title>hooks</title>" in svg


def test_an_all_zero_or_empty_series_draws_a_flat_line_or_nothing():
    assert {y for _, y in points(sparkline([0, 0, 0], height=40))} == {38}
    assert "<polyline" not in sparkline([])
    assert len(points(sparkline([7]))) == 2  # one value: a level line across


def test_the_reference_line_raises_the_scale_when_above_the_data():
    svg = sparkline([0, 60], width=100, height=40, reference=240)
    assert scale_max([0, 60], 240) == 240 and scale_max([], None) == 1
    assert points(svg)[-1][1] == 29  # 60 of 240: a quarter of the way up
    assert re.search(r'class="reference" x1="0" y1="2" x2="100" y2="2"', svg)


def test_alerts_are_red_bars_only_where_non_zero():
    svg = sparkline([10, 10, 10, 10], alerts=[0, 3, 0, 1])
    assert svg.count('class="alert"') == 2


def test_labels_are_escaped_and_no_inline_style_is_used():
    svg = sparkline([1, 2], label='<script>alert("x")</script>')
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "style=" not in svg  # presentation attributes only: the console's CSP forbids inline styles
