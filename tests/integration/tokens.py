"""Tokens the local authorizer must refuse, each made the way an attacker or a bug would make it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from localrun.issuer import LocalIssuer


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """header.claims. with no signature (the `alg: none` form)."""
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}."


def hmac_signed(header: dict[str, Any], claims: dict[str, Any], secret: bytes, digest: str = "sha256") -> str:
    """A token HMAC-signed by hand, whatever its header says (PyJWT rightly refuses to use a PEM key as an
    HMAC secret, or to sign under a header that names another algorithm)."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), getattr(hashlib, digest)).digest()
    return f"{signing_input}.{b64url(signature)}"


def good_claims(issuer: LocalIssuer, sub: str) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": issuer.issuer_url, "sub": sub, "aud": issuer.audience, "iat": now, "exp": now + 600}


def forged_payload(issuer: LocalIssuer, sub: str) -> str:
    """A valid token for someone else whose payload was swapped for one naming `sub`."""
    header, _, signature = issuer.mint("someone-else").split(".")
    payload = b64url(json.dumps(good_claims(issuer, sub)).encode())
    return f"{header}.{payload}.{signature}"


def alg_none(issuer: LocalIssuer, sub: str) -> str:
    return unsigned({"alg": "none", "typ": "JWT", "kid": issuer.kid}, good_claims(issuer, sub))


def hs256_random_secret(issuer: LocalIssuer, sub: str) -> str:
    return hmac_signed({"alg": "HS256", "kid": issuer.kid}, good_claims(issuer, sub), b"guessable-secret")


def hs256_public_key_secret(issuer: LocalIssuer, sub: str) -> str:
    """The classic key-confusion attack: HMAC keyed with the issuer's public key, which anyone has."""
    public_pem = jwt.PyJWK(issuer.public_jwk).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hmac_signed(
        {"alg": "HS256", "typ": "JWT", "kid": issuer.kid}, good_claims(issuer, sub), public_pem
    )


def _foreign_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def foreign_key_same_kid(issuer: LocalIssuer, sub: str) -> str:
    return jwt.encode(
        good_claims(issuer, sub), _foreign_key(), algorithm="RS256", headers={"kid": issuer.kid}
    )


def foreign_key_own_kid(issuer: LocalIssuer, sub: str) -> str:
    return jwt.encode(
        good_claims(issuer, sub), _foreign_key(), algorithm="RS256", headers={"kid": "attacker"}
    )


def rs512_right_key(issuer: LocalIssuer, sub: str) -> str:
    """Signed by the right key with another algorithm: the authorizer takes RS256 only."""
    return issuer.sign(good_claims(issuer, sub), algorithm="RS512")


def expired(issuer: LocalIssuer, sub: str) -> str:
    now = int(time.time())
    return issuer.mint(sub, iat=now - 120, exp=now - 1)


def not_yet_valid(issuer: LocalIssuer, sub: str) -> str:
    return issuer.mint(sub, nbf=int(time.time()) + 300)


def issued_in_future(issuer: LocalIssuer, sub: str) -> str:
    return issuer.mint(sub, iat=int(time.time()) + 300)


def no_expiry(issuer: LocalIssuer, sub: str) -> str:
    claims = good_claims(issuer, sub)
    del claims["exp"]
    return issuer.sign(claims)


def wrong_issuer(issuer: LocalIssuer, sub: str) -> str:
    return issuer.mint(sub, iss="https://evil.example/")


def wrong_audience(issuer: LocalIssuer, sub: str) -> str:
    return issuer.mint(sub, aud="some-other-app")


def wrong_aud_right_client_id(issuer: LocalIssuer, sub: str) -> str:
    """aud is present, so API Gateway judges it and never looks at client_id."""
    return issuer.mint(sub, aud="some-other-app", client_id=issuer.audience)


def garbage(issuer: LocalIssuer, sub: str) -> str:
    return "not-a-jwt"


REFUSED: dict[str, Callable[[LocalIssuer, str], str]] = {
    "forged payload": forged_payload,
    "alg none": alg_none,
    "HS256 random secret": hs256_random_secret,
    "HS256 public key as secret": hs256_public_key_secret,
    "foreign key, issuer's kid": foreign_key_same_kid,
    "foreign key, own kid": foreign_key_own_kid,
    "RS512 with the right key": rs512_right_key,
    "expired": expired,
    "not yet valid (nbf)": not_yet_valid,
    "issued in the future (iat)": issued_in_future,
    "no exp": no_expiry,
    "wrong iss": wrong_issuer,
    "wrong aud": wrong_audience,
    "wrong aud, right client_id": wrong_aud_right_client_id,
    "garbage": garbage,
}
