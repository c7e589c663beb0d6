"""Every route, fuzzed at the handler: hostile bodies, queries, cursors and callers are never a 5xx.

Hypothesis generates what an attacker would send (JSON of any shape and depth, bytes that are no
text, numbers at the edges, huge strings, forged cursors, long or odd caller ids); each answer must
be a documented status with the documented JSON: {"success": false, "message": ...} for a refusal.
tests/integration/test_schemathesis.py does the same over HTTP from the OpenAPI document.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fake_rapidapi import FakeRapidApi
from tests.helpers import FakeContext, history_cursor, http_event

ROUTES = {
    "SyncTikTokFunction": ("POST", "/api/v1/profiles/social-sync/tiktok"),
    "SyncTwitchFunction": ("POST", "/api/v1/profiles/social-sync/twitch"),
    "SyncTwitterFunction": ("POST", "/api/v1/profiles/social-sync/twitter"),
    "SyncInstagramFunction": ("POST", "/api/v1/profiles/social-sync/instagram"),
    "SyncAllFunction": ("POST", "/api/v1/profiles/social-sync"),
    "UpdateProfileFunction": ("PUT", "/api/v1/profiles/me"),
    "GetProfileFunction": ("GET", "/api/v1/profiles/me"),
    "GetStatsHistoryFunction": ("GET", "/api/v1/profiles/me/stats/history"),
}
FIELDS = [
    "followers", "engagement", "usernameOrId", "platforms", "tiktok", "username", "displayName", "bio",
    "avatar", "niche", "location", "socialLinks", "linkedAccounts", "syncSettings", "autoSync", "frequency",
    "stats", "userId", "city",
]  # fmt: skip
EDGE_NUMBERS = st.sampled_from(
    [0, -0.0, -1, 1e308, -1e308, 10_000_000_001, 2**63, 2**64 + 1, 1e-320, 100.0000001, 0.1 + 0.2]
)
EDGE_TEXT = st.sampled_from(
    [
        "", " ", "@", "\x00", "\ud800", "\u202e", "é" * 300, "a" * 20_000, "http://169.254.169.254/",
        "http://[::1]/", "http://0x7f000001/", "https://u:p@example.com/", "javascript:alert(1)",
        "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "NaN", "Infinity", "1e999",
    ]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    EDGE_NUMBERS, st.text(max_size=40), EDGE_TEXT,
)  # fmt: skip
KEYS = st.one_of(st.sampled_from(FIELDS), st.text(max_size=12))
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=20,
)


def nested(depth: int, opener: str, closer: str) -> str:
    return opener * depth + "1" + closer * depth


# Depths around the parsers' limits (Python's recursion limit is 1000) and past them.
DEPTHS = st.sampled_from([33, 200, 900, 999, 1001, 1200, 2000, 3000])
RAW_BODIES = st.one_of(
    JSON_VALUES.map(json.dumps),
    st.dictionaries(KEYS, JSON_VALUES, max_size=6).map(json.dumps),
    DEPTHS.map(lambda depth: nested(depth, "[", "]")),
    DEPTHS.map(lambda depth: nested(depth, '{"f":', "}")),
    DEPTHS.map(lambda depth: '{"bio":' + nested(depth, "[", "]") + "}"),
    st.text(max_size=200),
    st.sampled_from(['{"engagement": NaN}', '{"followers": 1e400}', '{"bio": "\\ud800"}', "{" * 20_000]),
)
# Bodies that come base64-encoded: any bytes (not UTF-8, not even text), or base64 that is not.
BASE64_BODIES = st.one_of(
    st.binary(max_size=300).map(lambda data: base64.b64encode(data).decode()), st.text(max_size=50)
)


CURSORS = st.one_of(
    st.text(max_size=60),
    JSON_VALUES.map(history_cursor),
    st.fixed_dictionaries(
        {"pk": st.fixed_dictionaries({"S": st.sampled_from(["USER#alice", "USER#bob", ""])}),
         "sk": st.fixed_dictionaries({"S": st.one_of(st.text(max_size=60), st.just("HISTORY#tiktokZZZ"))})},
        optional={"historyAt": st.fixed_dictionaries({"S": st.text(max_size=40)})},
    ).map(history_cursor),
    DEPTHS.map(lambda depth: history_cursor("[" * depth)),
)  # fmt: skip
QUERIES = st.dictionaries(
    st.sampled_from(["platform", "from", "to", "limit", "cursor", "x"]),
    st.one_of(st.text(max_size=40), EDGE_TEXT, CURSORS, st.integers().map(str)),
    max_size=5,
)
CALLERS = st.one_of(
    st.just("alice"), st.text(min_size=1, max_size=40), st.integers(200, 3000).map(lambda n: "u" * n)
)


def assert_documented(result: dict[str, Any]) -> None:
    status = result["statusCode"]
    assert status < 500, result["body"][:500]
    body = json.loads(result["body"])
    assert isinstance(body, dict)
    assert body["success"] is (status == 200)
    if status != 200:
        assert isinstance(body["message"], str)
        assert body["message"]
        assert "Traceback" not in result["body"]


FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("logical_id", sorted(ROUTES))
@FUZZ
@given(data=st.data())
def test_no_body_query_or_caller_is_a_server_error(
    function: Any, rapidapi: FakeRapidApi, logical_id: str, data: st.DataObject
) -> None:
    # Given a hostile request for this route: its body, or its query string, and a caller
    method, path = ROUTES[logical_id]
    caller = data.draw(CALLERS, label="caller")
    if method == "GET":
        query = data.draw(QUERIES, label="query")
        event = http_event(method, path, sub=caller, queryStringParameters=query or None)
    elif data.draw(st.booleans(), label="base64"):
        event = http_event(
            method, path, data.draw(BASE64_BODIES, label="body"), sub=caller, isBase64Encoded=True
        )
    else:
        event = http_event(method, path, data.draw(RAW_BODIES, label="body"), sub=caller)

    # When the function handles it, then the answer is documented and never a 5xx
    assert_documented(function(logical_id).lambda_handler(event, FakeContext()))
