"""Tokens shaped like the app's own (HS256, a shared secret), and the forgeries the authorizer must refuse.

The app's backend signs `{"userId", "email"}` with jsonwebtoken's `sign(payload, secret, {expiresIn:
"3d"})`: header `{"alg": "HS256", "typ": "JWT"}`, claims `userId, email, iat, exp` with exp 3 days
after iat. Each forgery is made the way an attacker or a bug would make it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.integration.tokens import b64url, hmac_signed

THREE_DAYS = 3 * 24 * 3600


def app_claims(user: str, email: str | None = None, ttl: int = THREE_DAYS) -> dict[str, Any]:
    """The claims the app's backend puts in an access token, in its order."""
    now = int(time.time())
    return {"userId": user, "email": email or f"{user}@example.com", "iat": now, "exp": now + ttl}


def app_token(secret: str, user: str, **overrides: Any) -> str:
    """A token exactly as the app's backend mints it, claims overridden (None removes one)."""
    claims = {**app_claims(user), **overrides}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, algorithm="HS256")


def alg_none(secret: str, user: str) -> str:
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{b64url(json.dumps(app_claims(user)).encode())}."


def rs256_own_key(secret: str, user: str) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(app_claims(user), key, algorithm="RS256")


def ps256_own_key(secret: str, user: str) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(app_claims(user), key, algorithm="PS256")


def es256_own_key(secret: str, user: str) -> str:
    return jwt.encode(app_claims(user), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256")


def hs384_right_secret(secret: str, user: str) -> str:
    return jwt.encode(app_claims(user), secret, algorithm="HS384")


def hs512_right_secret(secret: str, user: str) -> str:
    return jwt.encode(app_claims(user), secret, algorithm="HS512")


def header_lies_about_alg(secret: str, user: str) -> str:
    """The header says HS256; the signature is HMAC-SHA512 with the right secret."""
    return hmac_signed({"alg": "HS256", "typ": "JWT"}, app_claims(user), secret.encode(), "sha512")


def wrong_secret(secret: str, user: str) -> str:
    return app_token(secret + "-not-quite", user)


def tampered_payload(secret: str, user: str) -> str:
    """Someone else's valid token whose payload was swapped for one naming `user`."""
    header, _, signature = app_token(secret, "someone-else").split(".")
    return f"{header}.{b64url(json.dumps(app_claims(user)).encode())}.{signature}"


def expired(secret: str, user: str) -> str:
    now = int(time.time())
    return app_token(secret, user, iat=now - THREE_DAYS - 600, exp=now - 600)


def no_exp(secret: str, user: str) -> str:
    return app_token(secret, user, exp=None)


def not_yet_valid(secret: str, user: str) -> str:
    return app_token(secret, user, nbf=int(time.time()) + 600)


def issued_in_future(secret: str, user: str) -> str:
    return app_token(secret, user, iat=int(time.time()) + 600)


def no_user_id(secret: str, user: str) -> str:
    return app_token(secret, user, userId=None)


def empty_user_id(secret: str, user: str) -> str:
    return app_token(secret, user, userId="")


def numeric_user_id(secret: str, user: str) -> str:
    return app_token(secret, user, userId=12345)


def null_user_id_with_sub(secret: str, user: str) -> str:
    """userId is present but null: the first id claim is not a user id, so sub is not consulted."""
    return _with(secret, {"userId": None, "sub": user})


def _with(secret: str, claims: dict[str, Any]) -> str:
    now = int(time.time())
    return jwt.encode({**claims, "iat": now, "exp": now + 600}, secret, algorithm="HS256")


def garbage(secret: str, user: str) -> str:
    return "not-a-jwt"


FORGERIES: dict[str, Callable[[str, str], str]] = {
    "alg none": alg_none,
    "RS256, own key": rs256_own_key,
    "PS256, own key": ps256_own_key,
    "ES256, own key": es256_own_key,
    "HS384, right secret": hs384_right_secret,
    "HS512, right secret": hs512_right_secret,
    "header says HS256, signed HS512": header_lies_about_alg,
    "wrong secret": wrong_secret,
    "tampered payload": tampered_payload,
    "expired": expired,
    "no exp": no_exp,
    "nbf in the future": not_yet_valid,
    "iat in the future": issued_in_future,
    "no userId or sub": no_user_id,
    "empty userId": empty_user_id,
    "numeric userId": numeric_user_id,
    "null userId, sub present": null_user_id_with_sub,
    "garbage": garbage,
}
