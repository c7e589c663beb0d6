"""The HTTP edge through the real handlers: the documented responses, every bad input, no internals leaked."""

from __future__ import annotations

import base64
import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from social_sync import api
from social_sync.container import Container
from social_sync.errors import DomainError, RapidApiTimeout, RapidApiUnavailable
from social_sync.http import Route, logger
from social_sync.settings import Settings
from tests.helpers import PLATFORM_FUNCTIONS, FakeContext, http_event, invoke, sync, synced, table_items

SYNC = "/api/v1/profiles/social-sync"
ME = "/api/v1/profiles/me"


@pytest.mark.parametrize("platform", list(PLATFORM_FUNCTIONS))
def test_each_platform_route_syncs_its_own_platform(function: Any, platform: str) -> None:
    status, body, _ = sync(function, platform, {"followers": 1000, "engagement": 7.5})

    assert status == 200
    assert body["success"] is True
    assert body["message"] == f"Social media {platform.capitalize()} synced successfully"
    assert list(body["profile"]["stats"]["platformBreakdown"]) == [platform]


def test_the_seed_example_returns_exactly_the_documented_response(function: Any) -> None:
    status, body, headers = sync(function, "tiktok", {"followers": 1000, "engagement": 7.5})

    assert status == 200
    assert headers["Content-Type"] == "application/json"
    profile = body["profile"]
    stamp = profile["stats"]["platformBreakdown"]["tiktok"]["lastSyncedAt"]
    assert body == {
        "success": True,
        "message": "Social media Tiktok synced successfully",
        "profile": {
            "userId": "alice",
            "stats": {
                "platformBreakdown": {
                    "tiktok": {
                        "followers": 1000,
                        "engagement": 7.5,
                        "lastSyncedAt": stamp,
                        "source": "client",
                        "verified": False,
                    }
                },
                "totalFollowers": 1000,
                "avgEngagement": 7.5,
            },
            "createdAt": stamp,
            "updatedAt": stamp,
        },
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp)
    # Followers are JSON integers on the wire.
    assert '"followers":1000,' in json.dumps(body, separators=(",", ":"))


def test_syncs_of_several_platforms_add_up_and_get_returns_them(function: Any) -> None:
    # Given two platforms synced
    synced(function, "tiktok", {"followers": 1000, "engagement": 0})
    synced(function, "instagram", {"followers": 15925, "engagement": 2.91})

    # When a third is synced, then the profile is read
    status, body, _ = sync(function, "twitch", {"followers": 0, "engagement": 0})
    assert status == 200
    assert body["profile"]["stats"]["totalFollowers"] == 16925
    status, body, _ = invoke(function("GetProfileFunction"), http_event("GET", ME))

    # Then the profile holds all three, with their totals
    assert status == 200
    assert body["success"] is True
    stats = body["profile"]["stats"]
    assert set(stats["platformBreakdown"]) == {"tiktok", "instagram", "twitch"}
    assert stats["totalFollowers"] == 16925
    assert stats["avgEngagement"] == 2.74  # 15925 * 2.91 / 16925


def test_mean_mode_gives_the_original_backends_numbers(function: Any, env: pytest.MonkeyPatch) -> None:
    # Given a deployment averaging engagement the original way, and three platforms synced
    env.setenv("ENGAGEMENT_AVERAGE", "mean")
    synced(function, "tiktok", {"followers": 1000, "engagement": 0})
    synced(function, "instagram", {"followers": 15925, "engagement": 2.91})
    synced(function, "twitter", {"followers": 7100, "engagement": 2.66})

    # When a fourth is synced
    status, body, _ = sync(function, "twitch", {"followers": 0, "engagement": 0})

    # Then the totals are the captured response's
    assert status == 200
    assert body["profile"]["stats"]["totalFollowers"] == 24025
    assert body["profile"]["stats"]["avgEngagement"] == 1.39


def test_a_left_out_field_keeps_the_stored_value_and_updated_at_moves(function: Any) -> None:
    # Given a platform synced with both numbers
    first = synced(function, "twitch", {"followers": 300, "engagement": 4.5})

    # When it is synced again with followers only
    second = synced(function, "twitch", {"followers": 320})

    # Then the engagement is kept and updatedAt moved
    twitch = second["profile"]["stats"]["platformBreakdown"]["twitch"]
    assert (twitch["followers"], twitch["engagement"]) == (320, 4.5)
    assert second["profile"]["updatedAt"] >= first["profile"]["updatedAt"]
    assert second["profile"]["updatedAt"] == twitch["lastSyncedAt"]


