"""The README's HTTP API contract end to end: real HTTP, the local authorizer, handlers, DynamoDB Local."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.helpers import assert_aggregates_match_breakdown, sync_over_http, synced_over_http
from tests.integration.stack import LocalStack

SYNC = "/api/v1/profiles/social-sync/{}"
PROFILE = "/api/v1/profiles/me"
PLATFORMS = {"tiktok": "Tiktok", "twitch": "Twitch", "twitter": "Twitter", "instagram": "Instagram"}
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def profile_of(stack: LocalStack, user: str) -> Any:
    """The user's profile, read over HTTP; asserts 200."""
    reply = stack.request("GET", PROFILE, token=stack.token(user))
    assert reply.status == 200, reply.body
    return reply.json()["profile"]


# --- sync ---------------------------------------------------------------------------------------------


def test_syncing_tiktok_returns_the_documented_response(stack: LocalStack, user: str) -> None:
    # Given a user with no profile yet
    # When the app syncs TikTok numbers it fetched
    reply = sync_over_http(stack, user, "tiktok", {"followers": 1000, "engagement": 7.5})

    # Then the profile is created and returned exactly as the README shows it
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"].startswith("application/json")
    body = reply.json()
    assert body["success"] is True
    assert body["message"] == "Social media Tiktok synced successfully"
    profile = body["profile"]
    assert profile["userId"] == user
    tiktok = profile["stats"]["platformBreakdown"]["tiktok"]
    assert tiktok["followers"] == 1000
    assert type(tiktok["followers"]) is int  # a JSON integer, not 1000.0
    assert tiktok["engagement"] == 7.5
    assert tiktok["source"] == "client"
    assert ISO_UTC.match(tiktok["lastSyncedAt"])
    assert profile["stats"]["totalFollowers"] == 1000
    assert type(profile["stats"]["totalFollowers"]) is int
    assert profile["stats"]["avgEngagement"] == 7.5
    assert ISO_UTC.match(profile["createdAt"])
    assert ISO_UTC.match(profile["updatedAt"])


@pytest.mark.parametrize(("platform", "name"), PLATFORMS.items())
def test_each_platform_route_syncs_its_own_platform(
    stack: LocalStack, user: str, platform: str, name: str
) -> None:
    reply = sync_over_http(stack, user, platform, {"followers": 42, "engagement": 1.25})

    assert reply.status == 200, reply.body
    assert reply.json()["message"] == f"Social media {name} synced successfully"
    assert set(reply.json()["profile"]["stats"]["platformBreakdown"]) == {platform}


def test_aggregates_over_all_platforms_are_the_follower_weighted_mean(stack: LocalStack, user: str) -> None:
    # Given numbers on every platform (the captured response the README cites, less YouTube)
    for platform, body in {
        "tiktok": {"followers": 1000, "engagement": 0},
        "instagram": {"followers": 15925, "engagement": 2.91},
        "twitter": {"followers": 7100, "engagement": 2.66},
        "twitch": {"followers": 0, "engagement": 0},
    }.items():
        assert sync_over_http(stack, user, platform, body).status == 200

    # Then the totals are the sum and the follower-weighted mean
    profile = profile_of(stack, user)
    assert profile["stats"]["totalFollowers"] == 24025
    assert profile["stats"]["avgEngagement"] == 2.71  # (15925 * 2.91 + 7100 * 2.66) / 24025 = 2.7149...
    assert_aggregates_match_breakdown(profile)


def test_a_field_left_out_keeps_the_stored_value(stack: LocalStack, user: str) -> None:
    # Given Twitch synced with both numbers
    synced_over_http(stack, user, "twitch", {"followers": 500, "engagement": 4.0})

    # When it is synced with followers only
    reply = sync_over_http(stack, user, "twitch", {"followers": 600})

    # Then the engagement is the stored one
    assert reply.status == 200, reply.body
    twitch = reply.json()["profile"]["stats"]["platformBreakdown"]["twitch"]
    assert twitch["followers"] == 600
    assert twitch["engagement"] == 4.0


def test_updated_at_changes_on_every_successful_sync(stack: LocalStack, user: str) -> None:
    # When a profile is synced twice
    first = synced_over_http(stack, user, "tiktok", {"followers": 1})["profile"]
    second = synced_over_http(stack, user, "tiktok", {"followers": 2})["profile"]

    # Then updatedAt moved and createdAt did not
    assert second["updatedAt"] > first["updatedAt"]
    assert second["createdAt"] == first["createdAt"]


