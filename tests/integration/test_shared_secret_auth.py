"""AuthMode shared-secret over the local stack: the app's own HS256 tokens pass, every forgery is 401."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import jwt
import pytest

from localrun.settings import REPO_ROOT
from tests.app_tokens import FORGERIES, THREE_DAYS, app_token
from tests.helpers import user_shell_environment
from tests.integration.stack import LocalStack

PROFILE = "/api/v1/profiles/me"
SYNC = "/api/v1/profiles/social-sync/tiktok"
UNAUTHORIZED = {"message": "Unauthorized"}
# The secret the app's backend signs with, given to the stack as JWT_SECRET.
SECRET = "the-app-backends-signing-secret-" + "x" * 40


@pytest.fixture(scope="module")
def app_stack(extra_api: Callable[[dict[str, str]], LocalStack]) -> LocalStack:
    """The local API in shared-secret mode with the app's secret, sharing the session's DynamoDB Local."""
    return extra_api({"AUTH_MODE": "shared-secret", "JWT_SECRET": SECRET, "SYNC_COOLDOWN_SECONDS": "0"})


def test_a_token_minted_as_the_app_mints_it_is_accepted(app_stack: LocalStack, user: str) -> None:
    # Given a token exactly like the app's backend signs: HS256, {userId, email}, 3 days, the shared secret
    token = app_token(SECRET, user)

    # When the app syncs and reads the profile with it
    sync = app_stack.request("POST", SYNC, {"followers": 10}, token=token)
    profile = app_stack.request("GET", PROFILE, token=token)

    # Then the caller is the token's userId
    assert sync.status == 200, sync.body
    assert profile.status == 200, profile.body
    assert profile.json()["profile"]["userId"] == user


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_forged_token_is_refused_before_any_handler_runs(
    app_stack: LocalStack, user: str, forge: Callable[[str, str], str]
) -> None:
    # When a forged or broken token is used to sync, which would create the profile
    reply = app_stack.request("POST", SYNC, {"followers": 10}, token=forge(SECRET, user))

    # Then API Gateway's own 401 comes back and nothing was written
    assert reply.status == 401
    assert reply.json() == UNAUTHORIZED
    assert app_stack.request("GET", PROFILE, token=app_token(SECRET, user)).status == 404


def test_no_token_is_refused(app_stack: LocalStack) -> None:
    for headers in ({}, {"Authorization": ""}, {"Authorization": "Bearer "}):
        reply = app_stack.request("GET", PROFILE, headers=headers)
        assert reply.status == 401
        assert reply.json() == UNAUTHORIZED


def test_oidc_tokens_are_not_accepted_in_shared_secret_mode(app_stack: LocalStack, user: str) -> None:
    reply = app_stack.request("GET", PROFILE, token=app_stack.token(user))

    assert reply.status == 401


def test_make_token_mints_an_app_token_with_the_generated_secret(
    extra_api: Callable[[dict[str, str]], LocalStack], user: str
) -> None:
    # Given the stack in shared-secret mode with no JWT_SECRET: it generates one and keeps it
    stack = extra_api({"AUTH_MODE": "shared-secret", "SYNC_COOLDOWN_SECONDS": "0"})
    assert (stack.state_dir / "jwt-secret").is_file()

    # When a developer runs `make token` as for `make run`
    result = subprocess.run(  # noqa: S603 - our own Makefile
        ["make", "token", f"SUB={user}"],  # noqa: S607
        cwd=REPO_ROOT,
        env=user_shell_environment(
            PORT=str(stack.port), LOCALRUN_STATE_DIR=str(stack.state_dir), AUTH_MODE="shared-secret"
        ),
        capture_output=True,
        text=True,
        check=True,
    )

    # Then it prints a token shaped like the app's, valid for 3 days, that the stack accepts
    [token] = result.stdout.splitlines()
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) == {"userId", "email", "iat", "exp"}
    assert claims["userId"] == user
    assert claims["exp"] - claims["iat"] == THREE_DAYS
    reply = stack.request("PUT", PROFILE, {"bio": "hi"}, token=token)
    assert reply.status == 200, reply.body
    assert reply.json()["profile"]["userId"] == user
