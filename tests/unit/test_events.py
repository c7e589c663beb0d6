"""Every sample event in events/ through its function's handler, as `sam local invoke -e` runs it.

The function for an event comes from template.yaml (the HttpApi event whose method and path make the
event's routeKey), so an event and the route it claims cannot drift apart. Each file has its expected
status below; a new file without one fails the suite until someone writes down what it should do.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl

import pytest

from tests.fake_rapidapi import FakeRapidApi, fixture_json
from tests.helpers import Invoked, expected_avg_engagement, invoke, load_event, table_items
from tests.template import ROOT, resources

EVENTS_DIR = ROOT / "events"
EVENT_FILES = sorted(path.name for path in EVENTS_DIR.glob("*.json"))
SEED_EVENT = "sync_tiktok.json"
SYNC_PATH = re.compile(r"^/api/v1/profiles/social-sync(/(?P<platform>[a-z]+))?$")
PROFILE_PATH = "/api/v1/profiles/me"
SOCIAL_FETCH_PATH = "/api/v1/social/fetch"
HISTORY_PATH = "/api/v1/profiles/me/stats/history"
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")


@dataclass(frozen=True)
class Expected:
    """What a sample event must produce."""

    status: int
    # The caller already has a profile (made by the seed TikTok sync) when the event arrives.
    given_profile: bool = False
    # For a validation 400: the `field` of each entry of `errors`, in order ("a.b" also matches "a.b.c").
    # Empty: no `errors` key at all.
    error_fields: tuple[str, ...] = ()
    # The caller was issued EVENT_CODE for the event's account, and the account's bio holds it.
    given_code: bool = False


# Error events run against an existing profile, so "nothing changed" also means "stored data untouched".
EXPECTED: dict[str, Expected] = {
    # The main case of each function.
    "sync_tiktok.json": Expected(200),
    "sync_twitch.json": Expected(200),
    "sync_twitter.json": Expected(200),
    "sync_instagram.json": Expected(200),
    "sync_youtube.json": Expected(200),
    "get_profile.json": Expected(200, given_profile=True),
    # AuthMode shared-secret: the caller comes from the Lambda authorizer's context, not from JWT claims.
    "get_profile_shared_secret.json": Expected(200, given_profile=True),
    "update_profile.json": Expected(200),
    "sync_all.json": Expected(200),
    "get_stats_history.json": Expected(200, given_profile=True),
    # Other bodies a sync accepts.
    "sync_followers_only.json": Expected(200),
    "sync_base64_body.json": Expected(200),
    # The handle is fetched from the fake RapidAPI (tests/fake_rapidapi.py), which has this account recorded.
    "sync_by_handle.json": Expected(200, given_profile=True),
    "sync_youtube_by_handle.json": Expected(200, given_profile=True),
    # A handle's numbers, fetched from the fake (the YouTube Data API's recorded answers), stored nowhere.
    "social_fetch.json": Expected(200, given_profile=True),
    "social_fetch_unknown_platform.json": Expected(400, given_profile=True, error_fields=("platform",)),
    "social_fetch_empty_username.json": Expected(400, given_profile=True, error_fields=("username",)),
    "social_fetch_no_such_account.json": Expected(404, given_profile=True),
    # Sync errors.
    "sync_wrong_type.json": Expected(400, given_profile=True, error_fields=("followers",)),
    "sync_fractional_followers.json": Expected(400, given_profile=True, error_fields=("followers",)),
    "sync_out_of_range.json": Expected(400, given_profile=True, error_fields=("engagement",)),
    "sync_null_field.json": Expected(400, given_profile=True, error_fields=("followers",)),
    "sync_empty_body.json": Expected(400, given_profile=True),
    "sync_no_fields.json": Expected(400, given_profile=True, error_fields=("body",)),
    "sync_unknown_field.json": Expected(400, given_profile=True, error_fields=("likes",)),
    "sync_not_json.json": Expected(400, given_profile=True),
    "sync_not_object.json": Expected(400, given_profile=True),
    "sync_mixed_kinds.json": Expected(400, given_profile=True, error_fields=("body",)),
    "sync_no_claims.json": Expected(401, given_profile=True),
    "sync_too_large.json": Expected(413, given_profile=True),
    "sync_all_unknown_platform.json": Expected(400, given_profile=True, error_fields=("platforms.facebook",)),
    "sync_all_no_platforms.json": Expected(400, given_profile=True, error_fields=("platforms",)),
    # Profile and history errors.
    "get_profile_no_profile.json": Expected(404, given_profile=True),
    "update_profile_read_only.json": Expected(400, given_profile=True, error_fields=("stats",)),
    "update_profile_unknown_field.json": Expected(400, given_profile=True, error_fields=("email",)),
    "update_profile_no_fields.json": Expected(400, given_profile=True, error_fields=("body",)),
    "update_profile_wrong_type.json": Expected(
        400, given_profile=True, error_fields=("niche", "syncSettings.autoSync")
    ),
    "get_stats_history_bad_query.json": Expected(400, given_profile=True, error_fields=("platform", "limit")),
    # Verifying a linked account.
    "linked_account_code.json": Expected(200),
    "linked_account_verify.json": Expected(200, given_code=True),
    "linked_account_code_unknown_platform.json": Expected(404, given_profile=True),
    "linked_account_verify_no_code.json": Expected(410, given_profile=True),
    # The docs (DocsFunction, no authorizer): files, not JSON envelopes; tests/unit/test_docs.py runs them.
    "docs_page.json": Expected(200),
    "docs_asset.json": Expected(200),
    "docs_document.json": Expected(200),
    "docs_unknown_asset.json": Expected(404),
}
DOCS_FUNCTION = "DocsFunction"
# The code a given_code event's caller holds (a code's shape: SS- and 8 of 23456789A-HJ-NP-Z).
EVENT_CODE = "SS-EVENTS23"
LINKED_ACCOUNT_PATH = re.compile(
    r"^/api/v1/profiles/me/linked-accounts/(?P<platform>[a-z]+)/(?P<action>code|verify)$"
)


@cache
def route_functions() -> dict[str, str]:
    """routeKey ("POST /api/v1/...") -> logical id of the function template.yaml binds to that route."""
    table: dict[str, str] = {}
    for logical_id, resource in resources("AWS::Serverless::Function").items():
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "HttpApi":
                route = f"{str(event['Properties']['Method']).upper()} {event['Properties']['Path']}"
                assert route not in table, f"{route} is bound to both {table[route]} and {logical_id}"
                table[route] = logical_id
    return table


def function_for(event: dict[str, Any]) -> str:
    """The logical id of the function that serves `event`, failing clearly when no route matches."""
    route = event["routeKey"]
    assert route in route_functions(), f"no HttpApi route in template.yaml for {route!r}"
    return route_functions()[route]


def request_body(event: dict[str, Any]) -> Any:
    """The JSON the event's body carries, decoded the way API Gateway encoded it."""
    raw = event["body"]
    return json.loads(base64.b64decode(raw) if event["isBase64Encoded"] else raw)


