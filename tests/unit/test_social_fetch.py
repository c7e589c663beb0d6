"""POST /api/v1/social/fetch through its handler: the app's shape, the cache, the limits, the errors."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from social_sync.errors import FetchLimitReached
from social_sync.platforms import PLATFORM_SPECS, RateLimit
from social_sync.providers import parse_account
from social_sync.rapidapi import WindowCap
from tests.fake_rapidapi import FakeRapidApi, MemoryCounter, Reply, fixture_json, fixture_path
from tests.helpers import FETCH_STATE_TABLE_NAME, TABLE_NAME, http_event, invoke

PATH = "/api/v1/social/fetch"
Invoked = tuple[int, dict[str, Any], dict[str, str]]


def recorded_handle(platform: str) -> str:
    """A handle whose account the fake has recorded for `platform`."""
    folder = fixture_path(platform, "not-found").parent
    return sorted(
        path.stem for path in folder.glob("*.json") if path.stem not in ("not-found", "quietchannel")
    )[0]


RECORDED = {name: recorded_handle(name) for name in PLATFORM_SPECS}


@pytest.fixture
def social_fetch(function: Callable[[str], ModuleType], rapidapi: FakeRapidApi) -> Callable[[Any], Invoked]:
    """Send a body to SocialFetchFunction (a fresh container), with the fake upstream behind it."""
    module = function("SocialFetchFunction")

    def send(body: Any, **extra: Any) -> Invoked:
        return invoke(module, http_event("POST", PATH, body, **extra))

    return send


@pytest.mark.parametrize("platform", PLATFORM_SPECS)
def test_a_handle_s_numbers_come_back_in_the_app_s_shape(
    platform: Any, social_fetch: Callable[[Any], Invoked], rapidapi: FakeRapidApi, dynamodb: Any
) -> None:
    # Given a recorded account on the platform
    handle = RECORDED[platform]
    expected = parse_account(platform, handle, fixture_json(platform, handle))

    # When the app asks for its numbers
    status, body, _ = social_fetch({"platform": platform, "username": handle})

    # Then they come back as {"success": true, "data": {"followers", "engagement"}}, fetched from the vendor
    assert status == 200, body
    assert body == {
        "success": True,
        "data": {
            "followers": expected.followers,
            "engagement": expected.engagement if expected.engagement is not None else 0.0,
            "engagementKnown": expected.engagement is not None,
        },
    }
    assert type(body["data"]["followers"]) is int
    assert rapidapi.count(platform) >= 1
    # And nothing is stored in the profiles table
    assert dynamodb.scan(TableName=TABLE_NAME)["Items"] == []


@pytest.mark.parametrize("platform", PLATFORM_SPECS)
def test_a_second_ask_within_five_minutes_is_answered_from_the_cache(
    platform: Any, social_fetch: Callable[[Any], Invoked], rapidapi: FakeRapidApi
) -> None:
    handle = RECORDED[platform]
    first = social_fetch({"platform": platform, "username": handle})
    asked = len(rapidapi.requests)

    # When the same handle is asked again, spelled differently
    second = social_fetch({"platform": platform, "username": f"@{handle.upper()}"})

    # Then the answer is the same and the vendor never saw the second ask
    assert second[:2] == first[:2]
    assert len(rapidapi.requests) == asked


def test_an_expired_answer_is_fetched_again(
    social_fetch: Callable[[Any], Invoked], rapidapi: FakeRapidApi, dynamodb: Any
) -> None:
    assert social_fetch({"platform": "twitch", "username": "ninja"})[0] == 200
    # Given the cached answer's time is up (DynamoDB's TTL may not have removed it yet)
    dynamodb.update_item(
        TableName=FETCH_STATE_TABLE_NAME,
        Key={"key": {"S": "fetch#twitch#ninja"}},
        UpdateExpression="SET expiresAt = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )

    assert social_fetch({"platform": "twitch", "username": "ninja"})[0] == 200

    assert rapidapi.count("twitch", "ninja") == 2


ERRORS: dict[str, tuple[Any, int, str]] = {
    "unknown platform": ({"platform": "facebook", "username": "nasa"}, 400, "unsupported_platform"),
    "empty username": ({"platform": "tiktok", "username": ""}, 400, "invalid_username"),
    "a username with spaces": ({"platform": "tiktok", "username": "a b"}, 400, "invalid_username"),
    "no username": ({"platform": "tiktok"}, 400, "invalid_username"),
    "an unknown field": ({"platform": "tiktok", "username": "x", "userId": "bob"}, 400, "invalid_request"),
    "not an object": ([1, 2], 400, "invalid_request"),
    "not JSON": ("{nope", 400, "invalid_request"),
    "too large": (json.dumps({"platform": "tiktok", "username": "x" * 20_000}), 413, "payload_too_large"),
    "no such account": ({"platform": "instagram", "username": "nobody_at_all"}, 404, "account_not_found"),
    "no such channel": ({"platform": "youtube", "username": "nobody_at_all"}, 404, "account_not_found"),
    "hidden subscribers": ({"platform": "youtube", "username": "quietchannel"}, 404, "followers_hidden"),
}


@pytest.mark.parametrize(("body", "status", "error"), ERRORS.values(), ids=ERRORS.keys())
def test_errors_come_in_the_app_s_shape(
    body: Any, status: int, error: str, social_fetch: Callable[[Any], Invoked], dynamodb: Any
) -> None:
    answer = social_fetch(body)

    assert answer[0] == status, answer
    assert set(answer[1]) <= {"success", "error", "message", "errors"}
    assert answer[1]["success"] is False
    assert answer[1]["error"] == error
    assert answer[1]["message"].strip()
    # And no answer was cached
    keys = [item["key"]["S"] for item in dynamodb.scan(TableName=FETCH_STATE_TABLE_NAME)["Items"]]
    assert [key for key in keys if key.startswith("fetch#")] == []


def test_an_event_for_another_route_is_not_mistaken_for_a_missing_account(
    function: Callable[[str], ModuleType],
) -> None:
    module = function("SocialFetchFunction")

    status, body, _ = invoke(module, http_event("GET", PATH))

    assert (status, body["error"]) == (404, "no_such_route")


def test_no_caller_is_401(social_fetch: Callable[..., Invoked]) -> None:
    status, body, _ = social_fetch({"platform": "tiktok", "username": "charlidamelio"}, sub=None)

    assert (status, body["error"]) == (401, "unauthorized")


@pytest.mark.parametrize(
    ("reply", "status", "error"),
    [
        (Reply(500, b"upstream broke"), 502, "upstream_error"),
        (Reply(timeout=True), 504, "upstream_timeout"),
    ],
    ids=["failure", "timeout"],
)
def test_an_upstream_failure_or_timeout_is_502_or_504_and_not_cached(
    reply: Reply, status: int, error: str, social_fetch: Callable[[Any], Invoked], rapidapi: FakeRapidApi
) -> None:
    # Given an upstream that fails
    rapidapi.always("tiktok", "charlidamelio", reply)

    # When a handle is fetched
    answer = social_fetch({"platform": "tiktok", "username": "charlidamelio"})

    # Then the failure's status, and once the upstream heals, a fresh answer (nothing was cached)
    assert (answer[0], answer[1]["error"]) == (status, error)
    rapidapi.heal("tiktok", "charlidamelio")
    assert social_fetch({"platform": "tiktok", "username": "charlidamelio"})[0] == 200


def test_a_spent_youtube_quota_is_429_until_midnight_pacific_and_reaches_no_vendor(
    function: Callable[[str], ModuleType], rapidapi: FakeRapidApi, env: pytest.MonkeyPatch
) -> None:
    # Given a deployment whose daily YouTube budget is spent
    env.setenv("YOUTUBE_DAILY_QUOTA_UNITS", "0")
    module = function("SocialFetchFunction")

    status, body, headers = invoke(
        module, http_event("POST", PATH, {"platform": "youtube", "username": "mkbhd"})
    )

    assert (status, body["error"]) == (429, "quota_exceeded")
    assert 0 < int(headers["Retry-After"]) <= 25 * 3600
    assert rapidapi.requests == []


def test_a_platform_s_request_window_refuses_with_the_wait_rather_than_waiting() -> None:
    # Given a window of 3 requests an hour, all taken
    now = [0.0]
    # (counted in one shared counter: every container and route takes from the same window)
    cap = WindowCap("tiktok", RateLimit(3, 3600), MemoryCounter(), clock=lambda: now[0])
    for moment in (0.0, 10.0, 20.0):
        now[0] = moment
        cap.take()

    # When a fourth comes, then it is refused with the wait until the first leaves the window
    now[0] = 30.0
    with pytest.raises(FetchLimitReached) as refused:
        cap.take()
    assert refused.value.retry_after_seconds == 3570
    assert "3 requests per hour" in refused.value.message

    now[0] = 3600.0  # the first start has left the window
    cap.take()
