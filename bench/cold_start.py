"""Cold start of each sync function, against the boto3-only floor and a FastAPI + Mangum peer.

Each sample is a fresh interpreter that imports a handler module with the layer on the path and
creates its DynamoDB client (the functions create theirs at import), timed inside the process from
before the first import, so interpreter start-up (the same for all) is left out.
Prints median, min and max over the runs, and each figure's ratio to the floor's median.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SYNC_FUNCTIONS = ["sync_tiktok", "sync_twitch", "sync_twitter", "sync_instagram", "sync_all"]

PROBE = """
import sys, time
start = time.perf_counter()
{body}
elapsed = time.perf_counter() - start
import resource
print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
FLOOR = 'import boto3\nboto3.client("dynamodb")'
HANDLER = "sys.path[:0] = [{folder!r}, {layer!r}]\nimport app"


def sample(body: str, runs: int) -> tuple[list[float], list[int]]:
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
    return seconds, memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON as well")
    args = parser.parse_args()

    cases = {"boto3 + DynamoDB client (floor)": FLOOR}
    for name in SYNC_FUNCTIONS:
        cases[f"functions/{name}"] = HANDLER.format(
            folder=str(ROOT / "functions" / name), layer=str(ROOT / "shared")
        )
    cases["FastAPI + Mangum peer"] = HANDLER.format(folder=str(ROOT / "bench" / "fastapi_peer"), layer="")

    results = {}
    for label, body in cases.items():
        sample(body, 2)  # warm the file system cache and .pyc files, as a Lambda image has them
        results[label] = sample(body, args.runs)

    floor = statistics.median(results["boto3 + DynamoDB client (floor)"][0])
    peer = statistics.median(results["FastAPI + Mangum peer"][0])
    python = sys.version.split()[0]
    print(f"Cold start: import + DynamoDB client, {args.runs} fresh processes each (Python {python})")
    columns = ("median ms", "min", "max", "x floor", "x peer", "peak RSS MB")
    print(f"{'case':40} " + " ".join(f"{column:>10}" for column in columns))
    for label, (seconds, memory) in results.items():
        median = statistics.median(seconds)
        print(
            f"{label:40} {median * 1000:10.1f} {min(seconds) * 1000:10.1f} {max(seconds) * 1000:10.1f}"
            f" {median / floor:10.2f} {median / peer:10.2f} {statistics.median(memory) / 1024:10.1f}"
        )
    if args.json:
        print(json.dumps({label: {"seconds": s, "max_rss_kb": m} for label, (s, m) in results.items()}))


if __name__ == "__main__":
    main()
