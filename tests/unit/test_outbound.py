"""Hostile upstreams: one deadline for a whole fetch, a cap on the decoded body, Retry-After on the HTTP path.

The slow drip and the gzip bomb are served by the fake RapidAPI on 127.0.0.1 and fetched over real
sockets through the functions' own transport; peak memory of the bomb is measured by `make bench`.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from social_sync import outbound
from social_sync.deadline import Deadline
from social_sync.errors import RapidApiTimeout, RapidApiUnavailable
from social_sync.rapidapi import INTERACTIVE, MAX_PAYLOAD_BYTES, RapidApiClient
from social_sync.settings import Settings
from tests.fake_rapidapi import FakeRapidApi, MemorySlots, Reply, fixture, gzip_bomb
from tests.helpers import FakeContext, http_event, served_fake_vendors

SYNC_TIKTOK = "/api/v1/profiles/social-sync/tiktok"


class ShortContext(FakeContext):
    """A function with only `seconds` left before its timeout."""

    def __init__(self, seconds: float) -> None:
        self._deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@pytest.fixture
def served() -> Iterator[tuple[FakeRapidApi, str]]:
    yield from served_fake_vendors()


def real_client(url: str) -> RapidApiClient:
    """A client on the functions' own transport (real sockets), pacing on in-memory slots."""
    from social_sync.quota import SharedQuota

    config = Settings(table_name="unit", rapidapi_key="k", rapidapi_base_url=url)
    quota = SharedQuota(MemorySlots(), "rapidapi", requests_per_second=100, caller="http", schedule_reserve=0)
    return RapidApiClient(config, policy=INTERACTIVE, limiter=quota)


def test_a_slow_drip_ends_at_the_deadline_not_at_the_read_timeout(served: tuple[FakeRapidApi, str]) -> None:
    # Given an upstream that sends its body one byte every 0.4 s (each read well inside the 5 s timeout)
    fake, url = served
    fake.always("tiktok", "charlidamelio", Reply(200, fixture("tiktok", "charlidamelio"), drip_seconds=0.4))
    started = time.monotonic()

    # When a fetch is given 1.5 s in all
    with pytest.raises(RapidApiTimeout):
        real_client(url).fetch_account("tiktok", "charlidamelio", Deadline.within(1.5))

    # Then it gives up at its deadline (no retry fits in what is left)
    # (without it, 2.4 KB at 0.4 s a byte would take 15 minutes)
    assert 1.4 <= time.monotonic() - started < 4.0


def test_a_sync_from_a_slow_drip_answers_504_before_the_function_times_out(
    function: Any, dynamodb: Any, env: pytest.MonkeyPatch, served: tuple[FakeRapidApi, str]
) -> None:
    # Given RapidAPI dripping one byte every 3 s, and a sync function with 4 s left
    fake, url = served
    fake.always("tiktok", "charlidamelio", Reply(200, fixture("tiktok", "charlidamelio"), drip_seconds=3))
    env.setenv("RAPIDAPI_BASE_URL", url)
    env.setenv("RAPIDAPI_KEY", "k")
    handler = function("SyncTikTokFunction").lambda_handler
    started = time.monotonic()

    # When the creator syncs by handle
    result = handler(http_event("POST", SYNC_TIKTOK, {"usernameOrId": "charlidamelio"}), ShortContext(4))

    # Then the answer is the documented 504, given before the function's own timeout
    elapsed = time.monotonic() - started
    assert result["statusCode"] == 504
    body = json.loads(result["body"])
    assert body["success"] is False
    assert "in time" in body["message"]
    assert elapsed < 4


def test_a_gzip_bomb_is_refused_once_it_decodes_past_the_cap(served: tuple[FakeRapidApi, str]) -> None:
    # Given an upstream answering 1 MB of gzip that decodes to 1 GiB of zeros
    fake, url = served
    fake.always("tiktok", "charlidamelio", Reply(200, gzip_bomb(), {"content-encoding": "gzip"}))

    # When it is fetched, then it is refused as too large, not inflated
    with pytest.raises(RapidApiUnavailable, match="too large"):
        real_client(url).fetch_account("tiktok", "charlidamelio", Deadline.within(8))