def caller(event: dict[str, Any]) -> str:
    authorizer = event["requestContext"]["authorizer"]
    sub = authorizer["lambda"]["userId"] if "lambda" in authorizer else authorizer["jwt"]["claims"]["sub"]
    assert isinstance(sub, str)
    return sub


def run(function: Callable[[str], ModuleType], name: str) -> Invoked:
    event = load_event(name)
    return invoke(function(function_for(event)), event)


def parse_timestamp(value: Any) -> datetime:
    """An ISO 8601 UTC timestamp with a `Z`, as the wire format promises."""
    assert isinstance(value, str), value
    assert ISO_UTC.match(value), f"{value!r} is not ISO 8601 UTC"
    return datetime.fromisoformat(value)


def assert_json_response(headers: dict[str, str]) -> None:
    content_type = {key.lower(): value for key, value in headers.items()}.get("content-type", "")
    assert content_type.startswith("application/json"), headers


def assert_error_body(body: dict[str, Any], expected: Expected, app_shape: bool = False) -> None:
    """The documented error shape: success false, a message for a person, `errors` only for validation;
    in the app's shape (/social/fetch) also `error`, a short machine-friendly phrase."""
    assert body["success"] is False
    if app_shape:
        assert re.fullmatch(r"[a-z_]+", body.pop("error")), body
    assert set(body) <= {"success", "message", "errors"}, body
    assert isinstance(body["message"], str)
    assert body["message"].strip()
    assert "Traceback" not in body["message"]
    if expected.error_fields:
        fields = [error["field"] for error in body["errors"]]
        assert len(fields) == len(expected.error_fields), fields
        for field, wanted in zip(fields, expected.error_fields, strict=True):
            assert field == wanted or field.startswith(f"{wanted}."), fields
        for error in body["errors"]:
            assert set(error) == {"field", "message"}
            assert isinstance(error["message"], str)
            assert error["message"].strip()
    else:
        assert "errors" not in body, body


