"""Cold start of each sync function, against the boto3-only floor and a FastAPI + Mangum peer.

Each sample is a fresh interpreter that imports a handler module with the layer on the path and
creates its DynamoDB client (the functions create theirs at import), timed inside the process from
before the first import, so interpreter start-up (the same for all) is left out.
Prints median, min and max over the runs, each figure's ratio to the floor's and the peer's
median, and the process's peak RSS.

    python -m bench.cold_start [--runs 15] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.report import Spread, Table, ratio

ROOT = Path(__file__).resolve().parent.parent
SYNC_FUNCTIONS = ["sync_tiktok", "sync_twitch", "sync_twitter", "sync_instagram", "sync_all"]
FLOOR_LABEL = "boto3 + DynamoDB client (floor)"
PEER_LABEL = "FastAPI + Mangum peer"

# Peak RSS is VmHWM, the high-water mark of this process's own memory: ru_maxrss would also count
# the parent's, which Linux carries across the fork and exec that start the probe.
PROBE = """
import sys, time
start = time.perf_counter()
{body}
elapsed = time.perf_counter() - start
with open("/proc/self/status") as status:
    peak_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(elapsed, peak_kib)
"""
FLOOR = 'import boto3\nboto3.client("dynamodb")'
HANDLER = "sys.path[:0] = [{folder!r}, {layer!r}]\nimport app"


@dataclass(frozen=True)
class Samples:
    """One case's fresh processes: seconds to import and create the client, and peak RSS in KiB."""

    seconds: list[float]
    max_rss_kib: list[int]


def sample(body: str, runs: int) -> Samples:
    """Run the probe `runs` times, each in a fresh interpreter."""
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "TABLE_NAME": "social-sync-bench",
        "IDEMPOTENCY_TABLE_NAME": "social-sync-bench-idempotency",
        "EVENT_BUS_NAME": "social-sync-bench",
        "POWERTOOLS_SERVICE_NAME": "social-sync",
        "PYTHONDONTWRITEBYTECODE": "",
    }
    seconds, memory = [], []
    for _ in range(runs):
        out = subprocess.run(  # noqa: S603 - our own interpreter and probe
            [sys.executable, "-c", PROBE.format(body=body)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        seconds.append(float(out[-2]))
        memory.append(int(out[-1]))
    return Samples(seconds, memory)


def cases() -> dict[str, str]:
    """Probe bodies by label: the floor, every sync function, the peer."""
    bodies = {FLOOR_LABEL: FLOOR}
    for name in SYNC_FUNCTIONS:
        bodies[f"functions/{name}"] = HANDLER.format(
            folder=str(ROOT / "functions" / name), layer=str(ROOT / "shared")
        )
    bodies[PEER_LABEL] = HANDLER.format(folder=str(ROOT / "bench" / "fastapi_peer"), layer="")
    return bodies


def measure(runs: int) -> dict[str, Samples]:
    """Every case, `runs` fresh processes each (after two unmeasured ones that warm the file cache).

    The cases take turns, one process each per round, so a machine that speeds up or slows
    down during the run moves every case alike and leaves the ratios alone.
    """
    bodies = cases()
    for body in bodies.values():
        sample(body, 2)  # warm the file system cache and .pyc files, as a Lambda image has them
    results = {label: Samples([], []) for label in bodies}
    for _ in range(runs):
        for label, body in bodies.items():
            one = sample(body, 1)
            results[label].seconds.extend(one.seconds)
            results[label].max_rss_kib.extend(one.max_rss_kib)
    return results


def table(results: dict[str, Samples], runs: int) -> Table:
    """The cold-start table: ms median (min..max), ratios to the floor and the peer, peak RSS."""
    floor = statistics.median(results[FLOOR_LABEL].seconds)
    peer = statistics.median(results[PEER_LABEL].seconds)
    python = sys.version.split()[0]
    report = Table(
        f"Cold start: import + DynamoDB client, {runs} fresh processes each (Python {python})",
        ("case", "ms: median (min..max)", "x floor", "x FastAPI peer", "peak RSS MiB"),
    )
    for label, samples in results.items():
        median = statistics.median(samples.seconds)
        report.add(
            label,
            Spread.of([s * 1000 for s in samples.seconds]).show(),
            ratio(median, floor),
            ratio(median, peer),
            f"{statistics.median(samples.max_rss_kib) / 1024:.1f}",
        )
    report.notes.append(
        "Target: a sync function at most 1.3x the floor and below 0.6x the FastAPI + Mangum peer."
    )
    return report


def main() -> None:
    """Measure and print the cold-start table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON as well")
    args = parser.parse_args()
    results = measure(args.runs)
    print(table(results, args.runs).render())
    if args.json:
        print(
            json.dumps(
                {label: {"seconds": s.seconds, "max_rss_kb": s.max_rss_kib} for label, s in results.items()}
            )
        )


if __name__ == "__main__":
    main()
