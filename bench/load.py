"""The local API under load: many users syncing in parallel for a fixed time, then a consistency check.

`python -m localrun run` (DynamoDB Local and the local API, as `make run` starts them, the sync
cooldown off) serves `--users` clients, each a thread with its own keep-alive connection and
token, syncing its own profile (all four platforms in turn, new numbers every time) as fast as
it can for `--seconds`. Everything stays on 127.0.0.1 and every loop ends at its deadline.

Afterwards every user's profile is read back: its totals must be the functions of its breakdown
(computed here in Decimal, independently of the layer) and its history must hold exactly one
entry per accepted sync. Client and server share this machine's cores, so the figures are a
floor for what the local stack can do, not a forecast for Lambda.

    python -m bench.load [--runs 3] [--users 32] [--seconds 10]
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bench.local import LocalApiProcess, running_local_api
from bench.report import Spread, Table, percentile

PLATFORMS = ("tiktok", "twitch", "twitter", "instagram")
SYNC = "/api/v1/profiles/social-sync/{}"
PROFILE = "/api/v1/profiles/me"
HISTORY = "/api/v1/profiles/me/stats/history?limit=500"


@dataclass
class UserLoad:
    """One simulated user: what it sent and what came back."""

    user: str
    token: str
    latencies_ms: list[float] = field(default_factory=list)
    accepted: int = 0
    errors: int = 0


@dataclass(frozen=True)
class LoadRun:
    """One run's figures."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    users_consistent: int
    users: int


def _call(
    connection: http.client.HTTPConnection, method: str, path: str, token: str, body: Any = None
) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    connection.request(method, path, body=data, headers=headers)
    reply = connection.getresponse()
    return reply.status, reply.read()


def _drive(api: LocalApiProcess, load: UserLoad, deadline: float, index: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", api.settings.port, timeout=30)
    count = 0
    try:
        while time.monotonic() < deadline:
            platform = PLATFORMS[count % len(PLATFORMS)]
            body = {
                "followers": index * 100_000 + count,
                "engagement": round((count * 7 + index) % 1000 / 10, 1),
            }
            started = time.perf_counter()
            try:
                status, _ = _call(connection, "POST", SYNC.format(platform), load.token, body)
            except (OSError, http.client.HTTPException):
                status = 0
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", api.settings.port, timeout=30)
            load.latencies_ms.append((time.perf_counter() - started) * 1000)
            if status == 200:
                load.accepted += 1
            else:
                load.errors += 1
            count += 1
    finally:
        connection.close()


def expected_average(breakdown: dict[str, Any]) -> Decimal:
    """The contract's follower-weighted avgEngagement, in Decimal, rounded half-up to 2 places."""
    known = [entry for entry in breakdown.values() if "engagement" in entry]
    weight = sum((Decimal(entry.get("followers", 0)) for entry in known), Decimal(0))
    if not known:
        return Decimal("0.00")
    if weight == 0:
        value = sum((Decimal(str(entry["engagement"])) for entry in known), Decimal(0)) / len(known)
    else:
        value = (
            sum(
                (Decimal(entry.get("followers", 0)) * Decimal(str(entry["engagement"])) for entry in known),
                Decimal(0),
            )
            / weight
        )
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def is_consistent(api: LocalApiProcess, load: UserLoad) -> bool:
    """Whether the user's stored totals match its breakdown and its history holds every accepted sync."""
    connection = http.client.HTTPConnection("127.0.0.1", api.settings.port, timeout=30)
    try:
        status, body = _call(connection, "GET", PROFILE, load.token)
        if status != 200:
            return load.accepted == 0
        stats = json.loads(body, parse_float=Decimal)["profile"]["stats"]
        breakdown = stats["platformBreakdown"]
        totals_right = stats["totalFollowers"] == sum(
            entry.get("followers", 0) for entry in breakdown.values()
        )
        average_right = Decimal(stats["avgEngagement"]) == expected_average(breakdown)
        entries, path = 0, HISTORY
        for _ in range(1000):  # pages; bounded
            status, body = _call(connection, "GET", path, load.token)
            page = json.loads(body)
            entries += len(page["history"])
            if "nextCursor" not in page:
                break
            path = f"{HISTORY}&cursor={page['nextCursor']}"
        return totals_right and average_right and entries == load.accepted
    finally:
        connection.close()


def run_once(api: LocalApiProcess, users: int, seconds: float) -> LoadRun:
    """`users` threads syncing for `seconds`, then every user checked."""
    batch = uuid.uuid4().hex[:8]
    loads = [UserLoad(f"load-{batch}-{index}", api.token(f"load-{batch}-{index}")) for index in range(users)]
    started = time.monotonic()
    deadline = started + seconds
    threads = [
        threading.Thread(target=_drive, args=(api, load, deadline, index), daemon=True)
        for index, load in enumerate(loads)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    elapsed = time.monotonic() - started
    latencies = [latency for load in loads for latency in load.latencies_ms]
    return LoadRun(
        requests_per_second=len(latencies) / elapsed,
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
        errors=sum(load.errors for load in loads),
        requests=len(latencies),
        users_consistent=sum(is_consistent(api, load) for load in loads),
        users=users,
    )


def measure(runs: int, users: int, seconds: float) -> list[LoadRun]:
    """`runs` runs against one local stack, each with new users; a short unmeasured warm-up first."""
    with running_local_api(SYNC_COOLDOWN_SECONDS="0") as api:
        run_once(api, users=4, seconds=1)  # every function loaded, every connection pool warm
        return [run_once(api, users, seconds) for _ in range(runs)]


def table(results: list[LoadRun], users: int, seconds: float) -> Table:
    """The load table: throughput, latency, errors, and the consistency check."""
    report = Table(
        f"Local API under load: {users} users syncing in parallel for {seconds:g} s, {len(results)} runs",
        ("figure", "median (min..max)"),
    )
    report.add("requests/s", Spread.of([r.requests_per_second for r in results]).show(0))
    report.add("p50 latency ms", Spread.of([r.p50_ms for r in results]).show(1))
    report.add("p99 latency ms", Spread.of([r.p99_ms for r in results]).show(1))
    report.add("errors (non-200 or no answer)", Spread.of([float(r.errors) for r in results]).show(0))
    report.add("requests per run", Spread.of([float(r.requests) for r in results]).show(0))
    consistent = sum(r.users_consistent for r in results)
    total = sum(r.users for r in results)
    report.add("users whose totals = f(breakdown) and history = accepted syncs", f"{consistent} of {total}")
    report.notes.append(
        "One `python -m localrun run` on 127.0.0.1 (a threaded HTTP server in one Python process) and the "
        "clients share the machine's cores."
    )
    return report


def main() -> None:
    """Measure and print the load table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    print(table(measure(args.runs, args.users, args.seconds), args.users, args.seconds).render())


if __name__ == "__main__":
    main()