def assert_synced(
    event: dict[str, Any], body: dict[str, Any], started: datetime, items: list[dict[str, Any]]
) -> None:
    """A sync (of one platform, or of several at once) on a caller with no profile yet.

    The response carries the numbers sent, the aggregates the README defines, and the table holds the
    profile and one history entry per platform synced.
    """
    match = SYNC_PATH.match(event["rawPath"])
    assert match, event["rawPath"]
    platform = match["platform"]
    sent: dict[str, dict[str, Any]] = (
        {platform: request_body(event)} if platform else request_body(event)["platforms"]
    )
    assert body["success"] is True
    named = f" {platform.capitalize()}" if platform else ""
    assert body["message"] == f"Social media{named} synced successfully"
    profile = body["profile"]
    assert profile["userId"] == caller(event)
    stats = profile["stats"]
    assert set(stats["platformBreakdown"]) == set(sent)
    synced_at = parse_timestamp(profile["updatedAt"])
    assert started - timedelta(seconds=1) <= synced_at <= datetime.now(UTC)
    for name, numbers in sent.items():
        entry = stats["platformBreakdown"][name]
        assert {key: entry[key] for key in ("followers", "engagement") if key in entry} == numbers
        assert entry["source"] == "client"
        assert parse_timestamp(entry["lastSyncedAt"]) == synced_at
    assert stats["totalFollowers"] == sum(numbers.get("followers", 0) for numbers in sent.values())
    assert stats["avgEngagement"] == expected_avg_engagement(sent.values())
    assert parse_timestamp(profile["createdAt"]) == synced_at
    # The profile and its history entries were written together.
    keys = [item["sk"]["S"].split("#") for item in items]
    assert sorted(key[1] for key in keys if key[0] == "HISTORY") == sorted(sent), keys
    assert [key for key in keys if key[0] != "HISTORY"] == [["PROFILE"]], keys


def assert_history(event: dict[str, Any], body: dict[str, Any], seeded: dict[str, Any]) -> None:
    """The caller's growth history after the seed sync: that one data point, and no growth yet."""
    query = event.get("queryStringParameters", {})
    seed = load_event(SEED_EVENT)
    platform = seed["rawPath"].rsplit("/", 1)[-1]
    assert query.get("platform") in (None, platform)
    numbers = request_body(seed)
    synced_at = seeded["profile"]["stats"]["platformBreakdown"][platform]["lastSyncedAt"]
    assert body == {
        "success": True,
        "history": [
            {"platform": platform, **numbers, "source": "client", "trigger": "user", "syncedAt": synced_at}
        ],
        "growth": {
            platform: {
                "pointsFrom": synced_at,
                "pointsTo": synced_at,
                "followersFirst": numbers["followers"],
                "followersLast": numbers["followers"],
                "followersChange": 0,
                "followersChangePercent": 0.0,
                "engagementFirst": numbers["engagement"],
                "engagementLast": numbers["engagement"],
            }
        },
    }


