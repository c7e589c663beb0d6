"""Sync by handle through the real handlers: the service fetches the numbers itself, or stores nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from social_sync.errors import RapidApiTimeout
from social_sync.models import FetchedAccount
from social_sync.profiles import fetch_accounts
from tests.fake_rapidapi import FakeRapidApi, Reply
from tests.helpers import history_items, sync, sync_all, synced, table_items
from tests.template import ROOT

RECORDED = {"tiktok": "charlidamelio", "twitter": "nasa", "twitch": "ninja", "instagram": "nasa"}


@pytest.mark.parametrize("platform", list(RECORDED))
def test_a_handle_sync_stores_the_fetched_numbers_with_source_rapidapi(
    function: Any, rapidapi: FakeRapidApi, dynamodb: Any, platform: str
) -> None:
    # Given a creator with no profile yet
    # When they sync a platform by handle
    status, body, _ = sync(function, platform, {"usernameOrId": RECORDED[platform]})

    # Then the numbers are RapidAPI's, the handle is remembered, and one request was made
    assert status == 200, body
    assert body["message"] == f"Social media {platform.capitalize()} synced successfully"
    entry = body["profile"]["stats"]["platformBreakdown"][platform]
    assert entry["source"] == "rapidapi"
    assert (
        entry["followers"]
        == {"tiktok": 156_183_422, "twitter": 89_012_345, "twitch": 19_234_501, "instagram": 97_654_321}[
            platform
        ]
    )
    assert body["profile"]["stats"]["totalFollowers"] == entry["followers"]
    assert set(body["profile"]["linkedAccounts"]) == {platform}
    assert rapidapi.count() == 1
    history = history_items(dynamodb)
    assert [(item["source"]["S"], item["trigger"]["S"]) for item in history] == [("rapidapi", "user")]


def test_the_platforms_own_spelling_of_the_handle_is_remembered(
    function: Any, rapidapi: FakeRapidApi
) -> None:
    status, body, _ = sync(function, "twitter", {"usernameOrId": "@nasa"})

    assert status == 200
    assert body["profile"]["linkedAccounts"] == {"twitter": "NASA"}
    assert rapidapi.requests[0].handle == "nasa"


def test_an_unknown_engagement_keeps_the_stored_rate(function: Any, rapidapi: FakeRapidApi) -> None:
    # Given Twitch numbers the app sent earlier, with an engagement rate
    synced(function, "twitch", {"followers": 100, "engagement": 4.5})

    # When Twitch is synced by handle (this endpoint reports no engagement)
    _, body, _ = sync(function, "twitch", {"usernameOrId": "ninja"})

    # Then the followers are fetched ones and the rate is the one already stored
    entry = body["profile"]["stats"]["platformBreakdown"]["twitch"]
    assert (entry["followers"], entry["engagement"], entry["source"]) == (19_234_501, 4.5, "rapidapi")


def test_the_fetched_numbers_join_the_aggregates_of_the_other_platforms(
    function: Any, rapidapi: FakeRapidApi
) -> None:
    # Given Instagram numbers the app sent earlier
    synced(function, "instagram", {"followers": 15_925, "engagement": 2.91})

    # When TikTok is synced by handle
    body = synced(function, "tiktok", {"usernameOrId": "charlidamelio"})

    # Then the aggregates weigh both platforms
    stats = body["profile"]["stats"]
    tiktok = stats["platformBreakdown"]["tiktok"]
    assert stats["totalFollowers"] == 15_925 + 156_183_422
    weighted = (15_925 * 2.91 + tiktok["followers"] * tiktok["engagement"]) / stats["totalFollowers"]
    assert stats["avgEngagement"] == round(weighted, 2)


FAILURES = {
    "unknown account": ("ghost", None, 404, "No TikTok account"),
    "RapidAPI down": ("charlidamelio", Reply(503), 502, "RapidAPI"),
    "RapidAPI rate limiting for long": (
        "charlidamelio",
        Reply(429, b"{}", {"retry-after": "120"}),
        502,
        "RapidAPI",
    ),
    "RapidAPI refusing the key": ("charlidamelio", Reply(403, b'{"message":"not subscribed"}'), 502, "key"),
    "RapidAPI timing out": ("charlidamelio", Reply(timeout=True), 504, "in time"),
    "garbage": ("charlidamelio", Reply(200, b"<html>oops</html>"), 502, "could not be read"),
    "absurd numbers": (
        "charlidamelio",
        Reply(
            200,
            json.dumps({"statusCode": 0, "userInfo": {"user": {}, "stats": {"followerCount": -3}}}).encode(),
        ),
        502,
        "could not be read",
    ),
}


@pytest.mark.parametrize(("handle", "reply", "status", "says"), FAILURES.values(), ids=FAILURES.keys())
def test_a_failed_fetch_answers_its_status_and_stores_nothing(
    function: Any,
    rapidapi: FakeRapidApi,
    dynamodb: Any,
    handle: str,
    reply: Reply | None,
    status: int,
    says: str,
) -> None:
    # Given a creator whose profile already holds TikTok numbers
    synced(function, "tiktok", {"followers": 1000, "engagement": 7.5})
    before = table_items(dynamodb)
    if reply is not None:
        rapidapi.always("tiktok", handle, reply)

    # When a sync by handle fails at RapidAPI
    answer, body, _ = sync(function, "tiktok", {"usernameOrId": handle})

    # Then the documented status, a message for a person, and not one item changed
    assert answer == status
    assert body["success"] is False
    assert says in body["message"]
    assert set(body) == {"success", "message"}
    assert table_items(dynamodb) == before


def test_a_handle_body_carries_no_numbers(function: Any, rapidapi: FakeRapidApi, dynamodb: Any) -> None:
    # When a body names a handle and numbers too
    status, _, _ = sync(function, "tiktok", {"usernameOrId": "charlidamelio", "followers": 999_999_999})

    # Then it is a 400, before any request to RapidAPI, and nothing is stored
    assert status == 400
    assert rapidapi.count() == 0
    assert table_items(dynamodb) == []


def test_a_deployment_refusing_client_numbers_still_syncs_by_handle(
    function: Any, rapidapi: FakeRapidApi, env: pytest.MonkeyPatch
) -> None:
    # Given a deployment that refuses client-reported numbers
    env.setenv("ALLOW_CLIENT_REPORTED_STATS", "false")

    # When numbers are sent, then a handle
    assert sync(function, "tiktok", {"followers": 1000})[0] == 403
    status, body, _ = sync(function, "tiktok", {"usernameOrId": "charlidamelio"})

    # Then the numbers were refused and the handle's fetched numbers stored
    assert status == 200
    assert body["profile"]["stats"]["platformBreakdown"]["tiktok"]["source"] == "rapidapi"


def test_the_cooldown_is_checked_before_spending_a_rapidapi_request(
    function: Any, rapidapi: FakeRapidApi, env: pytest.MonkeyPatch
) -> None:
    # Given a 60 s cooldown and a handle just synced
    env.setenv("SYNC_COOLDOWN_SECONDS", "60")
    synced(function, "tiktok", {"usernameOrId": "charlidamelio"})

    # When it is synced again
    status, _, headers = sync(function, "tiktok", {"usernameOrId": "charlidamelio"})

    # Then it is a 429 and RapidAPI was asked only the first time
    assert status == 429
    assert 59 <= int(headers["Retry-After"]) <= 60
    assert rapidapi.count() == 1


def test_sync_all_fetches_every_handle_and_writes_them_together(
    function: Any, rapidapi: FakeRapidApi
) -> None:
    # Given a "sync all" body with two handles and numbers for a third platform
    body = {
        "platforms": {
            "tiktok": {"usernameOrId": "charlidamelio"},
            "twitch": {"usernameOrId": "ninja"},
            "instagram": {"followers": 10},
        }
    }

    # When it is sent
    status, answer, _ = sync_all(function, body)

    # Then all three land, the handles' numbers as fetched ones
    assert status == 200, answer
    breakdown = answer["profile"]["stats"]["platformBreakdown"]
    assert {platform: entry["source"] for platform, entry in breakdown.items()} == {
        "tiktok": "rapidapi",
        "twitch": "rapidapi",
        "instagram": "client",
    }
    assert answer["profile"]["linkedAccounts"] == {"tiktok": "charlidamelio", "twitch": "ninja"}


def test_sync_all_stores_nothing_when_one_handle_fails(
    function: Any, rapidapi: FakeRapidApi, dynamodb: Any
) -> None:
    # Given a "sync all" body where one handle does not exist
    body = {"platforms": {"tiktok": {"usernameOrId": "charlidamelio"}, "twitch": {"usernameOrId": "ghost"}}}

    # When it is sent
    status, answer, _ = sync_all(function, body)

    # Then it is that platform's 404, and nothing is stored
    assert status == 404
    assert "Twitch" in answer["message"]
    assert table_items(dynamodb) == []


def test_a_numbers_sync_never_imports_the_http_client() -> None:
    # Given a fresh interpreter that loads a sync function and syncs numbers (the event and context
    # are built here: the test helpers themselves import httpx)
    script = f"""