BAD_SYNC_BODIES = {
    "not json": "{followers: 1000",
    "json but not an object": "[1000]",
    "empty body": "",
    "no field given": {},
    "followers as a string": {"followers": "1000"},
    "followers as a boolean": {"followers": True},
    "followers null": {"followers": None},
    "a fraction of a follower": {"followers": 1000.5},
    "followers as a float": {"followers": 1000.0},
    "negative followers": {"followers": -1},
    "too many followers": {"followers": 10_000_000_001},
    "engagement as a string": {"engagement": "7.5"},
    "engagement as a boolean": {"engagement": False},
    "engagement over 100": {"engagement": 100.01},
    "negative engagement": {"engagement": -0.1},
    "engagement NaN": '{"engagement": NaN}',
    "engagement infinite": '{"engagement": 1e999}',
    "unknown field": {"followers": 10, "likes": 5},
    "snake_case instead of camelCase": {"username_or_id": "alice"},
    "both kinds at once": {"followers": 10, "usernameOrId": "alice"},
    "a user id in the body": {"followers": 10, "userId": "mallory"},
    "an empty handle": {"usernameOrId": ""},
    "a handle with a path in it": {"usernameOrId": "../admin"},
}


@pytest.mark.parametrize("body", BAD_SYNC_BODIES.values(), ids=BAD_SYNC_BODIES.keys())
def test_bad_sync_input_is_400_in_the_documented_shape_and_changes_nothing(
    function: Any, dynamodb: Any, body: Any
) -> None:
    # Given a synced profile
    synced(function, "tiktok", {"followers": 5, "engagement": 1.0})
    before = table_items(dynamodb)

    # When a bad body is sent
    status, response, _ = sync(function, "tiktok", body)

    # Then it is a 400 in the documented shape, and the table is as it was
    assert status == 400
    assert response["success"] is False
    assert isinstance(response["message"], str)
    assert response["message"]
    for error in response.get("errors", []):
        assert set(error) == {"field", "message"}
    assert table_items(dynamodb) == before


def test_a_validation_error_names_the_field(function: Any) -> None:
    _, response, _ = sync(function, "tiktok", {"followers": 1, "engagement": "high"})
    assert response["errors"] == [{"field": "engagement", "message": "must be a number"}]
    assert "engagement" in response["message"]


def test_a_body_over_16_kib_is_413_and_changes_nothing(function: Any, dynamodb: Any) -> None:
    padded = json.dumps({"followers": 1}) + " " * (16 * 1024)
    status, response, _ = sync(function, "tiktok", padded)

    assert status == 413
    assert response["success"] is False
    assert table_items(dynamodb) == []


def test_a_base64_encoded_body_is_read_like_any_other(function: Any) -> None:
    encoded = base64.b64encode(json.dumps({"followers": 42}).encode()).decode()
    status, body, _ = sync(function, "tiktok", encoded, isBase64Encoded=True)

    assert status == 200
    assert body["profile"]["stats"]["totalFollowers"] == 42


def test_without_a_sub_claim_the_function_answers_401(function: Any, dynamodb: Any) -> None:
    status, response, _ = sync(function, "tiktok", {"followers": 1}, sub=None)

    assert status == 401
    assert response == {"success": False, "message": "Unauthorized"}
    assert table_items(dynamodb) == []


def test_client_reported_numbers_are_403_when_the_deployment_refuses_them(
    function: Any, dynamodb: Any, env: pytest.MonkeyPatch
) -> None:
    # Given a deployment that refuses client-reported numbers
    env.setenv("ALLOW_CLIENT_REPORTED_STATS", "false")

    # When the app sends numbers
    status, response, _ = sync(function, "tiktok", {"followers": 1})

    # Then it is a 403 pointing at the handle kind, and nothing is stored
    assert status == 403
    assert "usernameOrId" in response["message"]
    assert table_items(dynamodb) == []


