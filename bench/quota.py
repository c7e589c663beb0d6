"""The shared RapidAPI quota under load: scheduled-sync containers and the HTTP routes against one vendor.

    python -m bench.quota [--seconds 30] [--containers 4]

DynamoDB Local holds the quota (the template's profiles table), as in AWS. Each "container" is a
RapidApiClient of its own with its own DynamoDB client, fetching from several threads in a loop (a
worker's profiles side by side); the HTTP routes are more threads with HTTP-caller clients, sending
as fast as they are let. One fake vendor on 127.0.0.1 serves them all and enforces the plan: a request
arriving in a wall-clock second that already had the plan's cap gets a 429.

First the scheduled sync alone (it has work, nobody else asks), then everyone at once. Reported per
phase: requests/s the vendor saw against the cap, its busiest second, seconds over the cap, 429s,
and the HTTP routes' share against the most they may take (1 - RapidApiScheduleReserve).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from bench.local import local_aws
from bench.report import Table
from localrun.dynamodb import dynamodb_client
from localrun.settings import REPO_ROOT, LocalSettings

sys.path.insert(0, str(REPO_ROOT / "shared"))
# The clients' per-request metrics (EMF lines on stdout) would drown the table.
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

from social_sync.data.quota_slots import DynamoQuotaSlots
from social_sync.deadline import Deadline
from social_sync.errors import DomainError
from social_sync.quota import RATE_HEADROOM, Caller, SharedQuota
from social_sync.rapidapi import BACKGROUND, INTERACTIVE, RapidApiClient
from social_sync.settings import Settings
from tests.fake_rapidapi import FakeRapidApi, Reply

PLAN_PER_SECOND = 50
SCHEDULE_RESERVE = 0.5
THREADS_PER_CONTAINER = 4
HTTP_THREADS = 8
TABLE = "ProfilesTable"  # the template's logical id is the table's name locally
FETCH_STATE_TABLE = "FetchStateTable"


class PlanLimitedVendor(FakeRapidApi):
    """The fake RapidAPI, enforcing the plan per wall-clock second and counting who sent what when."""

    def __init__(self, cap: int) -> None:
        super().__init__()
        self.cap = cap
        self.seconds: Counter[tuple[int, str]] = Counter()  # (second, "http" | "schedule") -> requests
        self.rejected = 0
        self._plan_lock = threading.Lock()

    def reply(self, host: str | None, path: str, query: dict[str, str], key: str | None) -> Reply:
        second = int(time.time())
        caller = "http" if any(value.startswith("http") for value in query.values()) else "schedule"
        with self._plan_lock:
            self.seconds[(second, caller)] += 1
            over = self.seconds[(second, "http")] + self.seconds[(second, "schedule")] > self.cap
            self.rejected += over
        if over:
            return Reply(
                429, b'{"message":"You have exceeded the rate limit per second"}', {"retry-after": "1"}
            )
        return super().reply(host, path, query, key)


@dataclass
class Phase:
    """What the vendor saw in one phase's whole seconds."""

    name: str
    per_second: list[int] = field(default_factory=list)
    http: list[int] = field(default_factory=list)
    rejected: int = 0
    http_refused: int = 0
    fetch_errors: Counter[str] = field(default_factory=Counter)


def client(settings: LocalSettings, url: str, caller: Caller) -> RapidApiClient:
    config = Settings(
        table_name=TABLE,
        rapidapi_key="bench-key",
        rapidapi_base_url=url,
        rapidapi_requests_per_second=PLAN_PER_SECOND,
        rapidapi_schedule_reserve=SCHEDULE_RESERVE,
    )
    quota = SharedQuota(
        DynamoQuotaSlots(dynamodb_client(settings), FETCH_STATE_TABLE),
        "rapidapi",
        requests_per_second=PLAN_PER_SECOND,
        caller=caller,
        schedule_reserve=SCHEDULE_RESERVE,
    )
    return RapidApiClient(config, policy=BACKGROUND if caller == "schedule" else INTERACTIVE, limiter=quota)


def hammer(fetcher: RapidApiClient, handle: str, budget: float, stop: threading.Event, phase: Phase) -> None:
    """Fetch in a loop until `stop`: a scheduled worker's thread, or a user of the HTTP routes."""
    while not stop.is_set():
        try:
            fetcher.fetch_account("tiktok", handle, Deadline.within(budget))
        except DomainError as error:
            if handle.startswith("http") and type(error).__name__ == "PlanExhausted":
                phase.http_refused += 1
            else:
                phase.fetch_errors[type(error).__name__] += 1


