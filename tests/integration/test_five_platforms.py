"""Five platforms over the real local stack, against a fake upstream on 127.0.0.1 for every vendor.

The fake (tests/fake_rapidapi.py) answers RapidAPI's hosts and the YouTube Data API with the recorded
payloads; the local API is pointed at it with RAPIDAPI_BASE_URL and YOUTUBE_BASE_URL.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from localrun.dynamodb import dynamodb_client
from localrun.settings import load_settings
from social_sync.data.fetch_state import DynamoFetchState
from social_sync.platforms import PLATFORM_SPECS
from social_sync.youtube import pacific_day
from tests.fake_rapidapi import FakeRapidApi, Reply
from tests.helpers import sync_now
from tests.integration.stack import LocalStack

SYNC = "/api/v1/profiles/social-sync"
FETCH = "/api/v1/social/fetch"
PROFILE = "/api/v1/profiles/me"
HISTORY = "/api/v1/profiles/me/stats/history"
RECORDED = {
    "tiktok": "charlidamelio",
    "twitch": "ninja",
    "twitter": "nasa",
    "instagram": "nasa",
    "youtube": "mkbhd",
}
FOLLOWERS = {
    "tiktok": 156_183_422,
    "twitch": 19_234_501,
    "twitter": 89_012_345,
    "instagram": 97_654_321,
    "youtube": 19_600_000,
}
MKBHD_ENGAGEMENT = round((130_000 + 105_000 + 151_000) / 3 / 19_600_000 * 100, 6)


def pointed_at(url: str, **extra: str) -> dict[str, str]:
    """The environment of a local API whose vendors are the fake at `url`."""
    return {
        "SYNC_COOLDOWN_SECONDS": "0",
        "RAPIDAPI_BASE_URL": url,
        "RAPIDAPI_KEY": "local-fake-key",
        "YOUTUBE_BASE_URL": url,
        "YOUTUBE_API_KEY": "local-fake-youtube-key",
        # The fake "hangs" 3 s on a scripted timeout: shorter than that, so a timeout is a timeout.
        "RAPIDAPI_TIMEOUT_SECONDS": "1",
        **extra,
    }


@pytest.fixture(scope="module")
def api(
    extra_api: Callable[[dict[str, str]], LocalStack], module_rapidapi: tuple[FakeRapidApi, str]
) -> LocalStack:
    """A local API on the session's DynamoDB Local, every vendor the fake."""
    return extra_api(pointed_at(module_rapidapi[1]))


def unique(platform: str, fake: FakeRapidApi) -> str:
    """A handle no other test asks for, answered with the platform's recorded account."""
    handle = f"{platform[:2]}{uuid.uuid4().hex[:10]}"
    fake.alias(platform, handle, RECORDED[platform])
    return handle


def test_a_youtube_sync_by_handle_then_by_numbers_and_its_history(
    api: LocalStack, module_rapidapi: tuple[FakeRapidApi, str], user: str
) -> None:
    fake, _ = module_rapidapi
    token = api.token(user)
    handle = unique("youtube", fake)
    before = fake.count("youtube")

    # When the app syncs YouTube by handle
    reply = api.request("POST", f"{SYNC}/youtube", {"usernameOrId": f"@{handle}"}, token=token)

    # Then the YouTube Data API's numbers are stored, and the message names the platform as the app expects
    assert reply.status == 200, reply.body
    body = reply.json()
    assert body["message"] == "Social media Youtube synced successfully"
    entry = body["profile"]["stats"]["platformBreakdown"]["youtube"]
    assert (entry["followers"], entry["engagement"], entry["source"]) == (
        19_600_000,
        MKBHD_ENGAGEMENT,
        "rapidapi",
    )
    assert body["profile"]["linkedAccounts"] == {"youtube": "mkbhd"}
    # And the fake saw one channels.list, one playlistItems.list and one videos.list
    assert [request.path for request in fake.requests[before:]] == ["channels", "playlistItems", "videos"]

    # When the app then sends numbers it fetched itself
    reply = api.request("POST", f"{SYNC}/youtube", {"followers": 7100, "engagement": 2.66}, token=token)
    assert reply.status == 200, reply.body
    assert reply.json()["profile"]["stats"]["platformBreakdown"]["youtube"]["followers"] == 7100
    assert fake.count("youtube") == before + 3

    # Then the history has both data points, in time order
    history = api.request("GET", f"{HISTORY}?platform=youtube", token=token).json()
    assert [(point["followers"], point["source"]) for point in history["history"]] == [
        (19_600_000, "rapidapi"),
        (7100, "client"),
    ]
    assert history["growth"]["youtube"]["followersChange"] == 7100 - 19_600_000


