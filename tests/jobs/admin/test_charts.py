"""The admin's inline SVG charts."""

from __future__ import annotations

import pytest

from jobs.admin import charts

pytestmark = pytest.mark.django_db


def test_nice_ticks_cover_the_range():
    assert charts.nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    ticks = charts.nice_ticks(13.2, 47.9)
    assert ticks[0] <= 13.2 and ticks[-1] >= 47.9 and len(ticks) <= 8
    assert charts.nice_ticks(5.0, 5.0)[0] <= 5.0
    assert charts.line_chart("empty", [charts.Series("x", [], "#000")]) == ""
