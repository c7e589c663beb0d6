"""One vendor quota for every container and route: the plan's rate, shared through DynamoDB.

Every request to a vendor (e.g. "rapidapi"; another vendor is another name) takes a start slot from
the vendor's one sequence, paced at RATE_HEADROOM of the plan's requests per second, so however many
containers fetch at once the vendor never sees more than its plan. The HTTP routes also take a slot
from a sequence of their own paced at (1 - schedule_reserve) of that rate: they can never use the
share kept for the scheduled sync, while the scheduled sync uses all that the routes leave.
Nobody waits past their deadline: a slot that would come later is not taken (QuotaExhausted).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Literal, Protocol

from social_sync.deadline import Deadline
from social_sync.errors import QuotaExhausted

Caller = Literal["http", "schedule"]
# Requests leave evenly spaced but arrive with network jitter, and vendors count them as they arrive.
RATE_HEADROOM = 0.98


class SlotStore(Protocol):
    """Where the sequences live (social_sync.quota_store.DynamoQuotaStore)."""

    def take_slot(self, name: str, now: float, interval: float, latest: float) -> float | None: ...

    def hold_off(self, name: str, until: float) -> None: ...


class SharedQuota:
    """A vendor's plan as one budget, drawn on by `caller` (the HTTP routes or the scheduled sync)."""

    def __init__(
        self,
        store: SlotStore,
        vendor: str,
        *,
        requests_per_second: float,
        caller: Caller,
        schedule_reserve: float,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._vendor = vendor
        self._interval = 1.0 / (requests_per_second * RATE_HEADROOM)
        self._caller = caller
        self._http_share = 1.0 - schedule_reserve
        self._clock = clock
        self._sleep = sleep

    def wait(self, deadline: Deadline) -> None:
        """Block until this caller may start a request; QuotaExhausted if it could not start by `deadline`."""
        if self._caller == "http":
            if self._http_share <= 0:
                raise QuotaExhausted(self._vendor, math.ceil(self._interval))
            self._take(f"{self._vendor}#http", self._interval / self._http_share, deadline)
        self._take(self._vendor, self._interval, deadline)

    def hold_off(self, seconds: float) -> None:
        """Start no request to this vendor, from any container, for `seconds` (its Retry-After)."""
        self._store.hold_off(self._vendor, self._clock() + seconds)

    def _take(self, name: str, interval: float, deadline: Deadline) -> None:
        now = self._clock()
        slot = self._store.take_slot(name, now, interval, latest=now + deadline.remaining())
        if slot is None:
            raise QuotaExhausted(self._vendor, max(1, math.ceil(interval)))
        if slot > now:
            self._sleep(slot - now)