def test_sync_all_fetches_five_platforms_in_one_write(
    api: LocalStack, module_rapidapi: tuple[FakeRapidApi, str], user: str
) -> None:
    # Given a handle on each of the five platforms
    fake, _ = module_rapidapi
    handles = {platform: unique(platform, fake) for platform in PLATFORM_SPECS}

    # When they are synced all at once
    reply = api.request(
        "POST",
        SYNC,
        {"platforms": {platform: {"usernameOrId": handle} for platform, handle in handles.items()}},
        token=api.token(user),
    )

    # Then all five land with their fetched numbers, each fetched once
    assert reply.status == 200, reply.body
    stats = reply.json()["profile"]["stats"]
    assert {
        platform: entry["followers"] for platform, entry in stats["platformBreakdown"].items()
    } == FOLLOWERS
    assert stats["totalFollowers"] == sum(FOLLOWERS.values())
    assert {platform: fake.count(platform, handle) for platform, handle in handles.items()} == {
        platform: 1 for platform in PLATFORM_SPECS
    }


def test_the_scheduled_sync_refreshes_a_linked_youtube_channel(
    stack: LocalStack, module_rapidapi: tuple[FakeRapidApi, str], user: str
) -> None:
    # Given a user on the daily schedule with a linked YouTube channel
    fake, url = module_rapidapi
    handle = unique("youtube", fake)
    token = stack.token(user)
    reply = stack.request(
        "PUT",
        PROFILE,
        {"linkedAccounts": {"youtube": handle}, "syncSettings": {"autoSync": True, "frequency": "daily"}},
        token=token,
    )
    assert reply.status == 200, reply.body

    # When the scheduled sync runs
    summary = sync_now(stack, url)

    # Then the channel's subscribers are a point of the history, by the schedule
    assert user not in summary["failed"]
    history = stack.request("GET", f"{HISTORY}?platform=youtube", token=token).json()["history"]
    assert [(point["followers"], point["trigger"]) for point in history] == [(19_600_000, "schedule")]


@pytest.mark.parametrize("platform", PLATFORM_SPECS)
def test_social_fetch_answers_each_platform_and_a_second_ask_never_reaches_the_vendor(
    platform: str, api: LocalStack, module_rapidapi: tuple[FakeRapidApi, str], user: str
) -> None:
    # Given a handle on the platform
    fake, _ = module_rapidapi
    handle = unique(platform, fake)
    token = api.token(user)

    # When it is fetched, then fetched again spelled otherwise
    first = api.request("POST", FETCH, {"platform": platform, "username": handle}, token=token)
    asked = fake.count(platform)
    second = api.request("POST", FETCH, {"platform": platform, "username": f"@{handle.upper()}"}, token=token)

    # Then both answers are the same, and the vendor was asked once
    assert first.status == 200, first.body
    data = first.json()["data"]
    assert data["followers"] == FOLLOWERS[platform]
    assert isinstance(data["engagement"], float)
    assert (second.status, second.json()) == (200, first.json())
    assert fake.count(platform) == asked
    # And nothing was stored in the caller's profile
    assert api.request("GET", PROFILE, token=token).status == 404


ERRORS: dict[str, tuple[Any, int, str]] = {
    "unknown platform": ({"platform": "facebook", "username": "nasa"}, 400, "unsupported_platform"),
    "empty username": ({"platform": "twitch", "username": ""}, 400, "invalid_username"),
    "not an object": (["tiktok"], 400, "invalid_request"),
    "no such account": ({"platform": "tiktok", "username": "nobody_here_1"}, 404, "account_not_found"),
    "hidden subscribers": ({"platform": "youtube", "username": "quietchannel"}, 404, "followers_hidden"),
}


@pytest.mark.parametrize(("body", "status", "error"), ERRORS.values(), ids=ERRORS.keys())
def test_social_fetch_errors_come_in_the_app_s_shape(
    body: Any, status: int, error: str, api: LocalStack, user: str
) -> None:
    reply = api.request("POST", FETCH, body, token=api.token(user))

    assert reply.status == status, reply.body
    answer = reply.json()
    assert (answer["success"], answer["error"]) == (False, error)
    assert answer["message"].strip()
    assert "Traceback" not in reply.body.decode()