BAD_SYNC_BODIES: dict[str, bytes] = {
    "not JSON": b"{followers: 1",
    "not an object": b"[1, 2]",
    "no field": b"{}",
    "followers as string": b'{"followers": "1000"}',
    "followers as boolean": b'{"followers": true}',
    "followers null": b'{"followers": null}',
    "fraction of a follower": b'{"followers": 10.5}',
    "followers negative": b'{"followers": -1}',
    "followers over ten billion": b'{"followers": 10000000001}',
    "engagement as string": b'{"engagement": "7.5"}',
    "engagement over 100": b'{"engagement": 100.5}',
    "engagement negative": b'{"engagement": -0.1}',
    "unknown field": b'{"followers": 1, "likes": 5}',
    "a user id": b'{"followers": 1, "userId": "someone-else"}',
    "mixed kinds": b'{"followers": 1, "usernameOrId": "charlidamelio"}',
}


@pytest.mark.parametrize("body", BAD_SYNC_BODIES.values(), ids=BAD_SYNC_BODIES.keys())
def test_a_bad_sync_body_is_400_and_changes_nothing(stack: LocalStack, user: str, body: bytes) -> None:
    # Given a stored profile
    synced_over_http(stack, user, "tiktok", {"followers": 1000, "engagement": 7.5})
    before = profile_of(stack, user)

    # When the app sends a body that breaks the contract
    reply = stack.request("POST", SYNC.format("tiktok"), raw_body=body, token=stack.token(user))

    # Then it is told what is wrong, for a person, and the profile is as it was
    assert reply.status == 400, reply.body
    error = reply.json()
    assert error["success"] is False
    assert isinstance(error["message"], str)
    assert error["message"]
    assert "Traceback" not in reply.body.decode()
    assert profile_of(stack, user) == before


def test_a_validation_error_names_the_field(stack: LocalStack, user: str) -> None:
    reply = sync_over_http(stack, user, "tiktok", {"followers": "many"})

    assert reply.status == 400
    assert any(error["field"] == "followers" for error in reply.json()["errors"])


def test_a_body_over_16_kib_is_413(stack: LocalStack, user: str) -> None:
    # When a body over 16 KiB is sent
    padding = "x" * (16 * 1024)
    reply = stack.request(
        "POST",
        SYNC.format("tiktok"),
        raw_body=f'{{"followers": 1, "p": "{padding}"}}'.encode(),
        token=stack.token(user),
    )

    # Then it is a 413 and no profile was created
    assert reply.status == 413
    assert reply.json()["success"] is False
    assert stack.request("GET", PROFILE, token=stack.token(user)).status == 404


# --- GET and PUT /profiles/me -------------------------------------------------------------------------


def test_get_profile_without_a_profile_is_404(stack: LocalStack, user: str) -> None:
    reply = stack.request("GET", PROFILE, token=stack.token(user))

    assert reply.status == 404
    assert reply.json()["success"] is False
    assert reply.json()["message"]


def test_get_profile_returns_what_sync_stored(stack: LocalStack, user: str) -> None:
    # Given a synced profile
    synced = synced_over_http(stack, user, "instagram", {"followers": 15925, "engagement": 2.91})["profile"]

    # When it is read
    reply = stack.request("GET", PROFILE, token=stack.token(user))

    # Then it is what the sync answered
    assert reply.status == 200
    assert reply.json() == {"success": True, "profile": synced}


EDITS = {
    "username": "charli_d",
    "displayName": "Charli D",
    "bio": "Dancer.",
    "avatar": "https://cdn.example.com/a.png",
    "niche": ["dance", "lifestyle"],
    "location": {"city": "Norwalk", "state": "CT", "country": "US"},
    "socialLinks": {"tiktok": "https://www.tiktok.com/@charlidamelio"},
    "linkedAccounts": {"tiktok": "charlidamelio"},
    "syncSettings": {"autoSync": True, "frequency": "daily"},
}


def test_put_profile_stores_the_editable_fields(stack: LocalStack, user: str) -> None:
    # Given a profile with stats
    synced_over_http(stack, user, "tiktok", {"followers": 1000, "engagement": 7.5})

    # When the app sends every editable field
    reply = stack.request("PUT", PROFILE, EDITS, token=stack.token(user))

    # Then they are stored as sent, and the stats are untouched
    assert reply.status == 200, reply.body
    profile = profile_of(stack, user)
    for name, value in EDITS.items():
        assert profile[name] == value, name
    assert profile["stats"]["platformBreakdown"]["tiktok"]["followers"] == 1000
    assert reply.json()["profile"] == profile


def test_put_profile_creates_the_profile_of_a_new_user(stack: LocalStack, user: str) -> None:
    # When a user with no profile puts a field
    reply = stack.request("PUT", PROFILE, {"displayName": "New"}, token=stack.token(user))

    # Then the profile exists with it
    assert reply.status == 200, reply.body
    assert profile_of(stack, user)["displayName"] == "New"


BAD_EDITS: dict[str, Any] = {
    "no field": {},
    "unknown field": {"favouriteColour": "blue"},
    "stats": {"stats": {"totalFollowers": 99}},
    "userId": {"userId": "someone-else"},
    "createdAt": {"createdAt": "2020-01-01T00:00:00Z"},
    "updatedAt": {"updatedAt": "2020-01-01T00:00:00Z"},
    "wrong type": {"niche": "dance"},
    "bad frequency": {"syncSettings": {"autoSync": True, "frequency": "minutely"}},
}


