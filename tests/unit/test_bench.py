"""The benchmark's own arithmetic: percentiles, spreads, tables, and its independent aggregate check."""

from __future__ import annotations

import math

import pytest

from bench.load import expected_average
from bench.report import Spread, Table, percentile, ratio


def test_percentile_is_nearest_rank() -> None:
    samples = [float(n) for n in range(1, 101)]  # 1..100

    assert percentile(samples, 0.50) == 50
    assert percentile(samples, 0.99) == 99
    assert percentile(samples, 1.0) == 100
    assert percentile([7.0], 0.99) == 7
    assert math.isnan(percentile([], 0.5))


def test_a_spread_is_the_median_with_min_and_max_of_the_runs() -> None:
    spread = Spread.of([3.0, 1.0, 2.0, 10.0])

    assert (spread.median, spread.low, spread.high) == (2.5, 1.0, 10.0)
    assert spread.show(1) == "2.5 (1.0..10.0)"
    assert Spread.of([4.0, 4.0]).show(2) == "4.00"
    assert ratio(3.0, 2.0) == "1.50x"
    assert ratio(3.0, 0.0) == "n/a"


def test_a_table_renders_as_aligned_markdown() -> None:
    table = Table("Title", ("case", "ms"), notes=["a note"])
    table.add("floor", "1.0")
    table.add("handler", "12.5")

    assert table.render().splitlines() == [
        "**Title**",
        "",
        "| case    |   ms |",
        "|---------|-----:|",
        "| floor   |  1.0 |",
        "| handler | 12.5 |",
        "",
        "- a note",
    ]


@pytest.mark.parametrize(
    ("breakdown", "expected"),
    [
        # The README's captured profile: the follower-weighted mean is 65227.75 / 24025 = 2.7149...
        (
            {
                "tiktok": {"followers": 1000, "engagement": 0},
                "instagram": {"followers": 15925, "engagement": 2.91},
                "youtube": {"followers": 7100, "engagement": 2.66},
                "twitch": {"followers": 0, "engagement": 0},
            },
            "2.71",
        ),
        (
            {"tiktok": {"followers": 0, "engagement": 3.0}, "twitch": {"followers": 0, "engagement": 4.0}},
            "3.50",
        ),
        ({"tiktok": {"followers": 10}}, "0.00"),
        ({"a": {"followers": 1, "engagement": 0.005}}, "0.01"),  # half-up, not to even
    ],
)
def test_the_load_checks_aggregate_is_the_documented_weighted_average(
    breakdown: dict[str, dict[str, float]], expected: str
) -> None:
    assert str(expected_average(breakdown)) == expected
