"""The RapidAPI client: httpx with timeouts, a client-side rate cap, and retries that honor Retry-After.

Only the code paths that fetch an account import this module (sync by handle, the scheduled
sync's worker), so a numbers-only sync never pays for httpx or the parameters utility at cold
start. The handle only ever travels as a URL-encoded query parameter of a fixed host and path,
and the key only in the x-rapidapi-key header: neither is logged.
"""

from __future__ import annotations

import email.utils
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from aws_lambda_powertools import Logger

from social_sync import outbound
from social_sync.deadline import Deadline
from social_sync.errors import AccountNotFound, RapidApiTimeout, RapidApiUnavailable
from social_sync.providers import PROVIDERS, FetchedAccount, normalize_handle, parse_account

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider

    from social_sync.models import Platform
    from social_sync.profiles import AccountFetcher
    from social_sync.quota import Caller
    from social_sync.settings import Settings

logger = Logger(child=True)

# Far beyond any profile payload (Instagram's, with its posts, is the largest at a few hundred KB);
# counted on the decoded body while it is decoded, so a compressed bomb is cut off at this size.
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024
CONNECT_TIMEOUT_SECONDS = 2.0
# No attempt starts with less than this left before the deadline: it could not get an answer.
MIN_ATTEMPT_SECONDS = 0.5
# How long a key read from SSM or Secrets Manager is reused before it is read again (key rotation).
KEY_MAX_AGE_SECONDS = 300
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
VENDOR = "rapidapi"


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one fetch tries: attempts, full-jitter backoff, and a time budget it never overruns."""

    attempts: int
    base_delay: float
    max_delay: float
    # The whole fetch (waits for the quota, every attempt, every backoff) ends within this many
    # seconds, or sooner when the caller's own deadline (the function's time left) comes first.
    budget: float


# A person is waiting behind an HTTP sync (and the function times out at 10 s): fail fast.
INTERACTIVE = RetryPolicy(attempts=3, base_delay=0.2, max_delay=1.5, budget=8.0)
# The scheduled sync can wait out a rate limit; SQS retries the rest later.
BACKGROUND = RetryPolicy(attempts=5, base_delay=0.5, max_delay=20.0, budget=60.0)


class Pacer(Protocol):
    """Decides when a request may start (social_sync.quota.SharedQuota: the plan shared through DynamoDB)."""

    def wait(self, deadline: Deadline) -> None:
        """Block until a request may start; QuotaExhausted if none can start by `deadline`."""
        ...

    def hold_off(self, seconds: float) -> None:
        """Start no request for `seconds` (the vendor's Retry-After)."""
        ...


class RapidApiKey:
    """The RapidAPI key: RAPIDAPI_KEY where it is set (locally), else the SSM SecureString parameter or
    Secrets Manager secret RAPIDAPI_KEY_PARAMETER names, read with Powertools parameters and cached."""

    def __init__(self, settings: Settings) -> None:
        self._local = settings.rapidapi_key.get_secret_value() if settings.rapidapi_key else None
        self._name = settings.rapidapi_key_parameter
        self._provider: SSMProvider | SecretsProvider | None = None
        # The worker fetches from several threads; only one may create the provider's boto3 client.
        self._lock = threading.Lock()

    @property
    def refreshable(self) -> bool:
        """Whether reading the key again could give a different one (it is kept in AWS)."""
        return self._local is None

    def get(self, refresh: bool = False) -> str:
        """The key; `refresh` reads it again rather than from the cache (after RapidAPI refused it)."""
        if self._local is not None:
            return self._local
        if self._name is None:
            raise RapidApiUnavailable("This service has no RapidAPI key configured; nothing was changed")
        # Imported here: only a container that really fetches pays for the parameters utility.
        from aws_lambda_powertools.utilities.parameters import GetParameterError

        try:
            with self._lock:
                value = self._read(refresh)
        except GetParameterError as error:
            # The error type only: a message could carry the parameter's ARN into the logs.
            logger.error(
                "RapidAPI key could not be read", extra={"error_type": type(error.__cause__).__name__}
            )
            raise RapidApiUnavailable(
                "This service could not read its RapidAPI key; nothing was changed"
            ) from error
        if not isinstance(value, str) or not value.strip():
            raise RapidApiUnavailable("This service's RapidAPI key is empty; nothing was changed")
        return value.strip()

    def _read(self, refresh: bool) -> Any:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider
        from botocore.config import Config

        assert self._name is not None
        # Short timeouts: a parameter store that does not answer should fail the fetch, not the Lambda.
        config = Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 2})
        if self._name.startswith("arn:"):
            if self._provider is None:
                self._provider = SecretsProvider(boto_config=config)
            return self._provider.get(self._name, max_age=KEY_MAX_AGE_SECONDS, force_fetch=refresh)
        if self._provider is None:
            self._provider = SSMProvider(boto_config=config)
        return self._provider.get(self._name, max_age=KEY_MAX_AGE_SECONDS, decrypt=True, force_fetch=refresh)