def test_a_second_sync_inside_the_cooldown_is_429_with_retry_after(
    function: Any, dynamodb: Any, env: pytest.MonkeyPatch
) -> None:
    # Given a 60 s cooldown and a platform just synced
    env.setenv("SYNC_COOLDOWN_SECONDS", "60")
    synced(function, "tiktok", {"followers": 1})
    before = table_items(dynamodb)

    # When it is synced again
    status, response, headers = sync(function, "tiktok", {"followers": 2})

    # Then it is a 429 with Retry-After, nothing changed, and another platform still syncs
    assert status == 429
    assert response["success"] is False
    assert 59 <= int(headers["Retry-After"]) <= 60
    assert table_items(dynamodb) == before
    assert sync(function, "twitch", {"followers": 2})[0] == 200


def test_get_before_any_profile_is_404(function: Any) -> None:
    status, response, _ = invoke(function("GetProfileFunction"), http_event("GET", ME))
    assert status == 404
    assert response["success"] is False


def test_users_only_see_their_own_profile(function: Any) -> None:
    # Given alice has a profile
    synced(function, "tiktok", {"followers": 1000}, sub="alice")

    # When bob reads his
    status, _, _ = invoke(function("GetProfileFunction"), http_event("GET", ME, sub="bob"))
    assert status == 404


def test_put_creates_then_updates_the_editable_fields(function: Any) -> None:
    # Given no profile yet
    update = function("UpdateProfileFunction")
    fields = {
        "username": "alice_creates",
        "displayName": "Alice",
        "bio": "Dancer",
        "avatar": "https://cdn.example.com/a.png",
        "niche": ["dance", "comedy"],
        "location": {"city": "Austin", "state": "TX", "country": "US"},
        "socialLinks": {"tiktok": "https://www.tiktok.com/@alice"},
        "linkedAccounts": {"tiktok": "alice"},
        "syncSettings": {"autoSync": True, "frequency": "weekly"},
    }
    # When every editable field is put
    status, body, _ = invoke(update, http_event("PUT", ME, fields))

    # Then the profile is created with them and no stats
    assert status == 200
    assert body["message"] == "Profile updated successfully"
    profile = body["profile"]
    assert {key: profile[key] for key in fields} == fields
    assert profile["stats"] == {"platformBreakdown": {}, "totalFollowers": 0, "avgEngagement": 0.0}

    # And when, after a sync, one field is put
    synced(function, "tiktok", {"followers": 10})
    status, body, _ = invoke(update, http_event("PUT", ME, {"bio": "Dancer and singer"}))

    # Then only that field changed, and the stats are kept
    assert status == 200
    assert body["profile"]["bio"] == "Dancer and singer"
    assert body["profile"]["displayName"] == "Alice"
    assert body["profile"]["stats"]["totalFollowers"] == 10


BAD_UPDATES = {
    "stats is read-only": {"stats": {"totalFollowers": 1_000_000}},
    "userId is read-only": {"userId": "mallory"},
    "createdAt is read-only": {"createdAt": "2020-01-01T00:00:00Z"},
    "updatedAt is read-only": {"updatedAt": "2020-01-01T00:00:00Z"},
    "unknown field": {"karma": 5},
    "no field given": {},
    "avatar not a URL": {"avatar": "javascript:alert(1)"},
    "niche not a list": {"niche": "dance"},
    "location with an unknown field": {"location": {"planet": "Mars"}},
    "linked account on an unknown platform": {"linkedAccounts": {"myspace": "tom"}},
    "sync frequency not offered": {"syncSettings": {"autoSync": True, "frequency": "minutely"}},
    "autoSync not a boolean": {"syncSettings": {"autoSync": "yes"}},
    "displayName null": {"displayName": None},
    "not json": "{",
}


@pytest.mark.parametrize("body", BAD_UPDATES.values(), ids=BAD_UPDATES.keys())
def test_bad_updates_are_400_and_change_nothing(function: Any, dynamodb: Any, body: Any) -> None:
    # Given a synced profile
    synced(function, "tiktok", {"followers": 5})
    before = table_items(dynamodb)

    # When a bad update is put
    status, response, _ = invoke(function("UpdateProfileFunction"), http_event("PUT", ME, body))

    # Then it is a 400 and the table is as it was
    assert status == 400
    assert response["success"] is False
    assert table_items(dynamodb) == before


def test_read_only_fields_are_named_in_the_error(function: Any) -> None:
    _, response, _ = invoke(
        function("UpdateProfileFunction"), http_event("PUT", ME, {"stats": {}, "bio": "x"})
    )
    assert response["errors"] == [{"field": "stats", "message": "is read-only"}]