def run_phase(
    name: str,
    settings: LocalSettings,
    vendor: PlanLimitedVendor,
    url: str,
    containers: int,
    http: bool,
    seconds: float,
) -> Phase:
    phase = Phase(name)
    stop = threading.Event()
    threads = []
    for container in range(containers):
        fetcher = client(settings, url, "schedule")
        for n in range(THREADS_PER_CONTAINER):
            handle = f"sched{container}x{n}"
            vendor.alias("tiktok", handle, "charlidamelio")
            threads.append(threading.Thread(target=hammer, args=(fetcher, handle, 60.0, stop, phase)))
    if http:
        # The HTTP routes: each user request its own short-lived deadline, several containers of them.
        for n in range(HTTP_THREADS):
            fetcher = client(settings, url, "http")
            handle = f"http{n}"
            vendor.alias("tiktok", handle, "charlidamelio")
            threads.append(threading.Thread(target=hammer, args=(fetcher, handle, 8.0, stop, phase)))
    rejected_before = vendor.rejected
    started = time.time()
    for thread in threads:
        thread.start()
    time.sleep(seconds)  # the phase's length: the threads run until told to stop
    stop.set()
    for thread in threads:
        thread.join()
    # Whole seconds only, skipping the first (threads starting) and the last (threads stopping).
    for second in range(int(started) + 1, int(started + seconds)):
        phase.per_second.append(vendor.seconds[(second, "http")] + vendor.seconds[(second, "schedule")])
        phase.http.append(vendor.seconds[(second, "http")])
    phase.rejected = vendor.rejected - rejected_before
    return phase


def measure(seconds: float, containers: int) -> list[Phase]:
    """The schedule alone for a third of `seconds`, then everyone for `seconds`."""
    vendor = PlanLimitedVendor(PLAN_PER_SECOND)
    with local_aws() as settings, vendor.serve() as url:
        alone = run_phase(
            "scheduled sync alone", settings, vendor, url, containers, False, max(6.0, seconds / 3)
        )
        together = run_phase("scheduled sync + HTTP routes", settings, vendor, url, containers, True, seconds)
    return [alone, together]


def table(phases: list[Phase], seconds: float, containers: int) -> Table:
    """The phases as one table."""
    report = Table(
        f"Shared RapidAPI quota: {containers} worker containers x {THREADS_PER_CONTAINER} threads and "
        f"{HTTP_THREADS} HTTP-route threads, one vendor capped at {PLAN_PER_SECOND}/s, {seconds:.0f} s",
        (
            "phase",
            "requests/s (% of cap)",
            "busiest second",
            "seconds over cap",
            "vendor 429s",
            "HTTP requests/s (most allowed)",
            "HTTP refused (429)",
            "other errors",
        ),
    )
    http_most = PLAN_PER_SECOND * RATE_HEADROOM * (1 - SCHEDULE_RESERVE)
    for phase in phases:
        mean = statistics.mean(phase.per_second) if phase.per_second else 0.0
        http_mean = statistics.mean(phase.http) if phase.http else 0.0
        report.add(
            phase.name,
            f"{mean:.1f} ({100 * mean / PLAN_PER_SECOND:.1f}%)",
            max(phase.per_second, default=0),
            sum(1 for count in phase.per_second if count > PLAN_PER_SECOND),
            phase.rejected,
            f"{http_mean:.1f} ({http_most:.1f})",
            phase.http_refused,
            sum(phase.fetch_errors.values()),
        )
    report.notes += [
        "Counted by the vendor per wall-clock second, whole seconds only; the quota lives in DynamoDB Local.",
        f"The plan is paced at {RATE_HEADROOM:.0%} of the cap; the HTTP routes may use "
        f"{1 - SCHEDULE_RESERVE:.0%} of that (RapidApiScheduleReserve={SCHEDULE_RESERVE}), "
        "the schedule the rest.",
        "HTTP refused: requests that could not get a slot within their deadline (429 with Retry-After).",
    ]
    return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--containers", type=int, default=4)
    args = parser.parse_args()
    print(table(measure(args.seconds, args.containers), args.seconds, args.containers).render())


if __name__ == "__main__":
    main()
