"""The local signing secret for AuthMode shared-secret, and the app-style tokens `make token` mints."""

from __future__ import annotations

import stat
from pathlib import Path

import jwt
import pytest

from localrun.shared_secret import APP_TOKEN_TTL_SECONDS, local_secret, mint_app_token


def test_a_secret_is_generated_once_readable_only_by_its_owner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JWT_SECRET", raising=False)

    first = local_secret(tmp_path)

    assert len(first) >= 64
    assert local_secret(tmp_path) == first
    assert stat.S_IMODE((tmp_path / "jwt-secret").stat().st_mode) == 0o600


def test_jwt_secret_wins_and_nothing_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_SECRET", "the-backends-secret")

    assert local_secret(tmp_path) == "the-backends-secret"
    assert not (tmp_path / "jwt-secret").exists()


def test_a_minted_token_looks_like_the_apps() -> None:
    token = mint_app_token("s" * 64, "alice")

    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(token, "s" * 64, algorithms=["HS256"])
    assert list(claims) == ["userId", "email", "iat", "exp"]
    assert claims["userId"] == "alice"
    assert claims["exp"] - claims["iat"] == APP_TOKEN_TTL_SECONDS == 3 * 24 * 3600
