"""The fetch client: httpx with timeouts, client-side rate caps, and retries that honor Retry-After.

RapidAPI's platforms and the YouTube Data API (social_sync.youtube) go through the same client
and the same request loop, so every outbound call gets the same deadline, size cap and retries.
Only the code paths that fetch an account import this module (sync by handle, the scheduled
sync's worker, /social/fetch), so a numbers-only sync never pays for httpx or the parameters
utility at cold start. The handle only ever travels as a URL-encoded query parameter of a fixed
host and path, and a key only in a header (x-rapidapi-key, x-goog-api-key): neither is logged.
"""

from __future__ import annotations

import email.utils
import json
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from aws_lambda_powertools import Logger

from social_sync import outbound, telemetry
from social_sync.deadline import Deadline
from social_sync.errors import AccountNotFound, FetchLimitReached, RapidApiTimeout, RapidApiUnavailable
from social_sync.models import FetchedAccount, normalize_handle
from social_sync.platforms import RateLimit, Vendor, platform_spec, rapidapi_platforms
from social_sync.providers import parse_account

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider

    from social_sync.models import Platform
    from social_sync.protocols import AccountFetcher, QuotaCounter
    from social_sync.settings import Settings
    from social_sync.youtube import DailyQuota

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
# The RapidAPI plan's name in the shared quota (social_sync.quota).
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
    """Decides when a RapidAPI request may start (social_sync.quota.SharedQuota: the plan shared
    through DynamoDB by every container and route)."""

    def wait(self, deadline: Deadline) -> None:
        """Block until a request may start; QuotaExhausted if none can start by `deadline`."""
        ...

    def hold_off(self, seconds: float) -> None:
        """Start no request for `seconds` (the vendor's Retry-After)."""
        ...