def test_an_unknown_route_is_a_json_404(function: Any) -> None:
    status, response, _ = invoke(
        function("GetProfileFunction"), http_event("GET", "/api/v1/profiles/someone-else")
    )
    assert status == 404
    assert response["success"] is False


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """What the service logs, formatted exactly as Powertools writes it to CloudWatch."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    yield buffer
    logging.getLogger(logger.name).removeHandler(handler)


class ExplodingProfiles:
    """Profiles whose every call fails the way a bug would: with internals in the message."""

    def __getattr__(self, name: str) -> Any:
        def explode(*_: Any, **__: Any) -> None:
            raise RuntimeError("secret internals: arn:aws:dynamodb:table/private")

        return explode


def test_an_unexpected_failure_is_a_500_without_internals(dynamodb: Any, logs: io.StringIO) -> None:
    # Given the TikTok route over profiles that fail with internals in the message
    parts = Container(Settings.from_env(), profiles=ExplodingProfiles())
    handler = api.serve(api.sync_api("tiktok", parts))

    # When a sync reaches it
    result = handler(http_event("POST", f"{SYNC}/tiktok", {"followers": 1}), FakeContext())  # type: ignore[arg-type]
    status, response = result["statusCode"], json.loads(result["body"])

    # Then the answer is a plain 500, and the logs name the error's type but not its text
    assert status == 500
    assert response == {"success": False, "message": "Something went wrong on our side; try again later"}
    written = logs.getvalue()
    assert "secret internals" not in written
    assert "Traceback" not in written
    assert '"error_type":"RuntimeError"' in written


def test_logs_carry_the_correlation_id_and_never_the_token_or_body(function: Any, logs: io.StringIO) -> None:
    # Given a sync with a bearer token and a body
    event = http_event("POST", f"{SYNC}/tiktok", {"followers": 987654321})
    event["headers"]["authorization"] = "Bearer eyJhbGciOiJSUzI1NiJ9.secret-token"

    # When it is handled
    status, _, _ = invoke(function("SyncTikTokFunction"), event)

    # Then every log line carries the request id, and none the token or the body
    assert status == 200
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    assert lines
    assert all(line["correlation_id"] == "req-1" for line in lines)
    text = json.dumps(lines)
    assert "secret-token" not in text
    assert "987654321" not in text


def test_the_most_specific_error_class_picks_the_status_and_an_unmapped_one_is_500() -> None:
    # Given routes that fail with an error of the status table's (RapidApiTimeout is a RapidApiError,
    # whose other subclass answers 502), and with one it does not list
    class Unmapped(DomainError):
        pass

    def failing(error: DomainError) -> Route:
        def handle(_: Any) -> Any:
            raise error

        return Route("GET", "/x", handle)

    # When they answer, then the most specific class picks the status, and an unmapped one is a 500
    event = http_event("GET", "/x")
    assert failing(RapidApiTimeout("slow")).resolve(event, None)["statusCode"] == 504  # type: ignore[arg-type]
    assert failing(RapidApiUnavailable("down")).resolve(event, None)["statusCode"] == 502  # type: ignore[arg-type]
    assert failing(Unmapped("?")).resolve(event, None)["statusCode"] == 500  # type: ignore[arg-type]


def test_a_route_behind_a_named_stage_or_base_path_answers_by_the_route_api_gateway_matched(
    function: Any,
) -> None:
    # Given events as API Gateway sends them behind a stage "prod" and behind a custom domain's base
    # path: the raw path carries the prefix, the route key does not
    handler = function("SyncTikTokFunction")
    staged = http_event("POST", f"{SYNC}/tiktok", {"followers": 10}, rawPath=f"/prod{SYNC}/tiktok")
    staged["requestContext"]["stage"] = "prod"
    based = http_event("POST", f"{SYNC}/tiktok", {"followers": 20}, rawPath=f"/social{SYNC}/tiktok")
    other = http_event("POST", f"{SYNC}/tiktok", {"followers": 30}, routeKey=f"POST {SYNC}/twitch")

    # When they reach the function, then both are the route's; a route key of another route is not
    assert invoke(handler, staged)[0] == 200
    assert invoke(handler, based)[1]["profile"]["stats"]["platformBreakdown"]["tiktok"]["followers"] == 20
    assert invoke(handler, other)[0] == 404