def assert_synced_by_handle(event: dict[str, Any], body: dict[str, Any], rapidapi: FakeRapidApi) -> None:
    """A sync by handle: RapidAPI's numbers for the account (none from the request), the handle linked."""
    match = SYNC_PATH.match(event["rawPath"])
    assert match, event["rawPath"]
    platform, handle = match["platform"], request_body(event)["usernameOrId"].removeprefix("@")
    recorded = fixture_json(platform, handle)
    assert isinstance(recorded, dict)
    assert body["message"] == f"Social media {platform.capitalize()} synced successfully"
    entry = body["profile"]["stats"]["platformBreakdown"][platform]
    assert entry["source"] == "rapidapi"
    assert str(entry["followers"]) in json.dumps(recorded)
    assert body["profile"]["linkedAccounts"][platform].lower() == handle.lower()
    assert {(request.platform, request.handle) for request in rapidapi.requests} == {(platform, handle)}


def assert_social_fetch(event: dict[str, Any], body: dict[str, Any], rapidapi: FakeRapidApi) -> None:
    """/social/fetch: the recorded account's numbers, in the app's shape, fetched from the fake."""
    sent = request_body(event)
    recorded = json.dumps(fixture_json(sent["platform"], sent["username"]))
    assert body["success"] is True
    assert set(body) == {"success", "data"}
    data = body["data"]
    assert set(data) == {"followers", "engagement", "engagementKnown"}
    assert type(data["followers"]) is int
    assert f'"{data["followers"]}"' in recorded or f" {data['followers']}," in recorded
    assert isinstance(data["engagement"], float)
    assert rapidapi.count(sent["platform"]) >= 1


def assert_profile_updated(event: dict[str, Any], body: dict[str, Any]) -> None:
    """PUT /profiles/me on a caller with no profile: every field sent comes back, stats start empty."""
    sent = request_body(event)
    assert body["success"] is True
    assert body["message"] == "Profile updated successfully"
    profile = body["profile"]
    assert profile["userId"] == caller(event)
    assert {key: profile[key] for key in sent} == sent
    assert profile["stats"] == {"platformBreakdown": {}, "totalFollowers": 0, "avgEngagement": 0}
    assert parse_timestamp(profile["createdAt"]) == parse_timestamp(profile["updatedAt"])


def give_code(dynamodb: Any, rapidapi: FakeRapidApi, event: dict[str, Any]) -> None:
    """Store EVENT_CODE for the event's caller and account, and put it in the account's recorded bio."""
    from social_sync.container import Container
    from social_sync.models import VerificationCode, utc_now
    from social_sync.settings import Settings
    from social_sync.verification import code_hash

    match = LINKED_ACCOUNT_PATH.match(event["rawPath"])
    assert match
    platform, handle = match["platform"], request_body(event)["handle"]
    now = utc_now()
    code = VerificationCode(
        handle=handle, code_hash=code_hash(EVENT_CODE), issued_at=now, expires_at=now + timedelta(minutes=5)
    )
    Container(Settings.from_env(), dynamodb=dynamodb).verifications.put_code(
        caller(event), platform, handle.lower(), code
    )
    rapidapi.set_bio(platform, handle, f"my bio {EVENT_CODE}", recorded=handle)


