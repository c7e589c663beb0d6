"""The README's local commands: `make token`, `localrun invoke`, and `make run`'s Ctrl-C and restart."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from localrun.events import HttpRequest, build_http_api_event
from localrun.settings import REPO_ROOT
from tests.helpers import user_shell_environment
from tests.integration.stack import LocalStack, port_is_open, stack_environment, start_stack, stop_stack

PROFILE = "/api/v1/profiles/me"


def test_make_token_prints_only_a_jwt_the_local_api_accepts(stack: LocalStack, user: str) -> None:
    # When a developer asks for a token for the running stack
    result = subprocess.run(  # noqa: S603 - our own Makefile
        ["make", "token", f"SUB={user}", "TTL=120"],  # noqa: S607
        cwd=REPO_ROOT,
        env=user_shell_environment(PORT=str(stack.port), LOCALRUN_STATE_DIR=str(stack.state_dir)),
        capture_output=True,
        text=True,
        check=True,
    )

    # Then stdout is the bare JWT on its own line, and the local API takes it
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    assert lines[0].count(".") == 2
    reply = stack.request("PUT", PROFILE, {"bio": "hi"}, token=lines[0])
    assert reply.status == 200, reply.body
    assert reply.json()["profile"]["userId"] == user


def test_make_token_without_sub_explains_itself(stack: LocalStack) -> None:
    result = subprocess.run(
        ["make", "token"],  # noqa: S607
        cwd=REPO_ROOT,
        env=user_shell_environment(),
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
    assert result.stdout == ""
    assert "SUB=" in result.stderr


def localrun_invoke(
    stack: LocalStack, function_id: str, event: dict[str, Any], folder: Path
) -> subprocess.CompletedProcess[str]:
    """`python -m localrun invoke` against the stack's DynamoDB Local, as `make invoke` runs it."""
    event_file = folder / "event.json"
    event_file.write_text(json.dumps(event))
    return subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "localrun", "--dynamodb-port", str(stack.dynamodb_port),
         "--state-dir", str(stack.state_dir), "invoke", function_id, str(event_file)],
        cwd=REPO_ROOT,
        env=stack_environment({}),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )  # fmt: skip


def http_api_event(method: str, path: str, sub: str, body: Any = None) -> dict[str, Any]:
    request = HttpRequest(
        method=method,
        raw_path=path,
        raw_query="",
        headers=[("content-type", "application/json"), ("host", "127.0.0.1")],
        body=b"" if body is None else json.dumps(body).encode(),
        source_ip="127.0.0.1",
    )
    return build_http_api_event(request, f"{method} {path}", claims={"sub": sub})


def test_invoke_runs_a_handler_against_the_running_stack(
    stack: LocalStack, user: str, tmp_path: Path
) -> None:
    # Given nothing stored for the user, GetProfileFunction answers 404
    missing = localrun_invoke(stack, "GetProfileFunction", http_api_event("GET", PROFILE, user), tmp_path)
    assert missing.returncode == 0, missing.stderr
    assert json.loads(missing.stdout)["statusCode"] == 404

    # When SyncTwitchFunction is invoked with a sync event
    sync_event = http_api_event("POST", "/api/v1/profiles/social-sync/twitch", user, {"followers": 77})
    synced = localrun_invoke(stack, "SyncTwitchFunction", sync_event, tmp_path)

    # Then stdout is only the handler's result as JSON, and the write is in the stack's DynamoDB Local
    assert synced.returncode == 0, synced.stderr
    result = json.loads(synced.stdout)
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["profile"]["stats"]["totalFollowers"] == 77
    over_http = stack.request("GET", PROFILE, token=stack.token(user)).json()["profile"]
    assert over_http["stats"]["platformBreakdown"]["twitch"]["followers"] == 77


def test_invoke_names_the_functions_when_one_is_unknown(stack: LocalStack, user: str, tmp_path: Path) -> None:
    result = localrun_invoke(stack, "NoSuchFunction", http_api_event("GET", PROFILE, user), tmp_path)

    assert result.returncode == 1
    assert "GetProfileFunction" in result.stderr
    assert result.stdout == ""


def test_ctrl_c_stops_both_and_data_and_key_survive_a_restart(tmp_path: Path) -> None:
    # Given a stack of its own, with a profile in it
    first = start_stack(tmp_path)
    token = first.token("persistent-user")
    assert (
        first.request("POST", "/api/v1/profiles/social-sync/tiktok", {"followers": 9}, token=token).status
        == 200
    )

    # When it gets Ctrl-C
    assert stop_stack(first) == 0

    # Then neither the API nor DynamoDB Local is left listening
    assert not port_is_open(first.port)
    assert not port_is_open(first.dynamodb_port)
    assert "Stopped the local API and DynamoDB Local." in first.log()

    # And the next run, on the same ports, has the profile and accepts the same token
    second = start_stack(tmp_path, dynamodb_port=first.dynamodb_port, port=first.port)
    try:
        reply = second.request("GET", PROFILE, token=token)
        assert reply.status == 200, reply.body
        assert reply.json()["profile"]["stats"]["totalFollowers"] == 9
    finally:
        stop_stack(second)


def test_a_syncs_eventbridge_event_is_answered_locally(stack: LocalStack, user: str) -> None:
    """AWS calls other than DynamoDB reach the local API, never AWS; PutEvents shows in the log."""
    assert (
        stack.request(
            "POST", "/api/v1/profiles/social-sync/tiktok", {"followers": 3}, token=stack.token(user)
        ).status
        == 200
    )

    published = [line for line in stack.log().splitlines() if "EventBridge event" in line and user in line]

    assert len(published) == 1, stack.log()[-2000:]
    assert "ProfileStatsSynced" in published[0]