import json, os, sys
sys.path[:0] = [{str(ROOT / "shared")!r}, {str(ROOT)!r}]
os.environ.update(
    AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", TABLE_NAME="unit"
)
from moto import mock_aws
with mock_aws():
    import boto3
    from tests.template import load_function, table_definition
    boto3.client("dynamodb").create_table(TableName="unit", **table_definition())
    handler = load_function("SyncTikTokFunction")
    event = {{
        "version": "2.0", "routeKey": "POST /api/v1/profiles/social-sync/tiktok",
        "rawPath": "/api/v1/profiles/social-sync/tiktok", "rawQueryString": "", "headers": {{}},
        "requestContext": {{"http": {{"method": "POST", "path": "/api/v1/profiles/social-sync/tiktok"}},
                            "authorizer": {{"jwt": {{"claims": {{"sub": "alice"}}}}}}, "requestId": "r",
                            "routeKey": "POST /api/v1/profiles/social-sync/tiktok", "stage": "$default"}},
        "body": json.dumps({{"followers": 1}}), "isBase64Encoded": False,
    }}
    class Context:
        function_name = "f"; memory_limit_in_mb = 512; aws_request_id = "r"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
        get_remaining_time_in_millis = staticmethod(lambda: 10_000)
    result = handler.lambda_handler(event, Context())
    assert result["statusCode"] == 200, result
