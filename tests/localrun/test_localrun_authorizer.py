"""The local authorizer applies the HTTP API JWT authorizer's rules, with no leeway."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from localrun.authorizer import Forbidden, JwtAuthorizer, Unauthorized
from localrun.issuer import LocalIssuer
from tests.integration.tokens import REFUSED, good_claims

ISSUER_URL = "http://127.0.0.1:3000/local-issuer"


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> LocalIssuer:
    return LocalIssuer.load_or_create(tmp_path_factory.mktemp("issuer"), ISSUER_URL, "social-sync-local")


@pytest.fixture(scope="module")
def authorizer(issuer: LocalIssuer) -> JwtAuthorizer:
    return JwtAuthorizer(ISSUER_URL, ["social-sync-local"], issuer.jwks())


def test_a_minted_token_passes_and_yields_its_claims(issuer: LocalIssuer, authorizer: JwtAuthorizer) -> None:
    claims = authorizer.authorize(f"Bearer {issuer.mint('alice')}")

    assert claims["sub"] == "alice"
    assert claims["iss"] == ISSUER_URL


@pytest.mark.parametrize("make_token", REFUSED.values(), ids=REFUSED.keys())
def test_bad_tokens_are_unauthorized(
    issuer: LocalIssuer, authorizer: JwtAuthorizer, make_token: Callable[[LocalIssuer, str], str]
) -> None:
    with pytest.raises(Unauthorized):
        authorizer.authorize(f"Bearer {make_token(issuer, 'alice')}")


def test_a_token_that_expires_this_second_is_already_expired(
    issuer: LocalIssuer, authorizer: JwtAuthorizer
) -> None:
    with pytest.raises(Unauthorized):
        authorizer.authorize(issuer.mint("alice", exp=int(time.time())))


def test_client_id_counts_only_when_aud_is_absent(issuer: LocalIssuer, authorizer: JwtAuthorizer) -> None:
    claims = good_claims(issuer, "alice")
    claims["client_id"] = claims.pop("aud")

    assert authorizer.authorize(issuer.sign(claims))["sub"] == "alice"


def test_a_route_with_scopes_needs_one_of_them(issuer: LocalIssuer, authorizer: JwtAuthorizer) -> None:
    token = issuer.mint("alice", scope="profile:read")

    assert authorizer.authorize(token, ["profile:read", "admin"])["sub"] == "alice"
    with pytest.raises(Forbidden):
        authorizer.authorize(token, ["admin"])


def test_the_key_is_made_once_and_kept(tmp_path: Path) -> None:
    first = LocalIssuer.load_or_create(tmp_path, ISSUER_URL, "social-sync-local")
    second = LocalIssuer.load_or_create(tmp_path, ISSUER_URL, "social-sync-local")

    assert first.kid == second.kid
    assert first.jwks() == second.jwks()
    assert (tmp_path / "signing-key.pem").stat().st_mode & 0o777 == 0o600
