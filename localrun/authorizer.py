"""Check bearer tokens the way API Gateway's HTTP API JWT authorizer does, before any handler runs.

The rules (from API Gateway's documentation of JWT authorizers): the token may come with
or without `Bearer `; it must be RS256 and signed by the JWKS key its `kid` names; `iss`
must equal the issuer; `aud` must hold one of the audiences, or `client_id` must when
`aud` is absent; `exp` is required and must be in the future; `nbf` and `iat`, when
present, must not be. No leeway.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jwt


class Unauthorized(Exception):
    """The token is missing or fails a check; API Gateway answers 401."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class Forbidden(Exception):
    """The token is valid but carries none of the route's scopes; API Gateway answers 403."""


class JwtAuthorizer:
    """A JWT authorizer bound to one issuer, its audiences and its JWKS."""

    def __init__(self, issuer: str, audiences: Sequence[str], jwks: Mapping[str, Any]) -> None:
        self.issuer = issuer
        self.audiences = frozenset(audiences)
        self._keys = {key["kid"]: jwt.PyJWK(key) for key in jwks["keys"] if "kid" in key}

    def authorize(self, authorization: str | None, route_scopes: Sequence[str] = ()) -> dict[str, Any]:
        """The token's claims if `authorization` carries a valid token; raises Unauthorized or Forbidden."""
        token = (authorization or "").strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if not token:
            raise Unauthorized("no token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("the token is malformed") from None
        if header.get("alg") != "RS256":
            raise Unauthorized("the token is not signed with RS256")
        key = self._keys.get(str(header.get("kid")))
        if key is None:
            raise Unauthorized("no key in the JWKS matches the token's kid")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                issuer=self.issuer,
                leeway=0,
                # The audience rule (aud, else client_id) is API Gateway's own; checked below.
                options={"require": ["exp"], "verify_aud": False},
            )
        except jwt.PyJWTError as error:
            raise Unauthorized(_describe(error)) from None
        if not self._audience_matches(claims):
            raise Unauthorized("the token does not have a valid audience")
        if route_scopes and not set(token_scopes(claims)) & set(route_scopes):
            raise Forbidden("the token has none of the route's scopes")
        return claims

    def _audience_matches(self, claims: Mapping[str, Any]) -> bool:
        # API Gateway reads client_id only when aud is absent.
        audience = claims["aud"] if "aud" in claims else claims.get("client_id")
        values = [audience] if isinstance(audience, str) else audience
        if not isinstance(values, list):
            return False
        return any(isinstance(value, str) and value in self.audiences for value in values)


def _describe(error: jwt.PyJWTError) -> str:
    # Fixed wording for the www-authenticate header, in the manner of API Gateway's.
    for kind, description in (
        (jwt.ExpiredSignatureError, "the token has expired"),
        (jwt.ImmatureSignatureError, "the token is not valid yet"),
        (jwt.InvalidIssuerError, "the token does not have a valid issuer"),
        (jwt.MissingRequiredClaimError, "the token is missing a required claim"),
        (jwt.InvalidSignatureError, "the token signature is invalid"),
    ):
        if isinstance(error, kind):
            return description
    return "the token is not valid"


def token_scopes(claims: Mapping[str, Any]) -> list[str]:
    """The scopes a token grants: its space-separated `scope` claim, or its `scp` claim."""
    scope = claims.get("scope", claims.get("scp", []))
    return scope.split() if isinstance(scope, str) else [str(item) for item in scope]