@pytest.mark.parametrize(
    ("reply", "status", "error"),
    [(Reply(500, b"broken"), 502, "upstream_error"), (Reply(timeout=True), 504, "upstream_timeout")],
    ids=["failure", "timeout"],
)
def test_social_fetch_upstream_failure_and_timeout(
    reply: Reply,
    status: int,
    error: str,
    api: LocalStack,
    module_rapidapi: tuple[FakeRapidApi, str],
    user: str,
) -> None:
    # Given an upstream that fails for this handle
    fake, _ = module_rapidapi
    handle = unique("twitter", fake)
    fake.always("twitter", handle, reply)

    # When it is fetched
    answer = api.request("POST", FETCH, {"platform": "twitter", "username": handle}, token=api.token(user))

    # Then the failure's status and error, in the app's shape
    assert (answer.status, answer.json()["error"]) == (status, error)


def test_social_fetch_needs_a_token(api: LocalStack) -> None:
    assert api.request("POST", FETCH, {"platform": "tiktok", "username": "charlidamelio"}).status == 401


def test_youtube_stops_at_the_daily_quota_with_a_retry_after_to_midnight_pacific(
    stack: LocalStack,
    extra_api: Callable[[dict[str, str]], LocalStack],
    module_rapidapi: tuple[FakeRapidApi, str],
    user: str,
) -> None:
    fake, url = module_rapidapi
    # Given a budget with room for exactly one more fetch today (the counter is shared by every API)
    dynamodb = dynamodb_client(load_settings(stack.port, stack.dynamodb_port, stack.state_dir))
    counter = {"key": {"S": f"quota#youtube#{pacific_day(datetime.now(UTC))[0]}"}}
    item = dynamodb.get_item(TableName="FetchStateTable", Key=counter, ConsistentRead=True).get("Item")
    spent = int(item["units"]["N"]) if item else 0
    limited = extra_api(pointed_at(url, YOUTUBE_DAILY_QUOTA_UNITS=str(spent + 3)))
    token = limited.token(user)

    # When one fetch spends the last three units, and another handle is asked for
    first = limited.request(
        "POST", FETCH, {"platform": "youtube", "username": unique("youtube", fake)}, token=token
    )
    late = unique("youtube", fake)
    before = fake.count("youtube")
    refused = limited.request("POST", FETCH, {"platform": "youtube", "username": late}, token=token)
    sync = limited.request("POST", f"{SYNC}/youtube", {"usernameOrId": late}, token=token)

    # Then the first is answered, the others are 429 until Google's reset, and the vendor saw neither
    assert first.status == 200, first.body
    assert (refused.status, refused.json()["error"]) == (429, "quota_exceeded")
    assert 0 < int(refused.headers["retry-after"]) <= 25 * 3600
    assert sync.status == 429
    assert "retry-after" in sync.headers
    assert fake.count("youtube") == before
    after = dynamodb.get_item(TableName="FetchStateTable", Key=counter, ConsistentRead=True)["Item"]
    assert int(after["units"]["N"]) == spent + 3
    # And other platforms are not held back by YouTube's quota
    tiktok = limited.request(
        "POST", FETCH, {"platform": "tiktok", "username": unique("tiktok", fake)}, token=token
    )
    assert tiktok.status == 200


def test_concurrent_spenders_take_exactly_the_budget_from_dynamodb(stack: LocalStack) -> None:
    # Given 8 containers spending units of one counter at the same moment, 40 attempts for a budget of 25
    client = dynamodb_client(load_settings(stack.port, stack.dynamodb_port, stack.state_dir))
    state = DynamoFetchState(client, "FetchStateTable")
    counter = f"quota#test#{uuid.uuid4()}"
    results: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def spend() -> None:
        start.wait()
        for _ in range(5):
            spent = state.spend_units(counter, 1, 25, 2_000_000_000)
            with lock:
                results.append(spent)

    threads = [threading.Thread(target=spend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then DynamoDB's conditional update granted exactly the budget, and the counter holds it
    assert (results.count(True), results.count(False)) == (25, 15)
    item = client.get_item(TableName="FetchStateTable", Key={"key": {"S": counter}}, ConsistentRead=True)
    assert item["Item"]["units"]["N"] == "25"