def assert_linked_account(
    event: dict[str, Any], body: dict[str, Any], before: list[dict[str, Any]], after: list[dict[str, Any]]
) -> None:
    """A code issued (its hash stored, the code nowhere), or an account verified and its numbers saved."""
    match = LINKED_ACCOUNT_PATH.match(event["rawPath"])
    assert match
    platform, handle = match["platform"], request_body(event)["handle"]
    if match["action"] == "code":
        assert set(body) == {"success", "code", "expiresAt", "message"}
        assert re.fullmatch(r"SS-[23456789A-HJ-NP-Z]{8}", body["code"]), body
        assert body["code"] in body["message"]
        assert parse_timestamp(body["expiresAt"]) > datetime.now(UTC)
        assert body["code"] not in json.dumps(after)
        assert f"VERIFY#CODE#{platform}#{handle}" in {item["sk"]["S"] for item in after}
        return
    profile = body["profile"]
    assert profile["userId"] == caller(event)
    assert profile["verifiedAccounts"][platform]["handle"] == handle
    assert profile["linkedAccounts"][platform] == handle
    entry = profile["stats"]["platformBreakdown"][platform]
    assert (entry["source"], entry["verified"]) == ("rapidapi", True)
    assert profile["stats"]["totalFollowers"] == entry["followers"]
    owners = [item for item in after if item["pk"]["S"] == f"HANDLE#{platform}#{handle}"]
    assert [item["userId"]["S"] for item in owners] == [caller(event)]
    assert len(after) > len(before)


def test_every_event_file_has_an_expected_status() -> None:
    # Given the sample events and the expectations above
    # Then each names the other: no event without an expected status, no expectation without its file
    assert EVENT_FILES, "events/ holds no sample events"
    assert sorted(set(EVENT_FILES) - set(EXPECTED)) == [], "add these files to EXPECTED"
    assert sorted(set(EXPECTED) - set(EVENT_FILES)) == [], "these expected files are missing from events/"


def test_every_route_has_a_main_event() -> None:
    # Given every HttpApi route in template.yaml
    routes = {
        load_event(name)["routeKey"] for name in EVENT_FILES if EXPECTED.get(name, Expected(0)).status == 200
    }
    # Then each one has a sample event that succeeds
    assert sorted(set(route_functions()) - routes) == []


@pytest.mark.parametrize("name", EVENT_FILES)
def test_event_is_an_http_api_payload_2_0_event(name: str) -> None:
    # Given a sample event file
    event = load_event(name)
    context = event["requestContext"]
    # Then it is what API Gateway's HTTP API sends a Lambda, for a route template.yaml declares
    function_for(event)
    assert event["version"] == "2.0"
    # The routeKey is the route as declared: the path with its {parameters}, which pathParameters fill.
    method, route = event["routeKey"].split(" ", 1)
    parameters = event.get("pathParameters", {})
    assert event["routeKey"] == context["routeKey"]
    assert method == context["http"]["method"]
    assert event["rawPath"] == re.sub(r"\{(\w+)\}", lambda found: parameters[found[1]], route)
    assert event["rawPath"] == context["http"]["path"]
    assert isinstance(event["rawQueryString"], str)
    # API Gateway sends queryStringParameters only when there is a query string.
    assert event.get("queryStringParameters") == (dict(parse_qsl(event["rawQueryString"])) or None)
    assert all(key == key.lower() for key in event["headers"]), "API Gateway lower-cases header names"
    assert all(isinstance(value, str) for value in event["headers"].values())
    assert context["stage"] == "$default"
    for key in ("accountId", "apiId", "domainName", "requestId", "time"):
        assert isinstance(context[key], str)
        assert context[key]
    assert isinstance(context["timeEpoch"], int)
    assert {"method", "path", "protocol", "sourceIp", "userAgent"} <= set(context["http"])
    assert isinstance(event["isBase64Encoded"], bool)
    if "body" in event:
        assert isinstance(event["body"], str)
    if "lambda" in context.get("authorizer", {}):
        # A Lambda authorizer's simple response context, as the shared-secret authorizer returns it
        assert set(context["authorizer"]["lambda"]) == {"userId"}
        assert event["headers"]["authorization"].startswith("Bearer ")
    elif "authorizer" in context:
        jwt = context["authorizer"]["jwt"]
        assert {"sub", "iss", "aud", "exp", "iat"} <= set(jwt["claims"])
        assert all(isinstance(value, str) for value in jwt["claims"].values()), "claims arrive as strings"
        assert event["headers"]["authorization"].startswith("Bearer ")
        assert jwt["scopes"] is None or isinstance(jwt["scopes"], list)