class WindowCap:
    """At most `limit.amount` request starts per window of `limit.seconds` (the registry's per-platform
    rate limit), counted in `counter` so every container and route shares it. Windows are fixed (aligned
    to the epoch), so a window's count is one conditional update. It never waits: a spent window is
    FetchLimitReached with Retry-After until the next one."""

    def __init__(
        self,
        platform: Platform,
        limit: RateLimit,
        counter: QuotaCounter,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._platform = platform
        self._limit = limit
        self._counter = counter
        self._clock = clock

    def take(self) -> None:
        """Count one request start, or raise FetchLimitReached when this window is spent."""
        now = self._clock()
        window = int(now // self._limit.seconds)
        ends = (window + 1) * self._limit.seconds
        # Kept one window past its end, then DynamoDB's TTL removes it.
        if not self._counter.spend_units(
            f"window#{self._platform}#{window}", 1, self._limit.amount, ends + self._limit.seconds
        ):
            wait = max(1, math.ceil(ends - now))
            raise FetchLimitReached(
                f"{platform_spec(self._platform).display_name} allows {self._limit.describe()}, and "
                f"that is spent; try again in {wait} seconds",
                wait,
            )


class RapidApiKey:
    """A vendor's key (RapidAPI's, or the YouTube Data API's): RAPIDAPI_KEY / YOUTUBE_API_KEY where it is
    set (locally), else the SSM SecureString parameter or Secrets Manager secret RAPIDAPI_KEY_PARAMETER /
    YOUTUBE_API_KEY_PARAMETER names, read with Powertools parameters and cached."""

    def __init__(self, settings: Settings, vendor: Vendor = "rapidapi") -> None:
        local, self._name = (
            (settings.rapidapi_key, settings.rapidapi_key_parameter)
            if vendor == "rapidapi"
            else (settings.youtube_api_key, settings.youtube_api_key_parameter)
        )
        self._local = local.get_secret_value() if local else None
        self._vendor = "RapidAPI" if vendor == "rapidapi" else "YouTube Data API"
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
            raise RapidApiUnavailable(
                f"This service has no {self._vendor} key configured; nothing was changed"
            )
        # Imported here: only a container that really fetches pays for the parameters utility.
        from aws_lambda_powertools.utilities.parameters import GetParameterError

        try:
            with self._lock:
                value = self._read(refresh)
        except GetParameterError as error:
            # The error type only: a message could carry the parameter's ARN into the logs.
            logger.error(
                "API key could not be read",
                extra={"vendor": self._vendor, "error_type": type(error.__cause__).__name__},
            )
            raise RapidApiUnavailable(
                f"This service could not read its {self._vendor} key; nothing was changed"
            ) from error
        if not isinstance(value, str) or not value.strip():
            raise RapidApiUnavailable(f"This service's {self._vendor} key is empty; nothing was changed")
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
    """Fetches accounts from RapidAPI and the YouTube Data API: one per call, within the rate caps and
    YouTube's daily quota, retrying what is worth retrying."""

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
        quota: DailyQuota | None = None,
        windows: QuotaCounter | None = None,
    ) -> None:
        self._policy = policy
        self._limiter = limiter
        self._key = key or RapidApiKey(settings)
        self._youtube_key = RapidApiKey(settings, "youtube")
        self._quota = quota
        self._clock = clock
        self._sleep = sleep
        self._read_timeout = settings.rapidapi_timeout_seconds
        self._base_url = str(settings.rapidapi_base_url).rstrip("/") if settings.rapidapi_base_url else None
        youtube = platform_spec("youtube")
        self._youtube_url = (
            str(settings.youtube_base_url).rstrip("/")
            if settings.youtube_base_url
            else f"https://{youtube.host}"
        ) + youtube.path.rpartition("/")[0]
        self._endpoints = {name: Endpoint.parse(value) for name, value in settings.rapidapi_endpoints.items()}
        # Without a shared counter (unit tests), no per-platform windows: the plan still paces requests.
        self._windows = {
            name: WindowCap(name, platform_spec(name).rate_limit, windows)
            for name in rapidapi_platforms()
            if windows is not None
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
        FetchLimitReached (the plan, the platform's window or YouTube's daily quota has no request
        left in time) or RapidApiUnavailable (the vendor failed, refused, kept rate limiting, or sent
        garbage).
        """
        handle = normalize_handle(handle)
        if deadline is None:
            deadline = Deadline.within(self._policy.budget, self._clock)
        else:
            deadline = deadline.sooner(self._policy.budget)
        if platform_spec(platform).vendor == "youtube":
            # Imported here: only a YouTube fetch needs it (and it needs zoneinfo's data).
            from social_sync.youtube import fetch_channel

            # Its list calls share the one deadline, as one request to RapidAPI has.
            payload = fetch_channel(
                lambda resource, params, asked: self._youtube_get(resource, params, asked, deadline), handle
            )
        else:
            payload = self._rapidapi_get(platform, handle, deadline)
        try:
            return parse_account(platform, handle, payload)
        except RapidApiUnavailable as error:
            logger.warning("upstream answer refused", extra={"platform": platform, "reason": error.message})
            raise

    def _rapidapi_get(self, platform: Platform, handle: str, deadline: Deadline) -> Any:
        endpoint = self._endpoints[platform]
        url = f"{self._base_url or 'https://' + endpoint.host}{endpoint.path}"

        def before_attempt() -> None:
            # The window first: it refuses at once, and a refused request takes no slot of the plan.
            window = self._windows.get(platform)
            if window is not None:
                window.take()
            self._limiter.wait(deadline)

        return self._get(
            platform,
            handle,
            url,
            {platform_spec(platform).query_parameter: handle},
            self._key,
            lambda key: {"x-rapidapi-key": key, "x-rapidapi-host": endpoint.host},
            before_attempt,
            deadline,
        )

    def _youtube_get(self, resource: str, params: dict[str, str], handle: str, deadline: Deadline) -> Any:
        """One YouTube Data API list call (`channels`, `playlistItems`, `videos`); a unit per attempt."""

        def before_attempt() -> None:
            # YouTube's limit is the daily quota, in units.
            if self._quota is not None:
                self._quota.spend(1)

        return self._get(
            "youtube",
            handle,
            f"{self._youtube_url}/{resource}",
            params,
            self._youtube_key,
            lambda key: {"x-goog-api-key": key},
            before_attempt,
            deadline,
        )

    def _get(
        self,
        platform: Platform,
        handle: str,
        url: str,
        params: dict[str, str],
        key: RapidApiKey,
        key_headers: Callable[[str], dict[str, str]],
        before_attempt: Callable[[], None],
        deadline: Deadline,
    ) -> Any:
        vendor = platform_spec(platform).vendor_name
        refresh_key = False
        timed_out = False
        for attempt in range(1, self._policy.attempts + 1):
            before_attempt()
            headers = key_headers(key.get(refresh=refresh_key))
            retry_after: float | None = None
            try:
                with telemetry.vendor_call(platform) as call:
                    answer = outbound.get(
                        self._http,
                        url,
                        params=params,
                        headers=headers,
                        deadline=deadline,
                        max_bytes=MAX_PAYLOAD_BYTES,
                    )
                    call.answered(answer.status, answer.headers)
            except (httpx.TimeoutException, outbound.DeadlineExceeded):
                timed_out, status = True, None
            except outbound.BodyTooLarge as error:
                logger.warning("upstream answer too large", extra={"platform": platform})
                raise RapidApiUnavailable(f"{vendor}'s answer is too large to be an account") from error
            except outbound.UnreadableBody as error:
                logger.warning("upstream answer unreadable", extra={"platform": platform})
                raise RapidApiUnavailable(
                    f"{vendor}'s {platform.capitalize()} answer could not be read; nothing was changed"
                ) from error
            except httpx.TransportError as error:
                timed_out, status = False, None
                logger.warning(
                    "upstream unreachable", extra={"platform": platform, "error_type": type(error).__name__}
                )
            else:
                timed_out, status = False, answer.status
                if status == 200:
                    return _json(platform, answer.body)
                retry_after = retry_after_seconds(answer.headers.get("retry-after"))
                if status == 404:
                    raise AccountNotFound(f"No {platform.capitalize()} account {handle} was found")
                if status in (401, 403) and key.refreshable and not refresh_key:
                    # A rotated key: read it again, bypassing the cache, and try once more.
                    refresh_key = True
                    continue
                if status in (401, 403):
                    logger.error("upstream refused the key", extra={"platform": platform, "status": status})
                    raise RapidApiUnavailable(f"{vendor} refused this service's key; nothing was changed")
                if status not in _RETRY_STATUSES:
                    logger.warning("upstream request failed", extra={"platform": platform, "status": status})
                    raise RapidApiUnavailable(f"{vendor} answered {status}; nothing was changed")
            wait = retry_after if retry_after is not None else self._backoff(attempt)
            give_up = (
                attempt == self._policy.attempts
                or wait > self._policy.max_delay
                or deadline.remaining() - wait < MIN_ATTEMPT_SECONDS
            )
            logger.warning(
                "upstream request failed, will retry"
                if not give_up
                else "upstream request failed, giving up",
                extra={
                    "platform": platform,
                    "status": status,
                    "attempt": attempt,
                    "wait_seconds": round(wait, 2),
                },
            )
            if give_up:
                break
            if status == 429 and retry_after is not None and platform_spec(platform).vendor == "rapidapi":
                # Every container of every route holds off, not just this request.
                self._limiter.hold_off(wait)
            else:
                self._sleep(wait)
        if timed_out:
            raise RapidApiTimeout(
                f"{vendor} did not answer in time for {platform.capitalize()}; nothing was changed"
            )
        raise RapidApiUnavailable(
            f"{vendor} is failing for {platform.capitalize()} right now; nothing was changed"
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


def _json(platform: Platform, body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as error:
        logger.warning("upstream answer is not JSON", extra={"platform": platform, "bytes": len(body)})
        raise RapidApiUnavailable(
            f"{platform_spec(platform).vendor_name}'s {platform.capitalize()} answer could not be read; "
            "nothing was changed"
        ) from error
