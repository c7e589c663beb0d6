"""The local API checks bearer tokens the way the HTTP API JWT authorizer does, before any handler runs."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from localrun.issuer import LocalIssuer
from tests.integration.stack import LocalStack
from tests.integration.tokens import REFUSED, good_claims

PROFILE = "/api/v1/profiles/me"
SYNC = "/api/v1/profiles/social-sync/tiktok"
UNAUTHORIZED = {"message": "Unauthorized"}


def test_a_token_from_the_local_issuer_is_accepted(stack: LocalStack, user: str) -> None:
    # Given a token the local issuer minted
    token = stack.token(user)

    # When the caller syncs with it
    reply = stack.request("POST", SYNC, {"followers": 10}, token=token)

    # Then the handler ran for the token's sub
    assert reply.status == 200, reply.body
    assert reply.json()["profile"]["userId"] == user


@pytest.mark.parametrize("make_token", REFUSED.values(), ids=REFUSED.keys())
def test_a_bad_token_is_refused_before_any_handler_runs(
    stack: LocalStack, user: str, make_token: Callable[[LocalIssuer, str], str]
) -> None:
    # Given a token that must not pass
    token = make_token(stack.issuer, user)

    # When it is used to sync, which would create the profile
    reply = stack.request("POST", SYNC, {"followers": 10}, token=token)

    # Then API Gateway's own 401 comes back and nothing was written
    assert reply.status == 401
    assert reply.json() == UNAUTHORIZED
    assert reply.headers["www-authenticate"].startswith("Bearer")
    assert stack.request("GET", PROFILE, token=stack.token(user)).status == 404


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz"], ids=repr)
def test_a_missing_or_empty_token_is_refused(stack: LocalStack, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}

    reply = stack.request("GET", PROFILE, headers=headers)

    assert reply.status == 401
    assert reply.json() == UNAUTHORIZED


def test_a_token_without_the_bearer_prefix_is_accepted_as_api_gateway_does(
    stack: LocalStack, user: str
) -> None:
    reply = stack.request("POST", SYNC, {"followers": 1}, headers={"Authorization": stack.token(user)})

    assert reply.status == 200


def _aud_list(issuer: LocalIssuer, sub: str) -> str:
    return issuer.mint(sub, aud=["another-app", issuer.audience])


def _client_id_without_aud(issuer: LocalIssuer, sub: str) -> str:
    claims = good_claims(issuer, sub)
    claims["client_id"] = claims.pop("aud")
    return issuer.sign(claims)


def _nbf_and_iat_in_the_past(issuer: LocalIssuer, sub: str) -> str:
    return issuer.mint(sub, nbf=int(time.time()) - 5, iat=int(time.time()) - 5)


@pytest.mark.parametrize(
    "make_token",
    [_aud_list, _client_id_without_aud, _nbf_and_iat_in_the_past],
    ids=["aud list holding the audience", "client_id when aud is absent", "nbf and iat in the past"],
)
def test_tokens_valid_under_api_gateways_rules_are_accepted(
    stack: LocalStack, user: str, make_token: Callable[[LocalIssuer, str], str]
) -> None:
    reply = stack.request("POST", SYNC, {"followers": 1}, token=make_token(stack.issuer, user))

    assert reply.status == 200, reply.body


def test_the_issuer_publishes_its_jwks_and_discovery_document_without_auth(stack: LocalStack) -> None:
    jwks = stack.request("GET", "/local-issuer/.well-known/jwks.json")
    discovery = stack.request("GET", "/local-issuer/.well-known/openid-configuration")

    assert jwks.status == 200
    [key] = jwks.json()["keys"]
    assert key["kid"] == stack.issuer.kid
    assert key["kty"] == "RSA"
    assert key["alg"] == "RS256"
    assert "d" not in key  # the public half only
    assert discovery.json()["issuer"] == f"{stack.url}/local-issuer"
    assert discovery.json()["jwks_uri"] == f"{stack.url}/local-issuer/.well-known/jwks.json"
