"""YouTube: the recorded YouTube Data API answers parsed, the calls a fetch makes, and the daily quota."""

from __future__ import annotations

import copy
import json
import zoneinfo
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest

from social_sync.data.fetch_state import DynamoFetchState
from social_sync.errors import (
    AccountNotFound,
    AccountNumbersHidden,
    QuotaExhausted,
    RapidApiTimeout,
    RapidApiUnavailable,
)
from social_sync.providers import parse_account
from social_sync.rapidapi import INTERACTIVE, RapidApiClient
from social_sync.settings import Settings
from social_sync.youtube import DailyQuota, pacific_day
from tests.fake_rapidapi import FakeRapidApi, MemoryCounter, Reply, fixture_json, pacer
from tests.helpers import FETCH_STATE_TABLE_NAME as TABLE

MKBHD_SUBSCRIBERS = 19_600_000
# Likes + comments of the recorded videos whose likes are shown (one hides them; one has comments off).
MKBHD_INTERACTIONS = [121_000 + 9_000, 98_000 + 7_000, 151_000]


def recorded(name: str) -> Any:
    return copy.deepcopy(fixture_json("youtube", name))


def fixture_bytes(name: str, answer: str) -> bytes:
    """One recorded answer (`channels`, `playlistItems`, `videos`) of a handle, as Google sends it."""
    return json.dumps(recorded(name)[answer]).encode()


# --- The answers, parsed.


def test_followers_are_subscribers_and_engagement_is_interactions_per_video_over_them() -> None:
    # Given the recorded channels.list and videos.list answers for @mkbhd
    payload = recorded("mkbhd")

    # When they are parsed
    account = parse_account("youtube", "mkbhd", payload)

    # Then followers are subscriberCount, and engagement averages likes + comments over the videos
    # whose likes are shown, over subscribers, in percent
    assert account.followers == MKBHD_SUBSCRIBERS
    expected = sum(MKBHD_INTERACTIONS) / len(MKBHD_INTERACTIONS) / MKBHD_SUBSCRIBERS * 100
    assert account.engagement == pytest.approx(expected, abs=1e-6)
    assert (account.handle, account.display_name) == ("mkbhd", "Marques Brownlee")
    assert account.avatar is not None
    assert account.avatar.endswith("=s800")


def test_a_channel_without_videos_has_unknown_engagement() -> None:
    # Given a channel's statistics and no videos
    payload = {"channels": recorded("mkbhd")["channels"]}

    # When it is parsed
    account = parse_account("youtube", "mkbhd", payload)

    # Then the subscribers are the followers and the engagement is unknown
    assert account.followers == MKBHD_SUBSCRIBERS
    assert account.engagement is None


def test_engagement_stops_at_100_percent() -> None:
    payload = recorded("mkbhd")
    payload["channels"]["items"][0]["statistics"]["subscriberCount"] = "10"

    assert parse_account("youtube", "mkbhd", payload).engagement == 100.0


def test_a_channel_that_hides_its_subscribers_is_a_clear_not_found() -> None:
    with pytest.raises(AccountNumbersHidden) as hidden:
        parse_account("youtube", "quietchannel", recorded("quietchannel"))

    assert isinstance(hidden.value, AccountNotFound)
    assert "hides its subscriber count" in hidden.value.message


def test_no_channel_is_not_found() -> None:
    with pytest.raises(AccountNotFound) as missing:
        parse_account("youtube", "nobody", recorded("not-found"))

    assert "@nobody" in missing.value.message


@pytest.mark.parametrize(
    "payload",
    [
        None,
        {"channels": "<html>"},
        {"channels": {"items": [{"statistics": {"subscriberCount": "-5"}}]}},
        {"channels": {"items": [{"statistics": {"subscriberCount": "1.5M"}}]}},
        {"channels": {"items": [{"statistics": {}}]}},
    ],
    ids=["null", "a string", "negative", "words", "no count"],
)
def test_answers_that_are_not_a_channel_are_unavailable(payload: Any) -> None:
    with pytest.raises(RapidApiUnavailable):
        parse_account("youtube", "someone", payload)


# --- The calls a fetch makes, through the shared client.


def client(fake: FakeRapidApi, quota: DailyQuota | None = None, **overrides: Any) -> RapidApiClient:
    values: dict[str, Any] = {"table_name": "unit", "youtube_api_key": "yt-key-1234", **overrides}
    return RapidApiClient(
        Settings(**values),
        policy=INTERACTIVE,
        limiter=pacer(1000),
        transport=fake.transport,
        sleep=lambda seconds: None,
        quota=quota,
    )