@dataclass(frozen=True)
class Endpoint:
    """Where one platform's accounts are fetched: RapidAPI host and path (configuration)."""

    host: str
    path: str

    @classmethod
    def parse(cls, endpoint: str) -> Endpoint:
        """From Settings' "<host>/<path>" form."""
        host, _, path = endpoint.partition("/")
        return cls(host=host, path=f"/{path}")


class RapidApiClient:
    """Fetches accounts from RapidAPI: one per call, within the rate cap, retrying what is worth retrying."""

    def __init__(
        self,
        settings: Settings,
        *,
        policy: RetryPolicy,
        limiter: Pacer,
        key: RapidApiKey | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._policy = policy
        self._limiter = limiter
        self._key = key or RapidApiKey(settings)
        self._clock = clock
        self._sleep = sleep
        self._read_timeout = settings.rapidapi_timeout_seconds
        self._base_url = str(settings.rapidapi_base_url).rstrip("/") if settings.rapidapi_base_url else None
        self._endpoints = {
            "tiktok": Endpoint.parse(settings.rapidapi_tiktok_endpoint),
            "twitter": Endpoint.parse(settings.rapidapi_twitter_endpoint),
            "twitch": Endpoint.parse(settings.rapidapi_twitch_endpoint),
            "instagram": Endpoint.parse(settings.rapidapi_instagram_endpoint),
        }
        self._http = outbound.http_client(
            connect_timeout=CONNECT_TIMEOUT_SECONDS, read_timeout=self._read_timeout, transport=transport
        )

    def fetcher(self, deadline: Deadline) -> AccountFetcher:
        """fetch_account bound to one deadline: every fetch of one request or record ends by it."""
        return lambda platform, handle: self.fetch_account(platform, handle, deadline)

    def fetch_account(
        self, platform: Platform, handle: str, deadline: Deadline | None = None
    ) -> FetchedAccount:
        """The account `handle` on `platform`, normalized, by `deadline` and within the policy's budget.

        Raises AccountNotFound (no such account), RapidApiTimeout (no answer in time),
        QuotaExhausted (no request left in the plan in time) or RapidApiUnavailable (RapidAPI
        failed, refused, kept rate limiting, or sent garbage).
        """
        handle = normalize_handle(handle)
        if deadline is None:
            deadline = Deadline.within(self._policy.budget, self._clock)
        else:
            deadline = deadline.sooner(self._policy.budget)
        payload = self._get(platform, handle, deadline)
        try:
            return parse_account(platform, handle, payload)
        except RapidApiUnavailable as error:
            logger.warning("RapidAPI answer refused", extra={"platform": platform, "reason": error.message})
            raise

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _get(self, platform: Platform, handle: str, deadline: Deadline) -> Any:
        endpoint = self._endpoints[platform]
        url = f"{self._base_url or 'https://' + endpoint.host}{endpoint.path}"
        params = {PROVIDERS[platform].query_parameter: handle}
        refresh_key = False
        timed_out = False
        for attempt in range(1, self._policy.attempts + 1):
            self._limiter.wait(deadline)
            headers = {"x-rapidapi-key": self._key.get(refresh=refresh_key), "x-rapidapi-host": endpoint.host}
            retry_after: float | None = None
            try:
                answer = outbound.get(
                    self._http,
                    url,
                    params=params,
                    headers=headers,
                    deadline=deadline,
                    max_bytes=MAX_PAYLOAD_BYTES,
                )
            except (httpx.TimeoutException, outbound.DeadlineExceeded):
                timed_out, status = True, None
            except outbound.BodyTooLarge as error:
                logger.warning("RapidAPI answer too large", extra={"platform": platform})
                raise RapidApiUnavailable("RapidAPI's answer is too large to be an account") from error
            except outbound.UnreadableBody as error:
                logger.warning("RapidAPI answer unreadable", extra={"platform": platform})
                raise RapidApiUnavailable(
                    f"RapidAPI's {platform.capitalize()} answer could not be read; nothing was changed"
                ) from error
            except httpx.TransportError as error:
                timed_out, status = False, None
                logger.warning(
                    "RapidAPI unreachable", extra={"platform": platform, "error_type": type(error).__name__}
                )
            else:
                timed_out, status = False, answer.status
                if status == 200:
                    return _json(platform, answer.body)
                retry_after = retry_after_seconds(answer.headers.get("retry-after"))
                if status == 404:
                    raise AccountNotFound(f"No {platform.capitalize()} account {handle} was found")
                if status in (401, 403) and self._key.refreshable and not refresh_key:
                    # A rotated key: read it again, bypassing the cache, and try once more.
                    refresh_key = True
                    continue
                if status in (401, 403):
                    logger.error("RapidAPI refused the key", extra={"platform": platform, "status": status})
                    raise RapidApiUnavailable("RapidAPI refused this service's key; nothing was changed")
                if status not in _RETRY_STATUSES:
                    logger.warning("RapidAPI request failed", extra={"platform": platform, "status": status})
                    raise RapidApiUnavailable(f"RapidAPI answered {status}; nothing was changed")
            wait = retry_after if retry_after is not None else self._backoff(attempt)
            give_up = (
                attempt == self._policy.attempts
                or wait > self._policy.max_delay
                or deadline.remaining() - wait < MIN_ATTEMPT_SECONDS
            )
            logger.warning(
                "RapidAPI request failed, will retry"
                if not give_up
                else "RapidAPI request failed, giving up",
                extra={
                    "platform": platform,
                    "status": status,
                    "attempt": attempt,
                    "wait_seconds": round(wait, 2),
                },
            )
            if give_up:
                break
            if status == 429 and retry_after is not None:
                # Every container of every route holds off, not just this request.
                self._limiter.hold_off(wait)
            else:
                self._sleep(wait)
        if timed_out:
            raise RapidApiTimeout(
                f"RapidAPI did not answer in time for {platform.capitalize()}; nothing was changed"
            )
        raise RapidApiUnavailable(
            f"RapidAPI is failing for {platform.capitalize()} right now; nothing was changed"
        )

    def _backoff(self, attempt: int) -> float:
        # Full jitter: clients that failed together do not come back in step.
        ceiling = min(self._policy.max_delay, self._policy.base_delay * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not security


def retry_after_seconds(
    value: str | None, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now()).total_seconds())


def rapidapi_client(
    settings: Settings,
    *,
    policy: RetryPolicy,
    caller: Caller,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RapidApiClient:
    """A client for this container, drawing on the plan shared by every container (social_sync.quota)."""
    from social_sync import aws
    from social_sync.quota import SharedQuota
    from social_sync.quota_store import DynamoQuotaStore

    quota = SharedQuota(
        DynamoQuotaStore(aws.dynamodb(), settings.table_name),
        VENDOR,
        requests_per_second=settings.rapidapi_requests_per_second,
        caller=caller,
        schedule_reserve=settings.rapidapi_schedule_reserve,
        sleep=sleep,
    )
    return RapidApiClient(settings, policy=policy, limiter=quota, transport=transport, sleep=sleep)


def _json(platform: Platform, body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as error:
        logger.warning("RapidAPI answer is not JSON", extra={"platform": platform, "bytes": len(body)})
        raise RapidApiUnavailable(
            f"RapidAPI's {platform.capitalize()} answer could not be read; nothing was changed"
        ) from error
