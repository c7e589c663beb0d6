"""Warm cost of one sync inside the handler, what it spends in DynamoDB, and the warm process's memory.

Each run is a fresh process (a Lambda container) that loads SyncTikTokFunction's handler the way
`make invoke` does (the template's environment, the layer on the path), warms up, then calls it
with the HTTP API events of `--requests` syncs (rotating over 100 users, new numbers each time)
against DynamoDB Local, timing each call. Afterwards it counts, over a few more syncs, the AWS
calls one sync makes and the capacity units DynamoDB reports for them: the bench alone adds
ReturnConsumedCapacity=TOTAL, through botocore's event hooks on every session, so the layer is
measured as it is. Its peak RSS is read at the end.

The baseline is the floor: the same DynamoDB and EventBridge calls made with boto3 alone, items
of the same shape, in a process of its own.

    python -m bench.warm [--runs 3] [--requests 1000]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.report import Spread, Table, percentile, ratio

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import PutTypeDef

FUNCTION = "SyncTikTokFunction"
PLATFORM = "tiktok"
USERS = 100
WARMUP = 50
COUNTED = 20


@dataclass(frozen=True)
class RunResult:
    """One process's figures."""

    latencies_ms: list[float]
    calls: dict[str, float]  # "service.Operation" -> calls per sync
    http_attempts: float  # per sync, retries included
    capacity_units: float  # DynamoDB capacity units per sync
    max_rss_kib: int

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_ms, 0.99)


