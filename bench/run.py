"""`make bench`: every benchmark, one table each, printed as Markdown. It never fails on a number.

    python -m bench.run [--quick] [--only cold,warm,load,quota,bomb]

- cold: cold start of each sync function vs the boto3-only floor and a FastAPI + Mangum peer
  (bench.cold_start)
- warm: one sync inside the handler against DynamoDB Local, its AWS calls and capacity units (bench.warm)
- load: the local API under many parallel users, and a consistency check afterwards (bench.load)
- memory: peak RSS of a handler process, cold and after the warm run, vs the floor
- quota: worker containers and the HTTP routes sharing one RapidAPI plan through DynamoDB (bench.quota)
- bomb: peak memory of a fetch, an ordinary answer against a gzip bomb (bench.bomb)
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

from bench import bomb, cold_start, load, quota, warm
from bench.report import Spread, Table, ratio

KINDS = ("cold", "warm", "load", "quota", "bomb")


def memory_table(
    cold: dict[str, cold_start.Samples] | None,
    warm_runs: dict[str, list[warm.RunResult]] | None,
    requests: int,
) -> Table:
    """Peak RSS of a handler process when it has just started and after `requests` syncs, vs the floor."""
    report = Table("Peak memory of a handler process (RSS)", ("process", "MiB: median (min..max)", "x floor"))
    if cold is not None:
        floor = Spread.of([kib / 1024 for kib in cold[cold_start.FLOOR_LABEL].max_rss_kib])
        for label in (cold_start.FLOOR_LABEL, "functions/sync_tiktok", cold_start.PEER_LABEL):
            spread = Spread.of([kib / 1024 for kib in cold[label].max_rss_kib])
            report.add(f"cold: {label}", spread.show(), ratio(spread.median, floor.median))
    if warm_runs is not None:
        floor = Spread.of([r.max_rss_kib / 1024 for r in warm_runs["floor"]])
        handler = Spread.of([r.max_rss_kib / 1024 for r in warm_runs["handler"]])
        report.add(
            f"warm, after {requests} syncs: boto3 alone (floor)",
            floor.show(),
            ratio(floor.median, floor.median),
        )
        report.add(
            f"warm, after {requests} syncs: sync_tiktok handler",
            handler.show(),
            ratio(handler.median, floor.median),
        )
    report.notes.append("VmHWM of the process; the Lambda functions are given 512 MB (template Globals).")
    return report


def main() -> None:
    """Run the chosen benchmarks and print their tables."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer runs and requests: a smoke check of the bench"
    )
    parser.add_argument("--only", default=",".join(KINDS), help="comma-separated: " + ", ".join(KINDS))
    args = parser.parse_args()
    kinds = {kind.strip() for kind in args.only.split(",") if kind.strip()}
    unknown = kinds - set(KINDS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}; choose from {', '.join(KINDS)}")
    cold_runs, warm_runs, requests = (3, 2, 200) if args.quick else (15, 3, 1000)
    load_runs, users, seconds = (1, 8, 3.0) if args.quick else (3, 32, 10.0)

    started = time.monotonic()
    print(
        f"Social Sync benchmarks, {time.strftime('%Y-%m-%d')}: Python {platform.python_version()} on "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores\n",
        flush=True,
    )
    cold = warm_results = None
    if "cold" in kinds:
        cold = cold_start.measure(cold_runs)
        print(cold_start.table(cold, cold_runs).render(), end="\n\n", flush=True)
    if "warm" in kinds:
        warm_results = warm.measure(warm_runs, requests)
        for table in warm.tables(warm_results, requests):
            print(table.render(), end="\n\n", flush=True)
    if "load" in kinds:
        print(
            load.table(load.measure(load_runs, users, seconds), users, seconds).render(),
            end="\n\n",
            flush=True,
        )
    if cold is not None or warm_results is not None:
        print(memory_table(cold, warm_results, requests).render(), end="\n\n")
    if "quota" in kinds:
        quota_seconds, containers = (8.0, 2) if args.quick else (30.0, 4)
        phases = quota.measure(quota_seconds, containers)
        print(quota.table(phases, quota_seconds, containers).render(), end="\n\n", flush=True)
    if "bomb" in kinds:
        bomb_runs = 1 if args.quick else 3
        print(bomb.table(bomb.measure(bomb_runs), bomb_runs).render(), end="\n\n", flush=True)
    print(f"({time.monotonic() - started:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