@pytest.mark.parametrize(
    "name", [name for name in EVENT_FILES if function_for(load_event(name)) != DOCS_FUNCTION]
)
def test_event_gets_its_documented_response(
    name: str, dynamodb: Any, function: Callable[[str], ModuleType], rapidapi: FakeRapidApi
) -> None:
    if name not in EXPECTED:
        pytest.fail(f"events/{name} has no expected status in EXPECTED")
    expected = EXPECTED[name]
    event = load_event(name)
    # Given the table as the expectation describes it
    seeded = run(function, SEED_EVENT) if expected.given_profile else None
    if seeded:
        assert seeded[0] == 200, seeded
    if expected.given_code:
        give_code(dynamodb, rapidapi, event)
    before = table_items(dynamodb)
    started = datetime.now(UTC)

    # When API Gateway hands the event to the function of its route
    status, body, headers = invoke(function(function_for(event)), event)

    # Then the status and the body are the documented ones
    after = table_items(dynamodb)
    assert status == expected.status, body
    assert_json_response(headers)
    if status >= 400:
        assert_error_body(body, expected, app_shape=event["rawPath"] == SOCIAL_FETCH_PATH)
        assert after == before, "an error must change nothing in the table"
    elif event["rawPath"] == SOCIAL_FETCH_PATH:
        assert_social_fetch(event, body, rapidapi)
        assert after == before, "/social/fetch stores nothing in the profile table"
    elif event["rawPath"] == HISTORY_PATH:
        assert seeded is not None
        assert_history(event, body, seeded[1])
        assert after == before
    elif event["requestContext"]["http"]["method"] == "GET":
        assert seeded is not None
        assert body == {"success": True, "profile": seeded[1]["profile"]}
        assert after == before
    elif event["rawPath"] == PROFILE_PATH:
        assert_profile_updated(event, body)
    elif LINKED_ACCOUNT_PATH.match(event["rawPath"]):
        assert_linked_account(event, body, before, after)
    elif "usernameOrId" in request_body(event):
        assert_synced_by_handle(event, body, rapidapi)
    else:
        assert_synced(event, body, started, after)


def test_seed_tiktok_event_returns_exactly_the_documented_response(
    dynamodb: Any, function: Callable[[str], ModuleType]
) -> None:
    # Given a caller with no profile yet
    event = load_event(SEED_EVENT)
    assert request_body(event) == {"followers": 1000, "engagement": 7.5}

    # When the seed TikTok sync arrives
    status, body, _ = invoke(function("SyncTikTokFunction"), event)

    # Then the response is exactly the README's, timestamps aside (they are now, in ISO 8601 UTC)
    assert status == 200
    profile = body["profile"]
    synced_at = profile["stats"]["platformBreakdown"]["tiktok"]["lastSyncedAt"]
    parse_timestamp(synced_at)
    assert body == {
        "success": True,
        "message": "Social media Tiktok synced successfully",
        "profile": {
            "userId": caller(event),
            "stats": {
                "platformBreakdown": {
                    "tiktok": {
                        "followers": 1000,
                        "engagement": 7.5,
                        "lastSyncedAt": synced_at,
                        "source": "client",
                        "verified": False,
                    }
                },
                "totalFollowers": 1000,
                "avgEngagement": 7.5,
            },
            "createdAt": synced_at,
            "updatedAt": synced_at,
        },
    }
    # And the numbers keep their JSON types: followers an integer, engagement a number
    stats = profile["stats"]
    assert type(stats["platformBreakdown"]["tiktok"]["followers"]) is int
    assert type(stats["totalFollowers"]) is int
    assert isinstance(stats["avgEngagement"], float)