def test_a_compressed_answer_under_the_cap_is_read(served: tuple[FakeRapidApi, str]) -> None:
    # Given a gzip answer under the cap
    fake, url = served
    fake.always(
        "tiktok",
        "charlidamelio",
        Reply(200, gzip.compress(fixture("tiktok", "charlidamelio")), {"content-encoding": "gzip"}),
    )
    # When it is fetched over HTTP, then it is read
    account = real_client(url).fetch_account("tiktok", "charlidamelio", Deadline.within(8))
    assert account.followers == 156_183_422


@pytest.mark.parametrize(("encoding", "body"), [("br", b"\x0b\x00\x80{}\x03"), ("gzip", b"not gzip at all")])
def test_an_answer_in_an_encoding_not_asked_for_or_corrupt_is_unreadable(
    served: tuple[FakeRapidApi, str], encoding: str, body: bytes
) -> None:
    fake, url = served
    fake.always("tiktok", "charlidamelio", Reply(200, body, {"content-encoding": encoding}))
    with pytest.raises(RapidApiUnavailable, match="could not be read"):
        real_client(url).fetch_account("tiktok", "charlidamelio", Deadline.within(8))


def test_the_cap_counts_decoded_bytes_whatever_the_chunks() -> None:
    # When a body one byte over the cap decoded comes in small gzip chunks, then it is refused
    deflated = gzip.compress(bytes(MAX_PAYLOAD_BYTES + 1))
    chunks = [deflated[i : i + 7] for i in range(0, len(deflated), 7)]
    with pytest.raises(outbound.BodyTooLarge):
        outbound.read_capped(chunks, "gzip", MAX_PAYLOAD_BYTES, Deadline.within(60))
    # And one exactly at the cap is read
    exact = gzip.compress(bytes(1000))
    assert outbound.read_capped([exact], "gzip", 1000, Deadline.within(60)) == bytes(1000)


def test_a_fetch_sends_only_encodings_it_can_decode(served: tuple[FakeRapidApi, str]) -> None:
    # Given a transport that records the request
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, stream=httpx.ByteStream(fixture("tiktok", "charlidamelio")))

    # When a fetch is sent
    client = outbound.http_client(connect_timeout=1, read_timeout=1, transport=httpx.MockTransport(handle))
    outbound.get(
        client, "https://x.example/a", params={}, headers={}, deadline=Deadline.within(5), max_bytes=10**6
    )
    # Then it accepts only gzip and deflate
    assert seen[0].headers["accept-encoding"] == "gzip, deflate"


def test_a_429_with_retry_after_is_retried_on_the_http_path(function: Any, rapidapi: FakeRapidApi) -> None:
    # Given RapidAPI rate limiting the first request for 1 s
    rapidapi.script("tiktok", "charlidamelio", Reply(429, b"{}", {"retry-after": "1"}))

    # When a creator syncs by handle over HTTP
    result = function("SyncTikTokFunction").lambda_handler(
        http_event("POST", SYNC_TIKTOK, {"usernameOrId": "charlidamelio"}), FakeContext()
    )

    # Then the request is sent again after the wait and the sync lands
    assert result["statusCode"] == 200, result["body"]
    assert rapidapi.count() == 2
    assert any(wait == pytest.approx(1.0, abs=0.05) for wait in rapidapi.sleeps)


def test_a_deadline_already_past_sends_nothing() -> None:
    client = outbound.http_client(connect_timeout=1, read_timeout=1)
    with pytest.raises(outbound.DeadlineExceeded):
        outbound.get(
            client, "http://127.0.0.1:9/", params={}, headers={}, deadline=Deadline.within(0), max_bytes=1
        )