@pytest.mark.parametrize("body", BAD_EDITS.values(), ids=BAD_EDITS.keys())
def test_a_bad_put_is_400_and_changes_nothing(stack: LocalStack, user: str, body: Any) -> None:
    # Given a profile
    assert stack.request("PUT", PROFILE, {"bio": "before"}, token=stack.token(user)).status == 200
    before = profile_of(stack, user)

    # When a bad update is put
    reply = stack.request("PUT", PROFILE, body, token=stack.token(user))

    # Then it is a 400 and the profile is as it was
    assert reply.status == 400, reply.body
    assert reply.json()["success"] is False
    assert profile_of(stack, user) == before


# --- what API Gateway itself answers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/profiles/nobody"),
        ("GET", "/api/v1/profiles/social-sync/tiktok"),
        ("DELETE", PROFILE),
        ("POST", "/api/v1/profiles/social-sync/facebook"),
        ("GET", "/api/v1/social/fetch"),
        ("GET", "/"),
    ],
)
def test_an_unknown_route_is_api_gateways_404_even_with_no_token(
    stack: LocalStack, method: str, path: str
) -> None:
    reply = stack.request(method, path)

    assert reply.status == 404
    assert reply.json() == {"message": "Not Found"}


APP_ORIGIN = "http://localhost:3000"  # one of CorsAllowOrigins' default origins, the app's dev server


def test_cors_preflight_is_answered_from_the_templates_configuration(stack: LocalStack) -> None:
    reply = stack.request(
        "OPTIONS",
        PROFILE,
        headers={
            "Origin": APP_ORIGIN,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )

    assert reply.status == 204
    assert reply.headers["access-control-allow-origin"] == APP_ORIGIN
    assert reply.headers["access-control-allow-credentials"] == "true"
    assert reply.headers["vary"].lower() == "origin"
    assert "PUT" in reply.headers["access-control-allow-methods"]
    assert "authorization" in reply.headers["access-control-allow-headers"]


def test_responses_carry_cors_headers_for_the_apps_origin(stack: LocalStack, user: str) -> None:
    reply = stack.request("GET", PROFILE, token=stack.token(user), headers={"Origin": APP_ORIGIN})

    assert reply.headers["access-control-allow-origin"] == APP_ORIGIN
    assert reply.headers["access-control-allow-credentials"] == "true"
    assert reply.headers["vary"].lower() == "origin"
    assert reply.headers["access-control-expose-headers"] == "retry-after"


def test_an_origin_not_allowed_gets_no_cors_headers(stack: LocalStack, user: str) -> None:
    # When another origin sends a preflight and a request
    headers = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    preflight = stack.request("OPTIONS", PROFILE, headers=headers)
    reply = stack.request("GET", PROFILE, token=stack.token(user), headers={"Origin": "https://evil.example"})

    # Then neither answer carries a CORS header
    for answer in (preflight, reply):
        assert not [name for name in answer.headers if name.startswith("access-control-")], answer.headers


# --- settings a deployment chooses ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def cooldown_api(extra_api: Callable[[dict[str, str]], LocalStack]) -> LocalStack:
    """A local API with the template's default SYNC_COOLDOWN_SECONDS (60)."""
    return extra_api({})


def test_a_second_sync_within_the_cooldown_is_429_with_retry_after(
    cooldown_api: LocalStack, user: str
) -> None:
    # Given a TikTok sync just now, under the template's default cooldown
    synced_over_http(cooldown_api, user, "tiktok", {"followers": 1})

    # When TikTok is synced again at once
    reply = sync_over_http(cooldown_api, user, "tiktok", {"followers": 2})

    # Then it is refused with how long to wait, the stored value stays, and other platforms are free
    assert reply.status == 429
    assert reply.json()["success"] is False
    assert 0 < int(reply.headers["retry-after"]) <= 60
    assert profile_of(cooldown_api, user)["stats"]["platformBreakdown"]["tiktok"]["followers"] == 1
    assert sync_over_http(cooldown_api, user, "twitch", {"followers": 3}).status == 200


def test_client_reported_numbers_are_403_when_the_deployment_refuses_them(
    extra_api: Callable[[dict[str, str]], LocalStack], user: str
) -> None:
    # Given a deployment that refuses client-reported numbers
    strict_api = extra_api({"ALLOW_CLIENT_REPORTED_STATS": "false", "SYNC_COOLDOWN_SECONDS": "0"})

    # When the app sends numbers
    reply = sync_over_http(strict_api, user, "tiktok", {"followers": 1000})

    # Then it is a 403 and no profile was created
    assert reply.status == 403
    assert reply.json()["success"] is False
    assert strict_api.request("GET", PROFILE, token=strict_api.token(user)).status == 404