def test_a_fetch_by_handle_lists_the_channel_its_latest_uploads_and_their_statistics() -> None:
    # Given the YouTube Data API and a daily quota
    fake = FakeRapidApi()
    counter = MemoryCounter()

    # When a channel is fetched by handle
    account = client(fake, DailyQuota(counter, 10_000)).fetch_account("youtube", "@mkbhd")

    # Then three calls, with the key, read the channel, its uploads and their statistics
    assert account.followers == MKBHD_SUBSCRIBERS
    assert [request.path for request in fake.requests] == ["channels", "playlistItems", "videos"]
    assert {request.key for request in fake.requests} == {"yt-key-1234"}
    # One unit per call, counted on today's Pacific counter
    assert list(counter.units.values()) == [3]


def test_the_key_travels_in_a_header_and_the_handle_as_for_handle() -> None:
    # Given a transport that records every request
    seen: list[Any] = []
    fake = FakeRapidApi()
    transport = fake.transport

    class Recording:
        def handle_request(self, request: Any) -> Any:
            seen.append(request)
            return transport.handle_request(request)

    values = {
        "table_name": "unit",
        "youtube_api_key": "yt-key-1234",
        "youtube_base_url": "http://127.0.0.1:9",
    }
    # When a channel is fetched by handle
    RapidApiClient(
        Settings(**values),
        policy=INTERACTIVE,
        limiter=pacer(1000),
        transport=Recording(),  # type: ignore[arg-type]
    ).fetch_account("youtube", "mkbhd")

    # Then the handle is forHandle, the key is a header and never in a URL
    first = seen[0]
    assert str(first.url).startswith("http://127.0.0.1:9/youtube/v3/channels?")
    assert first.url.params["forHandle"] == "@mkbhd"
    assert first.url.params["part"] == "snippet,statistics,contentDetails"
    assert first.headers["x-goog-api-key"] == "yt-key-1234"
    assert all("yt-key-1234" not in str(request.url) for request in seen)
    assert seen[1].url.params["maxResults"] == "12"


def test_a_channel_id_is_asked_for_by_id() -> None:
    fake = FakeRapidApi()

    # When a channel is fetched by its id
    account = client(fake).fetch_account("youtube", "UCBJycsmduvYEL83R_U4JriQ")

    # Then it is that channel
    assert account.followers == MKBHD_SUBSCRIBERS
    assert fake.requests[0].handle == "mkbhd"


def test_a_hidden_or_missing_channel_costs_one_unit_and_no_more_calls() -> None:
    # Given the YouTube Data API and a daily quota
    fake = FakeRapidApi()
    counter = MemoryCounter()
    youtube = client(fake, DailyQuota(counter, 10_000))

    # When a channel with hidden numbers and a missing one are fetched, then each is refused
    with pytest.raises(AccountNumbersHidden):
        youtube.fetch_account("youtube", "quietchannel")
    with pytest.raises(AccountNotFound):
        youtube.fetch_account("youtube", "nobody")

    # And each cost its one channels call
    assert [request.path for request in fake.requests] == ["channels", "channels"]
    assert sum(counter.units.values()) == 2


def test_a_channel_without_an_uploads_playlist_has_numbers_but_no_engagement() -> None:
    fake = FakeRapidApi()
    fake.always("youtube", "mkbhd", Reply(404, b'{"error": {"code": 404}}'))
    # Given the channel answers, but its uploads playlist is not found
    fake.alias("youtube", "newchannel", "mkbhd")

    account = client(fake).fetch_account("youtube", "newchannel")

    assert account.followers == MKBHD_SUBSCRIBERS
    assert account.engagement is None


def test_the_calls_of_one_fetch_share_one_time_budget() -> None:
    # Given an API where every request takes 3 s (a 1 s read timeout, so an attempt takes at most 3 s),
    # and the uploads playlist failing once
    fake = FakeRapidApi()
    fake.script("youtube", "mkbhd", Reply(200, fixture_bytes("mkbhd", "channels")), Reply(503))
    now = [0.0]

    def slow(request: httpx.Request) -> httpx.Response:
        now[0] += 3.0
        return fake.transport.handle_request(request)

    values = {"table_name": "unit", "youtube_api_key": "yt-key-1234", "rapidapi_timeout_seconds": 1}
    youtube = RapidApiClient(
        Settings(**values),
        policy=INTERACTIVE,
        limiter=pacer(1000),
        transport=httpx.MockTransport(slow),
        clock=lambda: now[0],
        sleep=lambda seconds: None,
    )

    # When it is fetched, Then its calls share the fetch's one deadline (8 s): the failed call is retried
    # while time is left, and the answer that comes past the deadline ends the fetch as a timeout
    with pytest.raises(RapidApiTimeout):
        youtube.fetch_account("youtube", "mkbhd")
    assert [request.path for request in fake.requests] == ["channels", "playlistItems", "playlistItems"]
    assert now[0] == 9.0


