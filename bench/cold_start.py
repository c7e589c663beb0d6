"""Cold start of each sync function, against the boto3-only floor and a FastAPI + Mangum peer.

Each sample is a fresh interpreter that imports a handler module with the layer on the path and
creates its DynamoDB client (the functions create theirs at import), timed inside the process from
before the first import, so interpreter start-up (the same for all) is left out.

The layer is the one `sam build` makes (shared/Makefile), built here for this machine's Python and
platform, and no process may write bytecode: /opt and /var/task are read-only in Lambda. boto3 comes
precompiled from the environment, as the Lambda runtime has it. One more row shows the same layer
without its bytecode, as SAM's BuildMethod python3.13 would ship it, and two rows for comparison
show what the functions' own cuts would give the others: the floor without boto3's import (the
functions use botocore), and the peer initialised under container_init as the functions are. Two rows
price observability: the X-Ray SDK switched on (imported and patching botocore and httpx at init), and
the first metric a container emits, right after init.
Prints median, min and max over the runs, each figure's ratio to the floor's and the peer's
median, and the process's peak RSS.

    python -m bench.cold_start [--runs 15] [--json]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bench.report import Spread, Table, ratio
from localrun.template import SamTemplate, as_env_value

ROOT = Path(__file__).resolve().parent.parent
SYNC_FUNCTIONS = [
    "sync_tiktok",
    "sync_twitch",
    "sync_twitter",
    "sync_instagram",
    "sync_youtube",
    "sync_all",
    "social_fetch",
]
FLOOR_LABEL = "boto3 + DynamoDB client (floor)"
PEER_LABEL = "FastAPI + Mangum peer"
NO_BYTECODE_LABEL = "functions/sync_tiktok, layer without bytecode"

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
# The shared-secret authorizer runs before every uncached request: its import, and the SSM client its
# first request makes to read the secret (the floor makes its DynamoDB client at import too).
AUTHORIZER_LABEL = "functions/authorizer + SSM client"
AUTHORIZER = HANDLER + "\nfrom social_sync import aws\naws.ssm()"
# For comparison only: what the functions' own cuts would give the floor and the peer.
BOTOCORE_LABEL = "for comparison: botocore + DynamoDB client"
BOTOCORE = 'import botocore.session\nbotocore.session.get_session().create_client("dynamodb")'
PEER_PAUSED_LABEL = "for comparison: the peer, init under container_init"
# What observability costs (template parameters XRaySdkTracing and MetricsNamespace): the X-Ray SDK's
# import and patching at init where it is switched on, in an environment Powertools takes for Lambda's,
# and the first metric a container emits (on its first request, timed here right after init).
XRAY_LABEL = "functions/sync_tiktok, X-Ray SDK on (XRaySdkTracing=true)"
XRAY = (
    "import os\nos.environ.update(POWERTOOLS_TRACE_DISABLED='false', LAMBDA_TASK_ROOT={folder!r},"
    " AWS_XRAY_CONTEXT_MISSING='IGNORE_ERROR')\n" + HANDLER
)
METRIC_LABEL = "functions/sync_tiktok, then its first metric"
METRIC = HANDLER + "\nfrom social_sync import telemetry\ntelemetry.rejected(400)"
PEER_PAUSED = (
    "sys.path[:0] = [{folder!r}, {layer!r}]\nfrom social_sync.startup import container_init\n"
    "with container_init():\n    import app"
)


@dataclass(frozen=True)
class Samples:
    """One case's fresh processes: seconds to import and create the client, and peak RSS in KiB."""

    seconds: list[float]
    max_rss_kib: list[int]


