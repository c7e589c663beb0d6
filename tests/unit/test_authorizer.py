"""The shared-secret authorizer: the app's own HS256 tokens pass, every forgery is API Gateway's 401."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import boto3
import jwt
import pytest

from social_sync.authorizer import Authorizer, SecretSource, TokenPolicy, Unauthorized, verify
from tests.app_tokens import FORGERIES, THREE_DAYS, app_claims, app_token
from tests.template import ROOT, load_function

SECRET = "a-shared-secret-the-app-backend-also-has-" + "0123456789" * 3
USER = "665f1c2e9b1d8a0012345678"


def event(authorization: str | None) -> dict[str, Any]:
    """The payload 2.0 event API Gateway sends a Lambda authorizer (identity source: Authorization)."""
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:us-east-1:123456789012:api/$default/GET/api/v1/profiles/me",
        "identitySource": [authorization] if authorization is not None else None,
        "routeKey": "GET /api/v1/profiles/me",
        "rawPath": "/api/v1/profiles/me",
        "headers": {"authorization": authorization} if authorization is not None else {},
        "requestContext": {"http": {"method": "GET", "path": "/api/v1/profiles/me"}},
    }


def authorizer(policy: TokenPolicy | None = None) -> Authorizer:
    return Authorizer(policy or TokenPolicy(), SecretSource(SECRET, None))


def test_a_token_minted_as_the_app_mints_it_is_accepted() -> None:
    # Given a token like the app's backend signs: HS256, userId and email, three days
    token = app_token(SECRET, USER)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(token, options={"verify_signature": False})
    assert list(claims) == ["userId", "email", "iat", "exp"]
    assert claims["exp"] - claims["iat"] == THREE_DAYS

    # When API Gateway asks the authorizer, with the Bearer prefix the app sends
    answer = authorizer()(event(f"Bearer {token}"))

    # Then the simple response lets it through and names the caller for the routes
    assert answer == {"isAuthorized": True, "context": {"userId": USER}}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_forged_or_broken_token_is_unauthorized(forge: Callable[[str, str], str]) -> None:
    with pytest.raises(Unauthorized) as refusal:
        authorizer()(event(f"Bearer {forge(SECRET, USER)}"))

    # The invocation fails with exactly "Unauthorized": API Gateway's 401, not a 500
    assert str(refusal.value) == "Unauthorized"


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz"], ids=repr)
def test_no_token_is_unauthorized(authorization: str | None) -> None:
    with pytest.raises(Unauthorized):
        authorizer()(event(authorization))


def test_the_caller_is_the_first_present_id_claim() -> None:
    # Given tokens with sub only, userId and sub, and a custom id claim
    now = int(time.time())
    sub_only = jwt.encode({"sub": "bob", "exp": now + 60}, SECRET, algorithm="HS256")
    both = jwt.encode({"userId": "alice", "sub": "bob", "exp": now + 60}, SECRET, algorithm="HS256")
    custom = jwt.encode({"id": "carol", "userId": "alice", "exp": now + 60}, SECRET, algorithm="HS256")

    # Then the caller is the first id claim the policy lists that the token has
    assert authorizer()(event(sub_only))["context"] == {"userId": "bob"}
    assert authorizer()(event(both))["context"] == {"userId": "alice"}
    assert authorizer(TokenPolicy(user_id_claims=("id",)))(event(custom))["context"] == {"userId": "carol"}


def test_a_small_clock_skew_is_tolerated_and_a_large_one_is_not() -> None:
    # Given a token from a clock 10 s ahead, and one expired 10 s ago
    now = int(time.time())
    skewed = app_token(SECRET, USER, iat=now + 10, nbf=now + 10)
    late = app_token(SECRET, USER, iat=now - 100, exp=now - 10)

    # Then 30 s of leeway accepts both, and none refuses the expired one
    assert verify(skewed, SECRET.encode(), TokenPolicy(leeway_seconds=30)) == USER
    assert verify(late, SECRET.encode(), TokenPolicy(leeway_seconds=30)) == USER
    with pytest.raises(Unauthorized):
        verify(late, SECRET.encode(), TokenPolicy(leeway_seconds=0))


def test_iss_and_aud_are_checked_only_when_configured() -> None:
    # Given a token that carries an issuer and an audience the app never sets
    token = app_token(SECRET, USER, iss="https://api.example.com", aud="hyperbuds")
    # Then with neither configured it passes, and each configured one must match
    assert verify(token, SECRET.encode(), TokenPolicy()) == USER
    policy = TokenPolicy(issuer="https://api.example.com", audiences=("other", "hyperbuds"))
    assert verify(token, SECRET.encode(), policy) == USER
    for wrong in (TokenPolicy(issuer="https://evil.example"), TokenPolicy(audiences=("other",))):
        with pytest.raises(Unauthorized):
            verify(token, SECRET.encode(), wrong)
    # And a configured issuer or audience is required, not just checked when present
    with pytest.raises(Unauthorized):
        verify(app_token(SECRET, USER), SECRET.encode(), TokenPolicy(issuer="https://api.example.com"))


def test_other_hmac_algorithms_pass_only_when_configured() -> None:
    token = jwt.encode(app_claims(USER), SECRET, algorithm="HS512")

    assert verify(token, SECRET.encode(), TokenPolicy(algorithms=("HS256", "HS512"))) == USER
    with pytest.raises(Unauthorized):
        verify(token, SECRET.encode(), TokenPolicy())


@pytest.mark.parametrize(
    "variables",
    [
        {"JWT_ALGORITHMS": "RS256"},
        {"JWT_ALGORITHMS": "none"},
        {"JWT_ALGORITHMS": ""},
        {"USER_ID_CLAIMS": " , "},
    ],
    ids=repr,
)
def test_a_policy_that_would_let_asymmetric_or_unsigned_tokens_in_fails_the_cold_start(
    variables: dict[str, str],
) -> None:
    with pytest.raises(ValueError, match=r"JWT_ALGORITHMS|USER_ID_CLAIMS"):
        TokenPolicy.from_env(variables)


def test_the_policy_comes_from_the_functions_environment() -> None:
    policy = TokenPolicy.from_env(
        {
            "JWT_ALGORITHMS": "HS256,HS384",
            "JWT_ISSUER": "https://api.example.com",
            "JWT_AUDIENCE": "a,b",
            "USER_ID_CLAIMS": "id, userId",
            "JWT_LEEWAY_SECONDS": "5",
        }
    )
    assert policy == TokenPolicy(
        ("HS256", "HS384"), "https://api.example.com", ("a", "b"), ("id", "userId"), leeway_seconds=5
    )
    # Empty template values (no issuer, no audience) mean unchecked
    assert TokenPolicy.from_env({"JWT_ISSUER": "", "JWT_AUDIENCE": ""}) == TokenPolicy()


def test_a_refusal_logs_the_reason_and_never_the_token(caplog: pytest.LogCaptureFixture) -> None:
    token = FORGERIES["wrong secret"](SECRET, USER)
    with caplog.at_level(logging.DEBUG), pytest.raises(Unauthorized):
        authorizer()(event(f"Bearer {token}"))

    assert "InvalidSignatureError" in caplog.text
    for part in token.split("."):
        assert part not in caplog.text
    assert SECRET not in caplog.text
    assert USER not in caplog.text


def test_the_secret_is_read_from_an_ssm_secure_string_and_cached(aws: None) -> None:
    # Given the secret in SSM, and a clock the test moves
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/social-sync/jwt-secret", Type="SecureString", Value=SECRET)
    now = [0.0]
    source = SecretSource(None, "/social-sync/jwt-secret", ttl_seconds=300, clock=lambda: now[0])
    policy_authorizer = Authorizer(TokenPolicy(), source)
    token = app_token(SECRET, USER)

    # When the secret is rotated in SSM within the cache's lifetime
    assert policy_authorizer(event(token))["isAuthorized"] is True
    ssm.put_parameter(
        Name="/social-sync/jwt-secret", Type="SecureString", Value="rotated-" + SECRET, Overwrite=True
    )
    now[0] = 299.0
    # Then the cached secret still decides, and the new one once the cache expires
    assert policy_authorizer(event(token))["isAuthorized"] is True
    now[0] = 300.0
    with pytest.raises(Unauthorized):
        policy_authorizer(event(token))
    assert policy_authorizer(event(app_token("rotated-" + SECRET, USER)))["isAuthorized"] is True


def test_the_secret_is_read_from_secrets_manager_when_given_an_arn(aws: None) -> None:
    arn = boto3.client("secretsmanager").create_secret(Name="jwt-secret", SecretString=SECRET)["ARN"]

    answer = Authorizer(TokenPolicy(), SecretSource(None, arn))(event(app_token(SECRET, USER)))

    assert answer == {"isAuthorized": True, "context": {"userId": USER}}


@pytest.mark.parametrize(("local", "parameter"), [(None, None), ("", ""), (None, "jwt-secret")], ids=repr)
def test_no_usable_secret_source_fails_the_cold_start(local: str | None, parameter: str | None) -> None:
    with pytest.raises(ValueError, match="JWT_SECRET"):
        SecretSource(local, parameter)


# The secret events/authorizer/*.json are signed with (README: `JWT_SECRET=... make invoke`).
EVENTS_SECRET = "sample-secret-of-events-authorizer-never-used-by-any-deployment-000"  # noqa: S105


@pytest.mark.parametrize(
    ("name", "allowed"), [("app_token.json", True), ("alg_none.json", False)], ids=["app token", "alg none"]
)
def test_the_sample_events_get_their_answers_from_the_function(
    name: str, allowed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given AuthorizerFunction loaded as Lambda loads it, with the sample events' secret
    monkeypatch.setenv("JWT_SECRET", EVENTS_SECRET)
    monkeypatch.setenv("JWT_SECRET_PARAMETER", "/social-sync/jwt-secret")
    function = load_function("AuthorizerFunction")
    event = json.loads((ROOT / "events" / "authorizer" / name).read_text())

    # When API Gateway's event is handed to it, then it lets the app's token through and refuses the forgery
    if allowed:
        assert function.lambda_handler(event, None) == {
            "isAuthorized": True,
            "context": {"userId": "665f1c2e9b1d8a0012345678"},
        }
    else:
        with pytest.raises(Unauthorized, match=r"^Unauthorized$"):
            function.lambda_handler(event, None)
