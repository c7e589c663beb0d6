"""What the benchmarks run against, on this machine only: DynamoDB Local, the local AWS endpoint, the API.

All of it is localrun, the code `make run` uses: DynamoDB Local with the template's tables, the
local API's stand-in for AWS services other than DynamoDB (it accepts EventBridge PutEvents), so
a handler does everything it does in Lambda without leaving 127.0.0.1, and `python -m localrun
run` itself for the load test.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from localrun import aws_services
from localrun.dynamodb import DynamoDBLocal, dynamodb_client, ensure_tables
from localrun.issuer import LocalIssuer
from localrun.parameters import template_resolver
from localrun.runtime import function_environment
from localrun.server import LocalApi, serve
from localrun.settings import LOCAL_AUDIENCE, REPO_ROOT, LocalSettings, load_settings
from localrun.template import SamTemplate


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def local_aws() -> Iterator[LocalSettings]:
    """DynamoDB Local with the template's tables and the local AWS endpoint, in a throwaway folder.

    Yields settings whose `dynamodb_endpoint` and `api_url` (the AWS endpoint) are live.
    """
    state_dir = Path(tempfile.mkdtemp(prefix="social-sync-bench-"))
    settings = load_settings(port=free_port(), dynamodb_port=free_port(), state_dir=state_dir)
    dynamodb = DynamoDBLocal(settings)
    dynamodb.start()
    try:
        template = SamTemplate(settings.template_path)
        tables = template.tables(template_resolver(template, settings))
        ensure_tables(dynamodb_client(settings), tables, log=lambda line: None)
        with _aws_endpoint(settings):
            yield settings
    finally:
        dynamodb.stop()
        shutil.rmtree(state_dir, ignore_errors=True)


@contextmanager
def _aws_endpoint(settings: LocalSettings) -> Iterator[None]:
    # The local API with no routes: only its /__aws endpoint (EventBridge PutEvents) is used.
    issuer = LocalIssuer.load_or_create(settings.issuer_dir, settings.issuer_url, LOCAL_AUDIENCE)
    api = LocalApi(
        [],
        {},
        {},
        {},
        issuer,
        None,
        settings.region,
        settings.port,
        log=lambda line: None,
        aws_access_key_id=aws_services.local_access_key_id(settings.state_dir),
    )
    server = serve(api, settings.port)
    thread = threading.Thread(target=server.serve_forever, name="local-aws", daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def environment_of(function_id: str, settings: LocalSettings, **overrides: str) -> dict[str, str]:
    """The environment `function_id` gets locally (the template's variables), plus `overrides`."""
    template = SamTemplate(settings.template_path)
    function = template.functions()[function_id]
    variables = template_resolver(template, settings).environment(function)
    return {**function_environment(variables, settings), **overrides}


@dataclass
class LocalApiProcess:
    """A running `python -m localrun run` (DynamoDB Local and the local API), as `make run` starts it."""

    settings: LocalSettings
    process: subprocess.Popen[bytes]

    def token(self, sub: str) -> str:
        """A bearer token the local API accepts for `sub`."""
        issuer = LocalIssuer.load_or_create(
            self.settings.issuer_dir, self.settings.issuer_url, LOCAL_AUDIENCE
        )
        return issuer.mint(sub, 3600)


@contextmanager
def running_local_api(**environment: str) -> Iterator[LocalApiProcess]:
    """`python -m localrun run` on free ports in a throwaway folder, with `environment`; stopped by Ctrl-C."""
    state_dir = Path(tempfile.mkdtemp(prefix="social-sync-bench-"))
    settings = load_settings(port=free_port(), dynamodb_port=free_port(), state_dir=state_dir)
    # The developer's AWS and RapidAPI settings never reach the stack; the template's values rule.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RAPIDAPI_"))} | environment
    command = [
        sys.executable, "-m", "localrun",
        "--port", str(settings.port), "--dynamodb-port", str(settings.dynamodb_port),
        "--state-dir", str(state_dir), "run",
    ]  # fmt: skip
    with (state_dir / "localrun.log").open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own command
            command, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    running = LocalApiProcess(settings, process)
    try:
        ready = f"{settings.issuer_url}/.well-known/openid-configuration"
        deadline = time.monotonic() + 120
        while not _answers(ready):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the local stack did not start; see {state_dir / 'localrun.log'}")
            time.sleep(0.2)  # polling interval while it starts, bounded by the deadline
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(state_dir, ignore_errors=True)


def _answers(url: str) -> bool:
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=2) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False