@cache
def probe_environment() -> dict[str, str]:
    """The sync functions' environment from template.yaml (its literal values), with stand-ins for
    what the template takes from other resources, and no writing of bytecode (as in Lambda)."""
    variables = SamTemplate(ROOT / "template.yaml").functions()["SyncTikTokFunction"].variables
    return {
        **os.environ,
        **{name: as_env_value(value) for name, value in variables.items() if isinstance(value, str | int)},
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "TABLE_NAME": "social-sync-bench",
        "IDEMPOTENCY_TABLE_NAME": "social-sync-bench-idempotency",
        "EVENT_BUS_NAME": "social-sync-bench",
        "JWT_SECRET_PARAMETER": "/social-sync/jwt-secret",
        "FETCH_STATE_TABLE_NAME": "social-sync-bench-fetch-state",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def sample(body: str, runs: int) -> Samples:
    """Run the probe `runs` times, each in a fresh interpreter."""
    seconds, memory = [], []
    for _ in range(runs):
        out = subprocess.run(  # noqa: S603 - our own interpreter and probe
            [sys.executable, "-c", PROBE.format(body=body)],
            env=probe_environment(),
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        seconds.append(float(out[-2]))
        memory.append(int(out[-1]))
    return Samples(seconds, memory)


def build_layer(into: Path) -> Path:
    """The layer as `sam build` makes it (shared/Makefile), for this interpreter and platform."""
    make = shutil.which("make")
    if make is None:
        raise SystemExit("bench: make is needed to build the layer as `sam build` does")
    built = subprocess.run(  # noqa: S603 - our own Makefile
        [
            make,
            "--no-print-directory",
            "-C",
            str(ROOT / "shared"),
            "build-SharedLayer",
            f"ARTIFACTS_DIR={into}",
            f"LAYER_PYTHON={sys.executable}",
            "LAYER_PLATFORM=",
        ],
        capture_output=True,
        text=True,
    )
    if built.returncode != 0:
        raise SystemExit(f"bench: building the layer failed:\n{built.stdout}{built.stderr}")
    return into / "python"


def without_bytecode(layer: Path, into: Path) -> Path:
    """A copy of `layer` with its sources only."""
    shutil.copytree(layer, into, ignore=shutil.ignore_patterns("__pycache__"))
    return into


def cases(layer: Path, bare_layer: Path) -> dict[str, str]:
    """Probe bodies by label: the floor, every sync function, the authorizer, the costs of tracing and
    metrics, the layer without bytecode, the peer, and the two comparisons."""
    bodies = {FLOOR_LABEL: FLOOR}
    for name in SYNC_FUNCTIONS:
        bodies[f"functions/{name}"] = HANDLER.format(folder=str(ROOT / "functions" / name), layer=str(layer))
    bodies[AUTHORIZER_LABEL] = AUTHORIZER.format(
        folder=str(ROOT / "functions" / "authorizer"), layer=str(layer)
    )
    tiktok = str(ROOT / "functions" / "sync_tiktok")
    bodies[XRAY_LABEL] = XRAY.format(folder=tiktok, layer=str(layer))
    bodies[METRIC_LABEL] = METRIC.format(folder=tiktok, layer=str(layer))
    bodies[NO_BYTECODE_LABEL] = HANDLER.format(
        folder=str(ROOT / "functions" / "sync_tiktok"), layer=str(bare_layer)
    )
    peer = str(ROOT / "bench" / "fastapi_peer")
    bodies[PEER_LABEL] = HANDLER.format(folder=peer, layer=str(layer))
    bodies[BOTOCORE_LABEL] = BOTOCORE
    bodies[PEER_PAUSED_LABEL] = PEER_PAUSED.format(folder=peer, layer=str(layer))
    return bodies


def measure(runs: int) -> dict[str, Samples]:
    """Every case, `runs` fresh processes each (after two unmeasured ones that warm the file cache).

    The cases take turns, one process each per round, so a machine that speeds up or slows
    down during the run moves every case alike and leaves the ratios alone.
    """
    # boto3, FastAPI and the rest come precompiled, as the Lambda runtime has its packages: pip
    # compiles what it installs, but a virtualenv made without (uv, --no-compile) would not.
    compileall.compile_dir(sysconfig.get_paths()["purelib"], quiet=1, workers=0)
    with tempfile.TemporaryDirectory(prefix="social-sync-layer-") as scratch:
        layer = build_layer(Path(scratch) / "built")
        bodies = cases(layer, without_bytecode(layer, Path(scratch) / "bare"))
        for body in bodies.values():
            sample(body, 2)  # warm the file system cache, as a Lambda's image has it
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
    report.notes.append(
        "The rows for comparison are not baselines: the floor without importing boto3 (the functions"
        " use botocore) and the peer with the functions' garbage-collector pause during init."
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