class CallMeter:
    """Counts AWS calls, HTTP attempts and DynamoDB capacity through botocore's event hooks.

    Installed as a botocore session initializer before any session exists, so every session gets
    it: the layer's own botocore session and boto3's alike. It only counts (and asks for capacity)
    while `on`.
    """

    def __init__(self) -> None:
        self.on = False
        self.calls: Counter[str] = Counter()
        self.attempts = 0
        self.capacity = 0.0

    def install(self) -> None:
        """Have every botocore session made from now on register the hooks."""
        import botocore

        botocore.register_initializer(self._hook)

    def _hook(self, session: Any) -> None:
        session.register("provide-client-params.dynamodb", self._ask_for_capacity)
        session.register("before-send", self._count_attempt)
        session.register("after-call", self._count_call)

    def _ask_for_capacity(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self.on and "ReturnConsumedCapacity" in model.input_shape.members:
            params["ReturnConsumedCapacity"] = "TOTAL"

    def _count_attempt(self, **_: Any) -> None:
        if self.on:
            self.attempts += 1

    def _count_call(self, parsed: dict[str, Any], model: Any, event_name: str, **_: Any) -> None:
        if not self.on:
            return
        service = event_name.split(".")[1]
        self.calls[f"{service}.{model.name}"] += 1
        consumed = parsed.get("ConsumedCapacity") or []
        for entry in consumed if isinstance(consumed, list) else [consumed]:
            self.capacity += float(entry.get("CapacityUnits", 0))


# --- inside the measured process ------------------------------------------------------------------------


def peak_rss_kib() -> int:
    """This process's peak resident memory (VmHWM), KiB.

    Not ru_maxrss: Linux carries the parent's high-water mark across the fork and exec that started
    this process, so a small child of a big parent would report the parent's size.
    """
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


@dataclass(frozen=True)
class _Context:
    """The Lambda context attributes the handler reads (localrun's own would import the template reader)."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def _handler_syncs(requests: int, run_id: str) -> tuple[Any, list[float]]:
    """Load the function's handler as Lambda does and time `requests` syncs; returns the sync callable too.

    Only the layer, the handler and localrun.events (to build the events) are imported here, so
    the process's memory is the handler's.
    """
    from localrun.events import HttpRequest, build_http_api_event

    setup = json.loads(os.environ["BENCH_FUNCTION"])
    sys.path[:0] = setup["layer_dirs"]
    spec = importlib.util.spec_from_file_location("bench_function", setup["handler_file"])
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {setup['handler_file']}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_function"] = module
    spec.loader.exec_module(module)
    handler = getattr(module, setup["handler_name"])

    def sync(index: int) -> float:
        user = f"bench-{run_id}-{index % USERS}"
        body = json.dumps({"followers": 1000 + index, "engagement": round(index % 1000 / 10, 1)}).encode()
        request = HttpRequest(
            "POST", setup["path"], "", [("content-type", "application/json")], body, "127.0.0.1"
        )
        event = build_http_api_event(request, setup["route_key"], claims={"sub": user}, port=setup["port"])
        context = _Context(setup["function_name"], setup["memory_mb"], setup["arn"])
        started = time.perf_counter()
        result = handler(event, context)
        elapsed = time.perf_counter() - started
        if result.get("statusCode") != 200:
            raise RuntimeError(f"sync answered {result.get('statusCode')}: {result.get('body')}")
        return elapsed * 1000

    for index in range(WARMUP):
        sync(index)
    return sync, [sync(WARMUP + index) for index in range(requests)]


def _floor_syncs(requests: int, run_id: str) -> tuple[Any, list[float]]:
    """The same AWS calls a sync makes, with boto3 alone: GetItem, TransactWriteItems, PutEvents."""
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
    dynamodb = boto3.client("dynamodb", config=config)
    events = boto3.client("events", config=config)
    table, bus = os.environ["TABLE_NAME"], os.environ["EVENT_BUS_NAME"]
    versions: Counter[str] = Counter()

    def sync(index: int) -> float:
        user = f"floor-{run_id}-{index % USERS}"
        key = {"pk": {"S": f"USER#{user}"}, "sk": {"S": "PROFILE"}}
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        followers, engagement = str(1000 + index), str(round(index % 1000 / 10, 1))
        started = time.perf_counter()
        dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)
        version = versions[user]
        stats = {
            "platformBreakdown": {
                "M": {
                    PLATFORM: {
                        "M": {
                            "followers": {"N": followers},
                            "engagement": {"N": engagement},
                            "lastSyncedAt": {"S": now},
                            "source": {"S": "client"},
                        }
                    }
                }
            },
            "totalFollowers": {"N": followers},
            "avgEngagement": {"N": engagement},
        }
        profile: dict[str, Any] = {
            **key,
            "userId": {"S": user},
            "stats": {"M": stats},
            "createdAt": {"S": now},
            "updatedAt": {"S": now},
            "version": {"N": str(version + 1)},
        }
        put: PutTypeDef = {"TableName": table, "Item": profile}
        if version:
            put["ConditionExpression"] = "version = :expected"
            put["ExpressionAttributeValues"] = {":expected": {"N": str(version)}}
        else:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        history = {
            "pk": key["pk"],
            "sk": {"S": f"HISTORY#{PLATFORM}#{now}#{version + 1:012d}"},
            "historyAt": {"S": f"{now}#{PLATFORM}#{version + 1:012d}"},
            "expiresAt": {"N": str(int(time.time()) + 400 * 86400)},
            "platform": {"S": PLATFORM},
            "followers": {"N": followers},
            "engagement": {"N": engagement},
            "source": {"S": "client"},
            "trigger": {"S": "user"},
            "syncedAt": {"S": now},
        }
        dynamodb.transact_write_items(
            TransactItems=[{"Put": put}, {"Put": {"TableName": table, "Item": history}}]
        )
        detail = {"userId": user, "platforms": [PLATFORM], "totalFollowers": int(followers), "syncedAt": now}
        events.put_events(
            Entries=[
                {
                    "EventBusName": bus,
                    "Source": "social-sync",
                    "DetailType": "ProfileStatsSynced",
                    "Detail": json.dumps(detail),
                }
            ]
        )
        elapsed = time.perf_counter() - started
        versions[user] = version + 1
        return elapsed * 1000

    for index in range(WARMUP):
        sync(index)
    return sync, [sync(WARMUP + index) for index in range(requests)]


def child_main(kind: str, requests: int, output: Path) -> None:
    """The measured process: time the syncs, count one sync's calls, report peak RSS as JSON in `output`."""
    meter = CallMeter()
    meter.install()
    run_id = f"{os.getpid()}-{time.time_ns()}"
    sync, latencies = (_handler_syncs if kind == "handler" else _floor_syncs)(requests, run_id)
    meter.on = True
    for index in range(COUNTED):
        sync(WARMUP + requests + index)
    meter.on = False
    result = {
        "latencies_ms": latencies,
        "calls": {name: count / COUNTED for name, count in sorted(meter.calls.items())},
        "http_attempts": meter.attempts / COUNTED,
        "capacity_units": meter.capacity / COUNTED,
        "max_rss_kib": peak_rss_kib(),
    }
    output.write_text(json.dumps(result))


# --- the parent: start the local AWS, run the processes, print ------------------------------------------


def measure(runs: int, requests: int) -> dict[str, list[RunResult]]:
    """`runs` processes of each kind, alternating, against one DynamoDB Local."""
    # Only the parent reads the template and runs the local AWS; the measured processes stay lean.
    from bench.local import environment_of, local_aws
    from localrun.parameters import template_resolver
    from localrun.runtime import AWS_VARIABLES_TO_DROP, new_context
    from localrun.template import SamTemplate

    results: dict[str, list[RunResult]] = {"handler": [], "floor": []}
    with local_aws() as settings, tempfile.TemporaryDirectory() as scratch:
        template = SamTemplate(settings.template_path)
        function = template.functions()[FUNCTION]
        routes = template.routes(template_resolver(template, settings))
        [route] = [route for route in routes if route.function_id == FUNCTION]
        setup = {
            "handler_file": str(function.handler_file),
            "handler_name": function.handler_name,
            "layer_dirs": [str(layer) for layer in function.layer_dirs],
            "path": route.path,
            "route_key": route.route_key,
            "port": settings.port,
            "function_name": FUNCTION,
            "memory_mb": function.memory_mb,
            "arn": new_context(function, settings.region).invoked_function_arn,
        }
        inherited = {k: v for k, v in os.environ.items() if k not in AWS_VARIABLES_TO_DROP}
        environment = {
            **inherited,
            **environment_of(FUNCTION, settings, SYNC_COOLDOWN_SECONDS="0"),
            "BENCH_FUNCTION": json.dumps(setup),
        }
        for run in range(runs):
            for kind in results:
                output = Path(scratch) / f"{kind}-{run}.json"
                subprocess.run(  # noqa: S603 - our own interpreter and module
                    [
                        sys.executable,
                        "-m",
                        "bench.warm",
                        "--child",
                        kind,
                        "--requests",
                        str(requests),
                        "--output",
                        str(output),
                    ],
                    env=environment,
                    check=True,
                    stdout=subprocess.DEVNULL,  # the handler's structured logs
                    timeout=600,
                )
                results[kind].append(RunResult(**json.loads(output.read_text())))
    return results


def tables(results: dict[str, list[RunResult]], requests: int) -> tuple[Table, Table]:
    """The warm-cost table and the per-sync AWS calls table."""
    handler, floor = results["handler"], results["floor"]
    floor_median = Spread.of([r.median_ms for r in floor]).median
    floor_p99 = Spread.of([r.p99_ms for r in floor]).median
    warm = Table(
        f"Warm sync inside the handler: {requests} requests per process, {len(handler)} processes, "
        "against DynamoDB Local",
        ("case", "median ms", "x floor", "p99 ms", "x floor", "peak RSS MiB"),
    )
    for label, runs in (
        ("functions/sync_tiktok handler", handler),
        ("boto3 alone, same calls (floor)", floor),
    ):
        median = Spread.of([r.median_ms for r in runs])
        p99 = Spread.of([r.p99_ms for r in runs])
        warm.add(
            label,
            median.show(2),
            ratio(median.median, floor_median),
            p99.show(2),
            ratio(p99.median, floor_p99),
            Spread.of([r.max_rss_kib / 1024 for r in runs]).show(),
        )
    warm.notes += [
        "Each figure: median over the processes (min..max); per process, the median and p99 of its requests.",
        "A sync here is a TikTok numbers sync of one of 100 users; its ProfileStatsSynced event goes to the "
        "local AWS endpoint on 127.0.0.1.",
    ]
    calls = Table(
        f"AWS calls of one sync (averaged over {COUNTED} syncs, ReturnConsumedCapacity=TOTAL)",
        ("case", "calls", "HTTP attempts", "DynamoDB capacity units"),
    )
    for label, runs in (("functions/sync_tiktok handler", handler), ("boto3 alone (floor)", floor)):
        last = runs[-1]
        described = (
            ", ".join(f"{name} x{count:g}" for name, count in last.calls.items())
            or "n/a (no AWS client seen)"
        )
        calls.add(label, described, f"{last.http_attempts:g}", f"{last.capacity_units:g}")
    calls.notes.append(
        "Capacity as DynamoDB Local reports it: a transactional write costs twice a plain one per item; "
        "a strongly consistent read of an item up to 4 KB costs 1."
    )
    return warm, calls


def main() -> None:
    """Measure and print (or, with --child, be one measured process)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--child", choices=("handler", "floor"), help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child, args.requests, args.output)
        return
    results = measure(args.runs, args.requests)
    for table in tables(results, args.requests):
        print(table.render(), end="\n\n")


if __name__ == "__main__":
    main()
