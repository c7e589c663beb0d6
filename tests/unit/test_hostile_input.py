"""Hostile input at the HTTP edge and in the scheduled sync: a clear 4xx, nothing stored, never a 500.

Each test is one case an attacker reproduced against the local stack (the issue on hostile input).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from social_sync.models import MAX_USER_ID_LENGTH, DueProfile, utc_now
from social_sync.schedule import QUEUE_BATCH, dispatch_due_profiles
from tests.fakes import RecordingQueue
from tests.helpers import (
    HISTORY_PATH,
    TABLE_NAME,
    FakeContext,
    get_history,
    history_cursor,
    http_event,
    invoke,
    raw_history_cursor,
    run_dispatcher,
    synced,
    table_items,
)

ME = "/api/v1/profiles/me"
SYNC = "/api/v1/profiles/social-sync"


def send(function: Any, logical_id: str, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    status, body, _ = invoke(function(logical_id), event)
    return status, body


def assert_refused(status: int, body: dict[str, Any], expected: int = 400) -> None:
    """The documented error shape, with a message for a person."""
    assert status == expected, body
    assert body["success"] is False
    assert isinstance(body["message"], str)
    assert body["message"]


# --- 1. Deep JSON.


@pytest.mark.parametrize(
    ("logical_id", "method", "path", "body", "expected"),
    [
        ("UpdateProfileFunction", "PUT", ME, "[" * 1200 + "]" * 1200, 400),
        # 2000 levels of {"followers": are over the 16 KiB limit: refused for their size first.
        ("SyncTikTokFunction", "POST", f"{SYNC}/tiktok", '{"followers":' * 2000 + "1" + "}" * 2000, 413),
        ("SyncTikTokFunction", "POST", f"{SYNC}/tiktok", '{"f":' * 2000 + "1" + "}" * 2000, 400),
        ("SyncAllFunction", "POST", SYNC, '{"p":' * 2000 + "1" + "}" * 2000, 400),
        # Just under Python's recursion limit: parses, but every later step would recurse as deep.
        ("UpdateProfileFunction", "PUT", ME, '{"bio":' + "[" * 900 + "]" * 900 + "}", 400),
    ],
)
def test_deeply_nested_json_bodies_are_a_4xx(
    function: Any, dynamodb: Any, logical_id: str, method: str, path: str, body: str, expected: int
) -> None:
    # Given a body nested hundreds or thousands of levels deep
    # When it is sent to a body route
    status, answer = send(function, logical_id, http_event(method, path, body))

    # Then it is refused as bad input and nothing is stored
    assert_refused(status, answer, expected)
    assert table_items(dynamodb) == []


def test_brackets_inside_strings_do_not_count_as_nesting(function: Any, dynamodb: Any) -> None:
    body = json.dumps({"bio": "[[[{{{" * 100 + '\\"]'})
    status, answer = send(function, "UpdateProfileFunction", http_event("PUT", ME, body))
    assert status == 200, answer


def test_a_deeply_nested_history_cursor_is_a_400(function: Any, dynamodb: Any) -> None:
    status, answer, _ = get_history(function, cursor=raw_history_cursor("[" * 1500))
    assert_refused(status, answer)
    assert answer["errors"] == [{"field": "cursor", "message": "is not valid"}]


# --- 2. Cursors used with another window, and hand-made ones.


@pytest.fixture
def three_syncs(function: Any) -> list[str]:
    """Three TikTok syncs by alice; their syncedAt, oldest first."""
    times = []
    for followers in (1, 2, 3):
        answer = synced(function, "tiktok", {"followers": followers})
        times.append(answer["profile"]["stats"]["platformBreakdown"]["tiktok"]["lastSyncedAt"])
    return times


@pytest.mark.parametrize("platform", ["tiktok", None])
def test_a_cursor_reused_with_a_narrower_window_is_a_400(
    function: Any, three_syncs: list[str], platform: str | None
) -> None:
    # Given the cursor of a first page of two
    params = {"platform": platform} if platform else {}
    status, page, _ = get_history(function, limit="2", **params)
    assert status == 200, page
    assert "nextCursor" in page

    # When it is sent again with a window that ends before the key it points at
    status, answer, _ = get_history(
        function, limit="2", cursor=page["nextCursor"], to=three_syncs[0], **params
    )

    # Then it is a 400 about the cursor
    assert_refused(status, answer)
    assert answer["errors"] == [{"field": "cursor", "message": "is not valid"}]


HAND_MADE_CURSORS = [
    {"pk": {"S": "USER#alice"}, "sk": {"S": "PROFILE"}},
    {"pk": {"S": "USER#alice"}, "sk": {"S": "HISTORY#tiktokZZZ"}},
    {"pk": {"S": "USER#alice"}, "sk": {"S": "HISTORY#tiktok#0001-01-01T00:00:00.000Z#000000000001"}},
    {"pk": {"S": "USER#alice"}, "sk": {"S": "HISTORY#tiktok#9999-12-31T23:59:59.999Z~~~"}},
    {"pk": {"S": "USER#alice"}, "sk": {"S": "HISTORY#"}},
    {"pk": {"S": "USER#alice"}, "sk": {"S": ""}},
    {"pk": {"S": "USER#alice"}, "sk": {"S": 7}},
    {"pk": {"S": "USER#alice"}, "sk": {"N": "7"}},
    {"pk": {"S": "USER#bob"}, "sk": {"S": "HISTORY#tiktok#2026-11-01T00:00:00.000Z#000000000001"}},
    [],
    None,
    "not base64 at all: ~~~",
]


@pytest.mark.parametrize("cursor", HAND_MADE_CURSORS)
@pytest.mark.parametrize("platform", ["tiktok", None])
def test_hand_made_cursors_are_a_400(
    function: Any, three_syncs: list[str], cursor: Any, platform: str | None
) -> None:
    params = {"platform": platform} if platform else {}
    raw = cursor if cursor == "not base64 at all: ~~~" else history_cursor(cursor)
    status, answer, _ = get_history(function, cursor=raw, **params)
    assert_refused(status, answer)


@pytest.mark.parametrize("history_at", ["", "zzz", "0001", "2026-11-01T00:00:00.000Z#tiktok#000000000001~"])
def test_hand_made_index_cursors_outside_the_window_are_a_400(
    function: Any, three_syncs: list[str], history_at: str
) -> None:
    cursor = {"pk": {"S": "USER#alice"}, "sk": {"S": "HISTORY#tiktok#x"}, "historyAt": {"S": history_at}}
    status, answer, _ = get_history(function, cursor=history_cursor(cursor), **{"from": "2026-11-02"})
    assert_refused(status, answer)


# --- 3. Dates at the edge of time.


@pytest.mark.parametrize(
    "params",
    [
        {"from": "0001-01-01T00:00:00+14:00"},
        {"to": "9999-12-31T23:59:59-14:00"},
        {"from": "0001-01-01T00:00:00+14:00", "to": "9999-12-31T23:59:59-14:00"},
    ],
)
def test_instants_outside_the_years_1_to_9999_in_utc_are_a_400(
    function: Any, dynamodb: Any, params: dict[str, str]
) -> None:
    status, answer, _ = get_history(function, **params)
    assert_refused(status, answer)
    assert answer["errors"][0]["message"] == "must be an instant between the years 1 and 9999 in UTC"


def test_the_widest_window_utc_can_hold_is_answered(function: Any, three_syncs: list[str]) -> None:
    status, answer, _ = get_history(
        function, **{"from": "0001-01-01T00:00:00Z", "to": "9999-12-31T23:59:59Z"}
    )
    assert status == 200, answer
    assert len(answer["history"]) == 3


# --- 4. Caller ids no key or message can hold.


@pytest.mark.parametrize("length", [MAX_USER_ID_LENGTH + 1, 2100, 5000])
@pytest.mark.parametrize(
    ("logical_id", "method", "path", "body"),
    [
        ("SyncTikTokFunction", "POST", f"{SYNC}/tiktok", {"followers": 1}),
        ("UpdateProfileFunction", "PUT", ME, {"bio": "hi"}),
        ("GetProfileFunction", "GET", ME, None),
        ("GetStatsHistoryFunction", "GET", HISTORY_PATH, None),
    ],
)
def test_a_caller_id_over_the_limit_is_a_401_and_stores_nothing(
    function: Any, dynamodb: Any, length: int, logical_id: str, method: str, path: str, body: Any
) -> None:
    status, answer = send(function, logical_id, http_event(method, path, body, sub="u" * length))
    assert_refused(status, answer, 401)
    assert table_items(dynamodb) == []


def test_a_caller_id_at_the_limit_is_served(function: Any) -> None:
    sub = "é" * MAX_USER_ID_LENGTH  # two bytes each in UTF-8, still far inside DynamoDB's key size
    event = http_event("POST", f"{SYNC}/tiktok", {"followers": 1}, sub=sub)
    assert send(function, "SyncTikTokFunction", event)[0] == 200


class DueIndex:
    """Due profiles as the index lists them, recording which ones were claimed."""

    def __init__(self, user_ids: list[str]) -> None:
        self.due = [DueProfile(user_id, datetime(2026, 11, 1, tzinfo=UTC)) for user_id in user_ids]
        self.claimed: list[str] = []

    def due_profiles(self, now: datetime) -> Any:
        return iter(self.due)

    def claim_for_dispatch(self, user_id: str, seen: datetime, until: datetime) -> bool:
        self.claimed.append(user_id)
        return True


def test_the_dispatcher_never_claims_a_profile_no_message_can_carry() -> None:
    # Given a batch's worth of due profiles with one whose id no refresh message can carry
    long_id = "x" * (MAX_USER_ID_LENGTH + 1)
    users = [f"user-{n}" for n in range(4)] + [long_id] + [f"user-{n}" for n in range(4, QUEUE_BATCH)]
    index, queue = DueIndex(users), RecordingQueue()

    # When the dispatcher runs
    report = dispatch_due_profiles(index, queue, utc_now(), claim_seconds=1800)

    # Then the others are claimed and sent in one batch, and the long one is neither claimed nor sent
    assert long_id not in index.claimed
    assert queue.batches == [[user for user in users if user != long_id]]
    assert report.unsendable == [long_id[:64]]


def test_the_dispatcher_function_skips_an_oversized_id_and_sends_the_rest(
    function: Any, dynamodb: Any, env: pytest.MonkeyPatch
) -> None:
    import boto3

    # Given the sync queue, and two due profiles, one with an id no queue message can hold
    url = boto3.client("sqs").create_queue(QueueName="SyncQueue")["QueueUrl"]
    env.setenv("SYNC_QUEUE_URL", url)
    # A profile stored before the edge refused long ids, due now, beside a normal one.
    for user in ("alice", "y" * 300):
        due = (utc_now() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        dynamodb.put_item(
            TableName=TABLE_NAME,
            Item={
                "pk": {"S": f"USER#{user}"},
                "sk": {"S": "PROFILE"},
                "userId": {"S": user},
                "version": {"N": "1"},
                "syncDueAt": {"S": due},
                "syncDispatchAt": {"S": due},
                "syncShard": {"S": "0"},
            },
        )

    # When the dispatcher runs
    summary = run_dispatcher(function)

    # Then only the normal one is dispatched, and the other is left unclaimed
    assert summary["dispatched"] == 1
    stuck = dynamodb.get_item(
        TableName=TABLE_NAME, Key={"pk": {"S": "USER#" + "y" * 300}, "sk": {"S": "PROFILE"}}
    )
    assert stuck["Item"]["version"] == {"N": "1"}  # never claimed


# --- 8. Bytes that are no text, a negative zero, URLs to internal hosts.


@pytest.mark.parametrize(
    "raw",
    [
        b'{"bio": "caf\xe9"}',  # Latin-1, not UTF-8
        b'{"bio": "\xff\xfe"}',
        b'{"bio": "\xed\xa0\x80"}',  # an encoded surrogate
    ],
)
def test_a_body_that_is_not_utf8_is_a_400(function: Any, dynamodb: Any, raw: bytes) -> None:
    event = http_event("PUT", ME, base64.b64encode(raw).decode(), isBase64Encoded=True)
    status, answer = send(function, "UpdateProfileFunction", event)
    assert_refused(status, answer)
    assert "UTF-8" in answer["message"]
    assert table_items(dynamodb) == []


def test_a_lone_surrogate_escape_is_a_400(function: Any, dynamodb: Any) -> None:
    status, answer = send(function, "UpdateProfileFunction", http_event("PUT", ME, '{"bio": "\\ud800"}'))
    assert_refused(status, answer)
    assert table_items(dynamodb) == []


def test_a_negative_zero_engagement_is_stored_and_echoed_as_zero(function: Any) -> None:
    event = http_event("POST", f"{SYNC}/tiktok", '{"engagement": -0.0}')
    result = function("SyncTikTokFunction").lambda_handler(event, FakeContext())
    assert result["statusCode"] == 200
    assert "-0" not in result["body"]
    assert json.loads(result["body"])["profile"]["stats"]["platformBreakdown"]["tiktok"]["engagement"] == 0


INTERNAL_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://0x7f000001/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://10.1.2.3/",
    "http://192.168.0.1/",
    "http://172.16.0.1/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://[fe80::1]/",
    "http://[fd00::1]/",
    "http://localhost/",
    "http://LOCALHOST./",
    "http://printer.local/",
    "http://metadata.google.internal/",
    "http://intranet/",
    "https://user:pass@example.com/",
    "https://user@example.com/",
    "ftp://example.com/",
    "javascript:alert(1)",
]


@pytest.mark.parametrize("url", INTERNAL_URLS)
@pytest.mark.parametrize("field", ["avatar", "socialLinks"])
def test_urls_to_internal_hosts_or_with_credentials_are_a_400(
    function: Any, dynamodb: Any, url: str, field: str
) -> None:
    body = {field: url} if field == "avatar" else {field: {"website": url}}
    status, answer = send(function, "UpdateProfileFunction", http_event("PUT", ME, body))
    assert_refused(status, answer)
    assert answer["errors"][0]["field"].startswith(field)
    assert table_items(dynamodb) == []


@pytest.mark.parametrize(
    "url", ["https://example.com/me.png", "http://93.184.215.14/a", "https://[2606:4700::1111]/x"]
)
def test_public_urls_are_stored(function: Any, url: str) -> None:
    status, answer = send(function, "UpdateProfileFunction", http_event("PUT", ME, {"avatar": url}))
    assert status == 200, answer
    assert answer["profile"]["avatar"] == url
