"""The shared-secret authorizer: the app's own HS256 access tokens, checked before any route runs.

API Gateway calls it as an HTTP API Lambda authorizer (payload format 2.0, simple responses) with
the `Authorization` header as its identity source, and caches an answer per header value. A valid
token gives `{"isAuthorized": true, "context": {"userId": <caller>}}`; the routes then find the
caller at `requestContext.authorizer.lambda.userId`. Any refusal fails the invocation with the
message "Unauthorized", which API Gateway turns into its own 401 `{"message":"Unauthorized"}` (the
app signs the user out on a 401; `isAuthorized: false` would be a 403).

It runs on every uncached request, so it imports little: PyJWT without its crypto extra (HMAC needs
the standard library only) and a botocore client for the secret, nothing of pydantic or Powertools.
The secret is never in the environment when deployed: JWT_SECRET_PARAMETER names an SSM
SecureString parameter (a name starting with /) or a Secrets Manager secret (an ARN), read at run
time and cached. JWT_SECRET holds the secret itself only for the local stack.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from social_sync import aws

logger = logging.getLogger("social_sync.authorizer")
logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"))

HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")
# A caller id becomes a DynamoDB key; an id longer than any real one is a forged or broken token.
MAX_USER_ID_LENGTH = 256


class Unauthorized(Exception):
    """The token is missing or fails a check. The message must be exactly "Unauthorized": that is
    what makes API Gateway answer 401 instead of 500."""

    def __init__(self, reason: str) -> None:
        super().__init__("Unauthorized")
        self.reason = reason


@dataclass(frozen=True)
class TokenPolicy:
    """What a token must satisfy: its algorithm, optional issuer and audiences, and where the caller is."""

    algorithms: tuple[str, ...] = ("HS256",)
    issuer: str | None = None
    audiences: tuple[str, ...] = ()
    user_id_claims: tuple[str, ...] = ("userId", "sub")
    leeway_seconds: int = 30

    def __post_init__(self) -> None:
        unknown = set(self.algorithms) - set(HMAC_ALGORITHMS)
        if not self.algorithms or unknown:
            raise ValueError(f"JWT_ALGORITHMS must name some of {', '.join(HMAC_ALGORITHMS)}")
        if not self.user_id_claims:
            raise ValueError("USER_ID_CLAIMS must name at least one claim")
        if not 0 <= self.leeway_seconds <= 300:
            raise ValueError("JWT_LEEWAY_SECONDS must be between 0 and 300")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> TokenPolicy:
        """The policy from the variables template.yaml gives the AuthorizerFunction."""

        def names(variable: str, default: str) -> tuple[str, ...]:
            return tuple(item.strip() for item in environ.get(variable, default).split(",") if item.strip())

        return cls(
            algorithms=names("JWT_ALGORITHMS", "HS256"),
            issuer=environ.get("JWT_ISSUER") or None,
            audiences=names("JWT_AUDIENCE", ""),
            user_id_claims=names("USER_ID_CLAIMS", "userId,sub"),
            leeway_seconds=int(environ.get("JWT_LEEWAY_SECONDS") or 30),
        )


def bearer_token(authorization: str | None) -> str:
    """The token of an Authorization header, with or without `Bearer ` (as API Gateway's JWT authorizer)."""
    token = (authorization or "").strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    return token


def verify(token: str, secret: bytes, policy: TokenPolicy) -> str:
    """The caller's id if `token` is signed with `secret` under `policy`; raises Unauthorized otherwise.

    Checked: the header's `alg` is one the policy allows (so `none`, RS/ES/PS and HMAC variants not
    configured are refused before any key is used) and the signature is that algorithm's over the
    header and payload as sent; `exp` is present and not past, `nbf` and `iat` not in the future
    (each within the leeway); `iss` and `aud` only when the policy names them.
    """
    if not token:
        raise Unauthorized("no token")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=list(policy.algorithms),
            issuer=policy.issuer,
            audience=list(policy.audiences) or None,
            leeway=policy.leeway_seconds,
            options={"require": ["exp"], "verify_aud": bool(policy.audiences)},
        )
    except jwt.PyJWTError as error:
        raise Unauthorized(type(error).__name__) from None
    return caller_of(claims, policy.user_id_claims)


def caller_of(claims: Mapping[str, Any], user_id_claims: tuple[str, ...]) -> str:
    """The first of `user_id_claims` the token carries; it must be a non-empty string of sane length."""
    for name in user_id_claims:
        if name in claims:
            value = claims[name]
            if isinstance(value, str) and value.strip() and len(value) <= MAX_USER_ID_LENGTH:
                return value
            raise Unauthorized(f"claim {name} is not a user id")
    raise Unauthorized("no user id claim")


class SecretSource:
    """The signing secret: JWT_SECRET where it is set (locally), else the SSM SecureString parameter or
    Secrets Manager secret JWT_SECRET_PARAMETER names, read once and kept for `ttl_seconds`."""

    def __init__(
        self,
        local_secret: str | None,
        parameter: str | None,
        ttl_seconds: float = 300,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not local_secret and not parameter:
            raise ValueError("set JWT_SECRET_PARAMETER (deployed) or JWT_SECRET (locally)")
        if parameter and not parameter.startswith(("/", "arn:")):
            raise ValueError("JWT_SECRET_PARAMETER must be an SSM parameter name (/...) or a secret ARN")
        self._local = local_secret.encode() if local_secret else None
        self._parameter = parameter
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[bytes, float] | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> SecretSource:
        """The source the AuthorizerFunction's environment names."""
        return cls(
            environ.get("JWT_SECRET"),
            environ.get("JWT_SECRET_PARAMETER"),
            float(environ.get("JWT_SECRET_CACHE_SECONDS") or 300),
        )

    def secret(self) -> bytes:
        """The current secret; raises (a 500 from API Gateway) when the store cannot be read."""
        if self._local is not None:
            return self._local
        with self._lock:
            now = self._clock()
            if self._cached is None or now >= self._cached[1]:
                self._cached = (self._read(), now + self._ttl)
            return self._cached[0]

    def _read(self) -> bytes:
        assert self._parameter is not None
        if self._parameter.startswith("arn:"):
            value = aws.secretsmanager().get_secret_value(SecretId=self._parameter)["SecretString"]
        else:
            value = aws.ssm().get_parameter(Name=self._parameter, WithDecryption=True)["Parameter"]["Value"]
        if not isinstance(value, str) or not value:
            raise ValueError("the JWT secret is empty")
        return value.encode()


class Authorizer:
    """The Lambda authorizer: a payload 2.0 request event in, a simple response out."""

    def __init__(self, policy: TokenPolicy, secrets: SecretSource) -> None:
        self.policy = policy
        self.secrets = secrets

    def __call__(self, event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        """`{"isAuthorized": true, "context": {"userId": ...}}`; raises Unauthorized (API Gateway's 401)."""
        sources = event.get("identitySource") or []
        authorization = sources[0] if sources and isinstance(sources[0], str) else None
        try:
            caller = verify(bearer_token(authorization), self.secrets.secret(), self.policy)
        except Unauthorized as refusal:
            # The reason only: never the token or any of its claims.
            logger.info("token refused: %s", refusal.reason)
            raise
        return {"isAuthorized": True, "context": {"userId": caller}}


def authorizer_from_env() -> Authorizer:
    """The AuthorizerFunction's handler, configured from its environment (checked at cold start)."""
    return Authorizer(TokenPolicy.from_env(), SecretSource.from_env())
