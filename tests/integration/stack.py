"""Start and stop the real local stack (`python -m localrun run`) and talk to it over HTTP.

Used by the integration tests' fixtures. Everything stays on 127.0.0.1: ports are
free ones picked at start, data lives in a temporary folder, and proxies are ignored.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localrun.dynamodb import DynamoDBLocal
from localrun.issuer import LocalIssuer
from localrun.settings import API_PARAMETER_VARIABLES, ISSUER_PATH, LOCAL_AUDIENCE, REPO_ROOT, load_settings
from localrun.template import SamTemplate

START_TIMEOUT_SECONDS = 120
STOP_TIMEOUT_SECONDS = 30

# No proxy, ever: a proxy from the environment would take test traffic off this machine.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Reply:
    """An HTTP response, whatever its status."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class LocalStack:
    """A running `python -m localrun run`, its ports, its folder and its issuer."""

    port: int
    dynamodb_port: int
    state_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    _issuer: LocalIssuer | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> LocalIssuer:
        """The stack's own issuer (same key file, same issuer URL), to mint tokens it accepts."""
        if self._issuer is None:
            self._issuer = LocalIssuer.load_or_create(
                self.state_dir / "issuer", f"{self.url}{ISSUER_PATH}", LOCAL_AUDIENCE
            )
        return self._issuer

    def token(self, sub: str, **claims: Any) -> str:
        """A valid token for `sub` (claims override the defaults)."""
        return self.issuer.mint(sub, **claims)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw_body: bytes | None = None,
    ) -> Reply:
        """Send one request; `body` is sent as JSON, `raw_body` as it is."""
        data = raw_body if raw_body is not None else None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)  # noqa: S310
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        return send(request)

    def log(self) -> str:
        """What the stack printed so far (to explain a failure)."""
        return self.log_path.read_text(errors="replace")


def send(request: urllib.request.Request, timeout: float = 60) -> Reply:
    """Send `request`, returning error statuses as replies instead of raising."""
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return Reply(
                response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
            )
    except urllib.error.HTTPError as error:
        return Reply(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_is_open(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:port."""
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def stack_environment(overrides: dict[str, str]) -> dict[str, str]:
    """This process's environment without the functions' own variables or AWS settings, plus `overrides`.

    The functions' variables come from template.yaml unless a test overrides them on purpose;
    a value some other test left in os.environ must not leak into the stack.
    """
    template = SamTemplate(REPO_ROOT / "template.yaml")
    function_variables = {name for spec in template.functions().values() for name in spec.variables}
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in function_variables
        and not name.startswith(
            ("AWS_", "RAPIDAPI_", "YOUTUBE_")
        )  # a developer's real key never reaches a test
        and name not in ("PORT", "DYNAMODB_PORT", "JWT_SECRET", *API_PARAMETER_VARIABLES.values())
    }
    environment.update(overrides)
    return environment


def start_stack(
    state_dir: Path,
    environment: dict[str, str] | None = None,
    dynamodb_port: int | None = None,
    name: str = "stack",
    port: int | None = None,
) -> LocalStack:
    """Start `python -m localrun run` and return once its API answers (or fail with its log)."""
    port = port or free_port()
    dynamodb_port = dynamodb_port or free_port()
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / f"{name}-{port}.log"
    command = [
        sys.executable, "-m", "localrun",
        "--port", str(port), "--dynamodb-port", str(dynamodb_port), "--state-dir", str(state_dir),
        "run",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own command
            command,
            cwd=REPO_ROOT,
            env=stack_environment(environment or {}),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack = LocalStack(port, dynamodb_port, state_dir, process, log_path)
    ready_url = f"{stack.url}{ISSUER_PATH}/.well-known/openid-configuration"
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the local stack exited with {process.returncode}:\n{stack.log()}")
        try:
            if send(urllib.request.Request(ready_url), timeout=2).status == 200:  # noqa: S310
                return stack
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop_stack(stack)
            raise RuntimeError(f"the local stack did not answer in {START_TIMEOUT_SECONDS}s:\n{stack.log()}")
        time.sleep(0.2)  # polling interval while it starts, bounded by the deadline


def stop_stack(stack: LocalStack) -> int:
    """Stop the stack the way Ctrl-C does and return its exit status."""
    if stack.process.poll() is None:
        stack.process.send_signal(signal.SIGINT)
        try:
            stack.process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            stack.process.kill()
            stack.process.wait()
    return stack.process.returncode


def start_dynamodb_local(state_dir: Path, port: int | None = None) -> DynamoDBLocal:
    """DynamoDB Local on its own, data in `state_dir`/dynamodb, to be stopped and started under a running API.

    A stack started with `dynamodb_port=` this one's port uses it and leaves it running when it
    stops; `stop()` then `start()` brings it back on the same port with the same data.
    """
    settings = load_settings(port=free_port(), dynamodb_port=port or free_port(), state_dir=state_dir)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    server = DynamoDBLocal(settings)
    server.start()
    return server
