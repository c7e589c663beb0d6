"""The profile's aggregates as pure functions of its platform breakdown.

Arithmetic is done in Decimal so that the stored numbers are exact and the same
on every run; engagement is rounded half-up to 2 decimals.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from social_sync.settings import EngagementAverage

_CENTS = Decimal("0.01")


class PlatformNumbers(Protocol):
    @property
    def followers(self) -> int | None: ...

    @property
    def engagement(self) -> float | None: ...


def _decimal(value: float) -> Decimal:
    # str() gives the shortest repr, so 2.91 becomes Decimal("2.91"), not its binary expansion.
    return Decimal(str(value))


def total_followers(breakdown: Mapping[str, PlatformNumbers]) -> int:
    """Sum of followers over the platforms; a platform with no follower count adds nothing."""
    return sum(entry.followers or 0 for entry in breakdown.values())


def follower_weighted_engagement(breakdown: Mapping[str, PlatformNumbers]) -> float:
    """Total interactions over total followers: sum(followers * engagement) / sum(followers).

    Only platforms whose engagement is known count. If they have no followers at
    all, the plain mean of their engagements; if none is known, 0.
    """
    known = [entry for entry in breakdown.values() if entry.engagement is not None]
    weight = sum(entry.followers or 0 for entry in known)
    if weight == 0:
        return mean_engagement(breakdown)
    weighted = sum(
        (
            Decimal(entry.followers or 0) * _decimal(entry.engagement)
            for entry in known
            if entry.engagement is not None
        ),
        Decimal(0),
    )
    return _round(weighted / weight)


def mean_engagement(breakdown: Mapping[str, PlatformNumbers]) -> float:
    """The original backend's plain mean of engagement over the platforms that report one (zeros included)."""
    rates = [_decimal(entry.engagement) for entry in breakdown.values() if entry.engagement is not None]
    if not rates:
        return 0.0
    return _round(sum(rates, Decimal(0)) / len(rates))


def average_engagement(breakdown: Mapping[str, PlatformNumbers], mode: EngagementAverage) -> float:
    """avgEngagement in the deployment's chosen mode."""
    if mode == "mean":
        return mean_engagement(breakdown)
    return follower_weighted_engagement(breakdown)


def _round(value: Decimal) -> float:
    return float(value.quantize(_CENTS, rounding=ROUND_HALF_UP))