heavy = ("httpx", "social_sync.rapidapi", "aws_lambda_powertools.utilities.parameters")
print(sorted(name for name in heavy if name in sys.modules))
"""
    # When it has answered
    done = subprocess.run(  # noqa: S603 - this interpreter, a script written above
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )

    # Then neither httpx nor the parameters utility was loaded
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_fetching_several_platforms_returns_each_result_and_keeps_going_past_failures() -> None:
    # Given a fetcher that fails for Twitch only
    def fetch(platform: Any, handle: str) -> FetchedAccount:
        if platform == "twitch":
            raise RapidApiTimeout("Twitch timed out")
        return FetchedAccount(platform=platform, handle=handle, followers=len(handle))

    # When three platforms are fetched at once
    results = fetch_accounts(fetch, {"tiktok": "abc", "twitch": "x", "instagram": "abcdef"})

    # Then each platform has its own outcome
    assert isinstance(results["twitch"], RapidApiTimeout)
    assert {p: r.followers for p, r in results.items() if isinstance(r, FetchedAccount)} == {
        "tiktok": 3,
        "instagram": 6,
    }


def test_a_bug_in_a_fetch_is_not_mistaken_for_a_rapidapi_failure() -> None:
    def fetch(platform: Any, handle: str) -> FetchedAccount:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        fetch_accounts(fetch, {"tiktok": "a", "twitch": "b"})
