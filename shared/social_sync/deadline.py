"""One deadline for a whole piece of outbound work (connect, headers, body, retries, waits).

Kept apart from the HTTP client so the HTTP edge can make one from the Lambda context without
importing httpx on a cold start that never fetches.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


class RemainingTime(Protocol):
    """The part of the Lambda context a deadline is derived from."""

    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True)
class Deadline:
    """A moment on a monotonic clock after which no outbound work may go on."""

    at: float
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)

    @classmethod
    def within(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        """The deadline `seconds` from now."""
        return cls(clock() + max(0.0, seconds), clock)

    @classmethod
    def before_timeout(cls, context: RemainingTime, margin_seconds: float) -> Deadline:
        """`margin_seconds` before the function's own timeout: the time it keeps to answer."""
        return cls.within(context.get_remaining_time_in_millis() / 1000 - margin_seconds)

    def remaining(self) -> float:
        """Seconds left, 0 once passed."""
        return max(0.0, self.at - self.clock())

    def sooner(self, seconds: float) -> Deadline:
        """This deadline or the one `seconds` from now, whichever comes first."""
        return Deadline(min(self.at, self.clock() + seconds), self.clock)
