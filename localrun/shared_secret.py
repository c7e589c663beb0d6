"""AuthMode shared-secret locally: the signing secret the app's backend and the authorizer share.

The secret is JWT_SECRET when set (the one the app's backend uses, to try its real tokens), else one
generated once and kept in the state folder (git-ignored), so `make run` and `make token` agree.
Tokens are minted as the app's backend mints them: HS256, `{"userId", "email", "iat", "exp"}`.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Mapping
from pathlib import Path

from localrun.state_files import write_once

SECRET_FILE = "jwt-secret"  # noqa: S105 - the name of the file, not a secret
# The app's backend signs with jsonwebtoken's expiresIn "3d".
APP_TOKEN_TTL_SECONDS = 3 * 24 * 3600


def local_secret(state_dir: Path) -> str:
    """JWT_SECRET if set, else the secret kept in `state_dir`, made on first use."""
    configured = os.environ.get("JWT_SECRET")
    if configured:
        return configured
    path = state_dir / SECRET_FILE
    if not path.exists():
        write_once(path, secrets.token_urlsafe(48).encode())
    return path.read_text().strip()


def with_local_secret(environment: Mapping[str, str], state_dir: Path) -> dict[str, str]:
    """A function's local environment, plus JWT_SECRET for the one that would read the secret from
    SSM or Secrets Manager (the authorizer): locally it is given the secret itself."""
    if "JWT_SECRET_PARAMETER" not in environment:
        return dict(environment)
    return {**environment, "JWT_SECRET": local_secret(state_dir)}


def mint_app_token(secret: str, user: str, ttl_seconds: int = APP_TOKEN_TTL_SECONDS) -> str:
    """A token like the app's backend signs for `user` (its email made up from the id)."""
    # Imported here: `make invoke` and `make sync-now` read the secret and never mint a token.
    import jwt

    now = int(time.time())
    claims = {"userId": user, "email": f"{user}@example.com", "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, secret, algorithm="HS256")
