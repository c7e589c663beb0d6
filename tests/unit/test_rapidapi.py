"""The RapidAPI client against a fake RapidAPI: the request it sends, retries, the rate cap, the key."""

from __future__ import annotations

import email.utils
import io
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest

from social_sync import rapidapi
from social_sync.errors import AccountNotFound, RapidApiTimeout, RapidApiUnavailable
from social_sync.rapidapi import (
    BACKGROUND,
    INTERACTIVE,
    RapidApiClient,
    RapidApiKey,
    RetryPolicy,
    retry_after_seconds,
)
from social_sync.settings import Settings
from tests.fake_rapidapi import FakeClock, FakeRapidApi, Reply, fixture, pacer

KEY = "test-key-3f9a7c"


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"table_name": "unit", "rapidapi_key": KEY, "rapidapi_requests_per_second": 5}
    return Settings(**(values | overrides))


@pytest.fixture
def fake() -> FakeRapidApi:
    return FakeRapidApi()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def timing_transport(fake: FakeRapidApi, clock: FakeClock, read_timeout: float = 5.0) -> httpx.MockTransport:
    """The fake as a transport on which a timeout costs the request's read timeout on the clock."""
    inner = fake.transport

    def handle(request: httpx.Request) -> httpx.Response:
        try:
            return inner.handle_request(request)
        except httpx.TimeoutException:
            clock.now += min(read_timeout, request.extensions["timeout"]["read"])
            raise

    return httpx.MockTransport(handle)


def make_client(
    fake: FakeRapidApi,
    clock: FakeClock,
    policy: RetryPolicy = INTERACTIVE,
    key: RapidApiKey | None = None,
    **overrides: Any,
) -> RapidApiClient:
    config = settings(**overrides)
    return RapidApiClient(
        config,
        policy=policy,
        limiter=pacer(config.rapidapi_requests_per_second, clock=clock, sleep=clock.limiter_sleep),
        key=key,
        transport=timing_transport(fake, clock),
        clock=clock,
        sleep=clock.sleep,
    )


def test_a_fetch_is_one_get_on_the_fixed_host_and_path_with_the_rapidapi_headers() -> None:
    # Given a transport that records the raw request
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, stream=httpx.ByteStream(fixture("tiktok", "charlidamelio")))

    client = RapidApiClient(
        settings(), policy=INTERACTIVE, limiter=pacer(1000), transport=httpx.MockTransport(handle)
    )

    # When a handle full of URL syntax is fetched
    client.fetch_account("tiktok", "@a b&x=1/../#y")

    # Then it travels only as one URL-encoded query parameter of the configured endpoint
    [request] = seen
    assert request.method == "GET"
    assert (request.url.scheme, request.url.host, request.url.path) == (
        "https",
        "tiktok-api23.p.rapidapi.com",
        "/api/user/info",
    )
    assert request.url.params.multi_items() == [("uniqueId", "a b&x=1/../#y")]
    assert b"uniqueId=a+b%26x%3D1%2F..%2F%23y" in request.url.raw_path
    assert request.headers["x-rapidapi-key"] == KEY
    assert request.headers["x-rapidapi-host"] == "tiktok-api23.p.rapidapi.com"


@pytest.mark.parametrize(
    ("platform", "handle", "host", "path"),
    [
        ("tiktok", "charlidamelio", "tiktok-api23.p.rapidapi.com", "/api/user/info"),
        ("twitter", "nasa", "twitter241.p.rapidapi.com", "/user"),
        ("twitch", "ninja", "twitch-scraper2.p.rapidapi.com", "/api/channels/info"),
        ("instagram", "nasa", "instagram-looter2.p.rapidapi.com", "/profile"),
    ],
)
def test_each_platform_asks_its_own_endpoint(
    fake: FakeRapidApi, clock: FakeClock, platform: Any, handle: str, host: str, path: str
) -> None:
    # When a platform's account is fetched
    account = make_client(fake, clock).fetch_account(platform, handle)

    # Then one request went to that platform's host and path, with the key
    [request] = fake.requests
    assert (request.host, request.path, request.handle, request.key) == (host, path, handle, KEY)
    assert account.platform == platform


