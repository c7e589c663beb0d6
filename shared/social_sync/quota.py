"""One vendor quota for every container and route: the plan's rate, shared through DynamoDB.

Every request to a vendor (e.g. "rapidapi"; another vendor is another name) takes a start slot from
the vendor's one sequence, paced at RATE_HEADROOM of the plan's requests per second, so however many
containers fetch at once the vendor never sees more than its plan. The HTTP routes also take a slot
from a sequence of their own paced at (1 - schedule_reserve) of that rate: they can never use the
share kept for the scheduled sync, while the scheduled sync uses all that the routes leave.
Nobody waits past their deadline: a slot that would come later is not taken (PlanExhausted).

A scheduled worker leases SCHEDULE_LEASE consecutive slots per write and hands them to its own
threads, so the quota costs the schedule one DynamoDB write per few requests. A slot is used on
time or not at all: one that passes unused, or whose caller wakes too late, is dropped rather than
sent late in a burst with the slots after it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from social_sync.deadline import Deadline
from social_sync.errors import PlanExhausted

if TYPE_CHECKING:
    from social_sync.protocols import SlotStore

Caller = Literal["http", "schedule"]
# Requests leave evenly spaced but arrive with network jitter, and vendors count them as they arrive.
RATE_HEADROOM = 0.98
# Slots a scheduled worker leases per write (the HTTP routes take one at a time: a person waits).
SCHEDULE_LEASE = 4


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
        self._lease = SCHEDULE_LEASE if caller == "schedule" else 1
        self._leased: deque[float] = deque()
        self._lock = threading.Lock()

    def wait(self, deadline: Deadline) -> None:
        """Block until this caller may start a request; PlanExhausted if it could not start by `deadline`.

        A caller that wakes more than one interval after its slot (a busy machine) gives the slot up
        and takes another: sent late, it would land together with the slots after it, over the plan.
        """
        while True:
            slot = self._next_slot(deadline)
            now = self._clock()
            if slot > now:
                self._sleep(slot - now)
            # Late by the time of our own wake-up, not by the store's answer time (an idle slot is "now").
            if self._clock() - max(slot, now) <= self._interval:
                return

    def _next_slot(self, deadline: Deadline) -> float:
        if self._caller == "http":
            if self._http_share <= 0:
                raise PlanExhausted(self._vendor, math.ceil(self._interval))
            now = self._clock()
            own = self._slot(f"{self._vendor}#http", self._interval / self._http_share, now, deadline)
            if own > now:
                self._sleep(own - now)
            return self._slot(self._vendor, self._interval, self._clock(), deadline)
        with self._lock:
            now = self._clock()
            while self._leased and self._leased[0] < now - self._interval:
                self._leased.popleft()  # passed unused: dropped, never sent late
            if not self._leased:
                start = self._slot(self._vendor, self._interval * self._lease, now, deadline)
                self._leased.extend(start + n * self._interval for n in range(self._lease))
            slot = self._leased.popleft()
            if slot > now + deadline.remaining():
                self._leased.appendleft(slot)  # kept for a caller who can wait for it
                raise PlanExhausted(self._vendor, max(1, math.ceil(slot - now)))
            return slot

    def hold_off(self, seconds: float) -> None:
        """Start no request to this vendor, from any container, for `seconds` (its Retry-After)."""
        with self._lock:
            self._leased.clear()  # slots leased before the vendor said to wait are not used
        self._store.hold_off(self._vendor, self._clock() + seconds)

    def _slot(self, name: str, interval: float, now: float, deadline: Deadline) -> float:
        slot = self._store.take_slot(name, now, interval, latest=now + deadline.remaining())
        if slot is None:
            raise PlanExhausted(self._vendor, max(1, math.ceil(interval)))
        return slot