def test_the_spent_quota_stops_fetches_before_any_call_with_a_retry_after_to_the_reset() -> None:
    # Given a daily quota of 4 units at noon Pacific time
    fake = FakeRapidApi()
    counter = MemoryCounter()
    moment = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)  # 12:00 in Los Angeles (PST, UTC-8)
    quota = DailyQuota(counter, 4, now=lambda: moment)
    youtube = client(fake, quota)

    # When a fetch spends 3 and the next one runs out
    youtube.fetch_account("youtube", "mkbhd")  # 3 units
    with pytest.raises(QuotaExhausted) as spent:
        youtube.fetch_account("youtube", "mkbhd")  # the channel takes the 4th; the playlist finds none

    # Then it is refused until midnight Pacific, and later fetches call nothing
    assert spent.value.retry_after_seconds == 12 * 3600
    assert "midnight Pacific" in spent.value.message
    assert len(fake.requests) == 4
    with pytest.raises(QuotaExhausted):
        youtube.fetch_account("youtube", "mkbhd")
    assert len(fake.requests) == 4


# --- Google's day.


@pytest.mark.parametrize(
    ("moment", "day", "seconds"),
    [
        (datetime(2026, 11, 29, 7, 59, 59, tzinfo=UTC), "2026-11-28", 1),  # 23:59:59 PST
        (datetime(2026, 11, 29, 8, 0, tzinfo=UTC), "2026-11-29", 24 * 3600),  # midnight PST
        (datetime(2026, 7, 1, 7, 0, tzinfo=UTC), "2026-07-01", 24 * 3600),  # midnight PDT (UTC-7)
        # The day clocks go back (1 November 2026) has 25 hours; the day they go forward, 23.
        (datetime(2026, 11, 1, 7, 0, tzinfo=UTC), "2026-11-01", 25 * 3600),
        (datetime(2026, 3, 8, 8, 0, tzinfo=UTC), "2026-03-08", 23 * 3600),
    ],
)
def test_the_quota_day_is_the_pacific_day_and_resets_at_its_midnight(
    moment: datetime, day: str, seconds: int
) -> None:
    assert pacific_day(moment) == (day, seconds)


# --- The counter in DynamoDB.


@pytest.fixture
def state(dynamodb: Any) -> DynamoFetchState:
    """The fetch-state table as the template declares it, in moto (tests/unit/conftest.py)."""
    return DynamoFetchState(dynamodb, TABLE)


def test_the_counter_never_passes_the_limit(state: DynamoFetchState) -> None:
    assert state.spend_units("quota#youtube#2026-11-29", 3, 5, 2_000_000_000)
    assert state.spend_units("quota#youtube#2026-11-29", 2, 5, 2_000_000_000)
    assert not state.spend_units("quota#youtube#2026-11-29", 1, 5, 2_000_000_000)
    # Another day has its own counter; more than the limit at once is never taken
    assert state.spend_units("quota#youtube#2026-11-30", 1, 5, 2_000_000_000)
    assert not state.spend_units("quota#youtube#2026-12-01", 6, 5, 2_000_000_000)


def test_a_counter_expires_after_its_day(state: DynamoFetchState) -> None:
    # When a unit is spent
    now = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
    DailyQuota(state, 10, now=lambda: now).spend(1)

    key = {"key": {"S": "quota#youtube#2026-11-29"}}
    item = boto3.client("dynamodb").get_item(TableName=TABLE, Key=key)["Item"]

    # Then the day's counter holds it and expires two days later
    assert item["units"]["N"] == "1"
    assert int(item["expiresAt"]["N"]) == int((now + timedelta(days=2)).timestamp())


def test_the_pacific_zone_needs_no_zone_files_of_the_system() -> None:
    # Given no system time zone folders (as in a Lambda image without them), only the layer's tzdata
    zoneinfo.reset_tzpath(to=[])
    try:
        # Then America/Los_Angeles still loads, with its rules
        zone = zoneinfo.ZoneInfo.no_cache("America/Los_Angeles")
        assert datetime(2026, 7, 1, tzinfo=zone).utcoffset() == timedelta(hours=-7)
        assert datetime(2026, 12, 1, tzinfo=zone).utcoffset() == timedelta(hours=-8)
    finally:
        zoneinfo.reset_tzpath()
