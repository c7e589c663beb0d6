"""The local token issuer: one RSA key, made once and kept, that signs RS256 tokens.

It stands in for Cognito or any OIDC provider: it publishes its JWKS and discovery
document on the local API, and the local authorizer trusts only its key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from localrun.state_files import write_once

KEY_FILE = "signing-key.pem"


class LocalIssuer:
    """Signs tokens for the local API and publishes the public half of its key."""

    def __init__(self, private_key: rsa.RSAPrivateKey, issuer_url: str, audience: str) -> None:
        self._private_key = private_key
        self.issuer_url = issuer_url
        self.audience = audience
        self.public_jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
        self.kid = jwk_thumbprint(self.public_jwk)
        self.public_jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})

    @classmethod
    def load_or_create(cls, key_dir: Path, issuer_url: str, audience: str) -> LocalIssuer:
        """The issuer whose key is kept in `key_dir`, making the key on first use."""
        return cls(load_or_create_key(key_dir / KEY_FILE), issuer_url, audience)

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set an authorizer fetches to check signatures."""
        return {"keys": [self.public_jwk]}

    def openid_configuration(self) -> dict[str, Any]:
        """The OIDC discovery document API Gateway reads at <issuer>/.well-known/openid-configuration."""
        return {
            "issuer": self.issuer_url,
            "jwks_uri": f"{self.issuer_url}/.well-known/jwks.json",
            "id_token_signing_alg_values_supported": ["RS256"],
            "subject_types_supported": ["public"],
            "response_types_supported": ["token"],
        }

    def mint(self, sub: str, ttl_seconds: int = 3600, **extra_claims: Any) -> str:
        """A signed token for `sub`, valid from now for `ttl_seconds`; extra claims override defaults."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer_url,
            "sub": sub,
            "aud": self.audience,
            "iat": now,
            "exp": now + ttl_seconds,
            "jti": str(uuid.uuid4()),
            "token_use": "access",
        }
        claims.update(extra_claims)
        return self.sign(claims)

    def sign(self, claims: dict[str, Any], algorithm: str = "RS256") -> str:
        """`claims` signed with the issuer's key and kid, exactly as given (tests use other algorithms)."""
        return jwt.encode(claims, self._private_key, algorithm=algorithm, headers={"kid": self.kid})


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 thumbprint of an RSA JWK: a stable kid derived from the key itself."""
    canonical = json.dumps(
        {"e": jwk["e"], "kty": jwk["kty"], "n": jwk["n"]}, separators=(",", ":"), sort_keys=True
    )
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    """Read the PEM key at `path`, or make a 2048-bit RSA key there readable only by its owner."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        write_once(path, pem)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ValueError(f"{path} does not hold an RSA private key")
    return loaded