def test_the_endpoint_is_configuration_and_a_base_url_redirects_every_request() -> None:
    # Given a client configured with another Twitch endpoint and a base URL
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, stream=httpx.ByteStream(fixture("twitch", "ninja")))

    config = settings(
        rapidapi_endpoints={"twitch": "twitch-other.p.rapidapi.com/v2/channel"},
        rapidapi_base_url="http://127.0.0.1:9/",
    )
    client = RapidApiClient(
        config, policy=INTERACTIVE, limiter=pacer(1000), transport=httpx.MockTransport(handle)
    )

    # When an account is fetched
    client.fetch_account("twitch", "ninja")

    # Then the request went to the base URL, on the configured path, naming the configured host
    assert str(seen[0].url) == "http://127.0.0.1:9/v2/channel?channel=ninja"
    assert seen[0].headers["x-rapidapi-host"] == "twitch-other.p.rapidapi.com"


def test_a_429_waits_exactly_its_retry_after_then_succeeds(fake: FakeRapidApi, clock: FakeClock) -> None:
    # Given a first answer of 429 with Retry-After: 1
    fake.script(
        "tiktok", "charlidamelio", Reply(429, b'{"message":"Too many requests"}', {"retry-after": "1"})
    )

    # When the account is fetched
    account = make_client(fake, clock).fetch_account("tiktok", "charlidamelio")

    # Then the second request succeeded after the limiter held off for exactly that second
    assert account.followers == 156_183_422
    assert fake.count() == 2
    # The wait goes through the limiter, so every request of the container holds off, not just this one.
    assert clock.limiter_sleeps == [pytest.approx(1.0)]
    assert clock.sleeps == []


def test_a_retry_after_as_an_http_date_is_honored(fake: FakeRapidApi, clock: FakeClock) -> None:
    # Given a 503 with Retry-After as an HTTP date two seconds ahead
    later = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    fake.script("twitch", "ninja", Reply(503, b"", {"retry-after": later}))

    # When the account is fetched in the background
    make_client(fake, clock, policy=BACKGROUND).fetch_account("twitch", "ninja")

    # Then it was asked again after waiting until about that date
    assert fake.count() == 2
    [wait] = clock.sleeps
    assert 0.5 <= wait <= 2.0


def test_a_retry_after_longer_than_the_policy_allows_fails_at_once(
    fake: FakeRapidApi, clock: FakeClock
) -> None:
    fake.always("tiktok", "charlidamelio", Reply(429, b"{}", {"retry-after": "60"}))

    with pytest.raises(RapidApiUnavailable, match="failing"):
        make_client(fake, clock).fetch_account("tiktok", "charlidamelio")

    assert fake.count() == 1
    assert clock.sleeps == []


def test_server_errors_are_retried_with_jittered_backoff(fake: FakeRapidApi, clock: FakeClock) -> None:
    # Given two server errors before an answer
    fake.script("instagram", "nasa", Reply(502), Reply(500))

    # When the account is fetched
    account = make_client(fake, clock).fetch_account("instagram", "nasa")

    # Then the third request succeeded, each wait under its doubling ceiling
    assert account.followers == 97_654_321
    assert fake.count() == 3
    ceilings = [INTERACTIVE.base_delay, INTERACTIVE.base_delay * 2]
    assert all(0 <= wait <= ceiling for wait, ceiling in zip(clock.sleeps, ceilings, strict=True))


def test_a_failing_rapidapi_is_given_up_after_the_policys_attempts(
    fake: FakeRapidApi, clock: FakeClock
) -> None:
    fake.always("twitter", "nasa", Reply(503))

    with pytest.raises(RapidApiUnavailable):
        make_client(fake, clock).fetch_account("twitter", "nasa")

    assert fake.count() == INTERACTIVE.attempts


