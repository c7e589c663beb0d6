"""Figures and tables: each figure is a median over repeated runs with its min and max."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` in 0..1) of `samples`."""
    ordered = sorted(samples)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Spread:
    """A figure over repeated runs: their median, min and max."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, runs: Sequence[float]) -> Spread:
        """The spread of one figure's value in each run."""
        if not runs:
            return cls(math.nan, math.nan, math.nan)
        return cls(statistics.median(runs), min(runs), max(runs))

    def show(self, digits: int = 1) -> str:
        """`median (min..max)`, or the median alone when every run gave the same value."""
        if self.low == self.high:
            return f"{self.median:.{digits}f}"
        return f"{self.median:.{digits}f} ({self.low:.{digits}f}..{self.high:.{digits}f})"


def ratio(value: float, baseline: float) -> str:
    """`value / baseline` as `1.23x`."""
    if not baseline or math.isnan(baseline) or math.isnan(value):
        return "n/a"
    return f"{value / baseline:.2f}x"


@dataclass
class Table:
    """A Markdown table with a title and notes: readable in a terminal, pasteable into the README."""

    title: str
    columns: Sequence[str]
    rows: list[Sequence[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        """Append a row; cells are shown with str()."""
        self.rows.append([str(cell) for cell in cells])

    def render(self) -> str:
        """The table as Markdown, its columns padded to line up."""
        cells = [list(self.columns), *[list(row) for row in self.rows]]
        widths = [max(len(row[index]) for row in cells) for index in range(len(self.columns))]

        def line(row: Sequence[str]) -> str:
            padded = [
                cell.ljust(width) if index == 0 else cell.rjust(width)
                for index, (cell, width) in enumerate(zip(row, widths, strict=True))
            ]
            return "| " + " | ".join(padded) + " |"

        rule = (
            "|"
            + "|".join("-" * (width + 1) + ("-" if index == 0 else ":") for index, width in enumerate(widths))
            + "|"
        )
        parts = [f"**{self.title}**", "", line(self.columns), rule, *(line(row) for row in self.rows)]
        if self.notes:
            parts += ["", *(f"- {note}" for note in self.notes)]
        return "\n".join(parts)