def test_a_timeout_is_504_material_and_not_retried_past_the_budget(
    fake: FakeRapidApi, clock: FakeClock
) -> None:
    # Given an upstream that never answers in time
    fake.always("tiktok", "charlidamelio", Reply(timeout=True))

    # When an HTTP sync fetches, then it times out
    started = clock.now
    with pytest.raises(RapidApiTimeout):
        make_client(fake, clock).fetch_account("tiktok", "charlidamelio")

    # The second attempt gets only what is left of the 8 s an HTTP sync can spend, and ends by then.
    assert fake.count() == 2
    assert clock.now - started <= INTERACTIVE.budget


def test_the_background_policy_retries_timeouts_within_its_budget(
    fake: FakeRapidApi, clock: FakeClock
) -> None:
    # Given two timeouts before an answer
    fake.script("tiktok", "charlidamelio", Reply(timeout=True), Reply(timeout=True))

    # When the scheduled sync fetches
    account = make_client(fake, clock, policy=BACKGROUND).fetch_account("tiktok", "charlidamelio")

    # Then the third request succeeded
    assert account.handle == "charlidamelio"
    assert fake.count() == 3


GARBAGE = {
    "html": b"<html><body>502 Bad Gateway</body></html>",
    "empty": b"",
    "truncated json": b'{"userInfo": {"stats": ',
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("body", GARBAGE.values(), ids=GARBAGE.keys())
def test_a_200_that_is_not_json_is_unavailable_and_not_retried(
    fake: FakeRapidApi, clock: FakeClock, body: bytes
) -> None:
    fake.always("tiktok", "charlidamelio", Reply(200, body))

    with pytest.raises(RapidApiUnavailable):
        make_client(fake, clock).fetch_account("tiktok", "charlidamelio")

    assert fake.count() == 1


def test_an_endless_answer_is_cut_off(fake: FakeRapidApi, clock: FakeClock) -> None:
    fake.always("tiktok", "charlidamelio", Reply(200, b" " * (rapidapi.MAX_PAYLOAD_BYTES + 1)))

    with pytest.raises(RapidApiUnavailable, match="too large"):
        make_client(fake, clock).fetch_account("tiktok", "charlidamelio")


def test_a_404_is_account_not_found(fake: FakeRapidApi, clock: FakeClock) -> None:
    fake.always("twitter", "ghost", Reply(404, b'{"message":"User not found"}'))

    with pytest.raises(AccountNotFound):
        make_client(fake, clock).fetch_account("twitter", "ghost")


def test_a_not_found_payload_is_account_not_found(fake: FakeRapidApi, clock: FakeClock) -> None:
    with pytest.raises(AccountNotFound):
        make_client(fake, clock).fetch_account("tiktok", "nobody-has-this-handle")


def test_other_client_errors_are_not_retried(fake: FakeRapidApi, clock: FakeClock) -> None:
    fake.always("twitch", "ninja", Reply(400, b'{"message":"bad request"}'))

    with pytest.raises(RapidApiUnavailable, match="400"):
        make_client(fake, clock).fetch_account("twitch", "ninja")

    assert fake.count() == 1


class RotatingKey(RapidApiKey):
    """A key kept in AWS that was rotated: the cached one is stale, a fresh read gives the new one."""

    def __init__(self) -> None:
        self.reads: list[bool] = []

    @property
    def refreshable(self) -> bool:
        return True

    def get(self, refresh: bool = False) -> str:
        self.reads.append(refresh)
        return "new-key" if refresh else "stale-key"


def test_a_refused_key_is_read_again_once_then_given_up(fake: FakeRapidApi, clock: FakeClock) -> None:
    # Given a key from AWS that RapidAPI refuses, old and new
    key = RotatingKey()
    fake.always("tiktok", "charlidamelio", Reply(403, b'{"message":"You are not subscribed to this API."}'))

    # When an account is fetched, then it is unavailable
    with pytest.raises(RapidApiUnavailable, match="refused"):
        make_client(fake, clock, key=key).fetch_account("tiktok", "charlidamelio")

    # And the key was read again once, and the new one tried
    assert key.reads == [False, True]
    assert [request.key for request in fake.requests] == ["stale-key", "new-key"]


def test_a_local_key_that_is_refused_is_not_tried_twice(fake: FakeRapidApi, clock: FakeClock) -> None:
    fake.always("tiktok", "charlidamelio", Reply(401))

    with pytest.raises(RapidApiUnavailable):
        make_client(fake, clock).fetch_account("tiktok", "charlidamelio")

    assert fake.count() == 1


@pytest.fixture
def logged() -> Iterator[io.StringIO]:
    """Everything the client logs, every attribute of every record."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(lambda record: bool(buffer.write(repr(vars(record)))) or True)
    rapidapi.logger.addHandler(handler)
    yield buffer
    logging.getLogger(rapidapi.logger.name).removeHandler(handler)


def test_neither_the_key_nor_the_handle_is_ever_logged(
    fake: FakeRapidApi, clock: FakeClock, logged: io.StringIO
) -> None:
    fake.always("tiktok", "secret-handle", Reply(503, b"", {"retry-after": "0"}))

    with pytest.raises(RapidApiUnavailable):
        make_client(fake, clock).fetch_account("tiktok", "secret-handle")

    written = logged.getvalue()
    assert "upstream request failed" in written
    assert KEY not in written
    assert "secret-handle" not in written


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), (" 0 ", 0.0), ("soon", None), (None, None), ("-1", None)],
)
def test_retry_after_values(header: str | None, expected: float | None) -> None:
    assert retry_after_seconds(header) == expected


def test_retry_after_in_the_past_means_now() -> None:
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def key_in(source: str, value: str) -> tuple[str, Callable[[str], None]]:
    """Store a key in SSM or Secrets Manager; returns its name or ARN and a way to rotate it."""
    if source == "ssm":
        ssm = boto3.client("ssm")
        name = "/social-sync/rapidapi-key"
        ssm.put_parameter(Name=name, Value=value, Type="SecureString")
        return (
            name,
            lambda new: ssm.put_parameter(Name=name, Value=new, Type="SecureString", Overwrite=True) and None,
        )
    secrets = boto3.client("secretsmanager")
    arn = secrets.create_secret(Name="social-sync/rapidapi-key", SecretString=value)["ARN"]
    return arn, lambda new: secrets.put_secret_value(SecretId=arn, SecretString=new) and None


@pytest.mark.parametrize("source", ["ssm", "secretsmanager"])
def test_the_key_is_read_from_aws_and_cached_until_refreshed(aws: None, source: str) -> None:
    # Given a key in AWS, read once
    name, rotate = key_in(source, "first-key")
    key = RapidApiKey(Settings(table_name="unit", rapidapi_key_parameter=name))

    assert key.get() == "first-key"
    # When it is rotated, then the cached one is used until a refresh is asked for
    rotate("second-key")
    assert key.get() == "first-key"  # cached: no read per request
    assert key.get(refresh=True) == "second-key"
    assert key.refreshable


def test_an_unreadable_key_is_unavailable_without_naming_it(aws: None) -> None:
    key = RapidApiKey(Settings(table_name="unit", rapidapi_key_parameter="/social-sync/missing"))

    with pytest.raises(RapidApiUnavailable) as refused:
        key.get()

    assert "missing" not in refused.value.message


def test_no_key_configured_is_unavailable() -> None:
    with pytest.raises(RapidApiUnavailable, match="no RapidAPI key"):
        RapidApiKey(Settings(table_name="unit")).get()


def test_a_local_key_wins_and_is_never_re_read() -> None:
    key = RapidApiKey(Settings(table_name="unit", rapidapi_key="local", rapidapi_key_parameter="/x"))

    assert (key.get(), key.get(refresh=True), key.refreshable) == ("local", "local", False)
