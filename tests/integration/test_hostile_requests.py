"""The attacks of the hostile-input issue, replayed over real HTTP against the local stack (DynamoDB Local).

Each is answered with a 4xx in the documented JSON (or, for a slow upstream, a 504 in time), stores
nothing, and one parallel burst of syncs by handle costs RapidAPI one request.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from localrun.dynamodb import dynamodb_client
from localrun.settings import load_settings
from social_sync.data.quota_slots import DynamoQuotaSlots
from social_sync.deadline import Deadline
from social_sync.quota import RATE_HEADROOM, SCHEDULE_LEASE, SharedQuota
from tests.fake_rapidapi import FakeRapidApi, Reply, fixture
from tests.helpers import all_at_once, history_cursor, raw_history_cursor
from tests.integration.stack import LocalStack, send

SYNC = "/api/v1/profiles/social-sync"
HISTORY = "/api/v1/profiles/me/stats/history"
PROFILE = "/api/v1/profiles/me"


@pytest.fixture(scope="module")
def guarded_api(
    extra_api: Callable[[dict[str, str]], LocalStack], module_rapidapi: tuple[FakeRapidApi, str]
) -> LocalStack:
    """An API with the template's 60 s cooldown, fetching from the fake RapidAPI."""
    _, url = module_rapidapi
    return extra_api(
        {"SYNC_COOLDOWN_SECONDS": "60", "RAPIDAPI_BASE_URL": url, "RAPIDAPI_KEY": "local-fake-key"}
    )


def assert_documented_refusal(status: int, body: bytes, expected: int = 400) -> None:
    assert status == expected, body[:300]
    answer = json.loads(body)
    assert answer["success"] is False
    assert isinstance(answer["message"], str)


def test_ten_parallel_syncs_by_handle_fetch_once(
    guarded_api: LocalStack, module_rapidapi: tuple[FakeRapidApi, str], user: str
) -> None:
    # Given a unique handle the fake answers with a recorded account
    fake, _ = module_rapidapi
    handle = f"h{abs(hash(user)) % 10**9}"
    fake.alias("tiktok", handle, "charlidamelio")
    token = guarded_api.token(user)

    # When ten syncs of it by handle arrive at the same moment
    replies = all_at_once(
        10, lambda _: guarded_api.request("POST", f"{SYNC}/tiktok", {"usernameOrId": handle}, token=token)
    )

    # Then one fetched and landed, nine were refused before fetching: RapidAPI got one request
    assert sorted(reply.status for reply in replies) == [200] + [429] * 9
    assert fake.count("tiktok", handle) == 1


def test_a_slow_drip_upstream_is_a_504_before_the_functions_timeout(
    guarded_api: LocalStack, module_rapidapi: tuple[FakeRapidApi, str], user: str
) -> None:
    # Given RapidAPI sending one byte every 3 s
    fake, _ = module_rapidapi
    handle = f"drip{abs(hash(user)) % 10**9}"
    fake.always("tiktok", handle, Reply(200, fixture("tiktok", "charlidamelio"), drip_seconds=3))
    started = time.monotonic()

    # When a creator syncs that handle
    reply = guarded_api.request(
        "POST", f"{SYNC}/tiktok", {"usernameOrId": handle}, token=guarded_api.token(user)
    )

    # Then the documented 504 comes before the function's 10 s timeout
    assert_documented_refusal(reply.status, reply.body, 504)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", PROFILE, b"[" * 1200 + b"]" * 1200),
        ("POST", f"{SYNC}/tiktok", b'{"f":' * 2000 + b"1" + b"}" * 2000),
        ("POST", SYNC, b'{"platforms":{"tiktok":' * 600 + b"1" + b"}}" * 600),
        ("PUT", PROFILE, b'{"bio": "caf\xe9"}'),
        ("PUT", PROFILE, b'{"bio": "\\ud800"}'),
        ("PUT", PROFILE, b'{"avatar": "http://169.254.169.254/latest/meta-data/"}'),
        ("PUT", PROFILE, b'{"socialLinks": {"site": "http://0x7f000001/"}}'),
        ("PUT", PROFILE, b'{"avatar": "https://user:pass@example.com/a.png"}'),
    ],
)
def test_hostile_bodies_are_a_400_that_stores_nothing(
    stack: LocalStack, user: str, method: str, path: str, body: bytes
) -> None:
    # When a hostile body is sent
    token = stack.token(user)
    reply = stack.request(method, path, token=token, raw_body=body)
    # Then it is a documented refusal, and no profile was created
    assert_documented_refusal(reply.status, reply.body)
    assert stack.request("GET", PROFILE, token=token).status == 404


def test_negative_zero_is_stored_as_zero(stack: LocalStack, user: str) -> None:
    reply = stack.request("POST", f"{SYNC}/tiktok", token=stack.token(user), raw_body=b'{"engagement": -0.0}')
    assert reply.status == 200, reply.body
    assert b'"engagement":0.0' in reply.body
    assert b'"engagement":-0.0' not in reply.body


def test_a_cursor_reused_with_a_narrower_window_is_a_400(stack: LocalStack, user: str) -> None:
    # Given three data points and the cursor of a first page of two
    token = stack.token(user)
    times = []
    for followers in (1, 2, 3):
        reply = stack.request("POST", f"{SYNC}/tiktok", {"followers": followers}, token=token)
        times.append(reply.json()["profile"]["stats"]["platformBreakdown"]["tiktok"]["lastSyncedAt"])
    for platform in ("&platform=tiktok", ""):
        page = stack.request("GET", f"{HISTORY}?limit=2{platform}", token=token).json()

        # When the cursor is sent again with a window ending at the first point
        query = f"limit=2&cursor={page['nextCursor']}&to={times[0]}{platform}"
        reply = stack.request("GET", f"{HISTORY}?{query}", token=token)

        # Then it is a 400 about the cursor
        assert_documented_refusal(reply.status, reply.body)
        assert json.loads(reply.body)["errors"][0]["field"] == "cursor"


# Each query is made for the caller, so that a cursor names the caller's own partition and the one
# thing wrong with it is the one its case is about; and the field the refusal must name.
HOSTILE_HISTORY_QUERIES: dict[str, tuple[Callable[[str], str], str]] = {
    "a cursor nesting 1500 levels deep": (lambda user: "cursor=" + raw_history_cursor("[" * 1500), "cursor"),
    "a cursor past the platform's keys": (
        lambda user: (
            "platform=tiktok&cursor="
            + history_cursor({"pk": {"S": f"USER#{user}"}, "sk": {"S": "HISTORY#tiktokZZZ"}})
        ),
        "cursor",
    ),
    "a cursor outside the window": (
        lambda user: (
            "cursor="
            + history_cursor({"pk": {"S": f"USER#{user}"}, "sk": {"S": "HISTORY#x"}, "historyAt": {"S": ""}})
        ),
        "cursor",
    ),
    "a cursor on the profile item": (
        lambda user: (
            "platform=tiktok&cursor=" + history_cursor({"pk": {"S": f"USER#{user}"}, "sk": {"S": "PROFILE"}})
        ),
        "cursor",
    ),
    "a start before year 1 in UTC": (lambda user: "from=0001-01-01T00:00:00%2B14:00", "from"),
    "an end after year 9999 in UTC": (lambda user: "to=9999-12-31T23:59:59-14:00", "to"),
}


@pytest.mark.parametrize(
    ("query", "field"), HOSTILE_HISTORY_QUERIES.values(), ids=HOSTILE_HISTORY_QUERIES.keys()
)
def test_hostile_history_queries_are_a_400(
    stack: LocalStack, user: str, query: Callable[[str], str], field: str
) -> None:
    # Given a user with a history
    token = stack.token(user)
    assert stack.request("POST", f"{SYNC}/tiktok", {"followers": 1}, token=token).status == 200

    # When a hostile history query is sent
    reply = stack.request("GET", f"{HISTORY}?{query(user)}", token=token)

    # Then it is a documented refusal, about the field it aimed at
    assert_documented_refusal(reply.status, reply.body)
    assert [error["field"] for error in json.loads(reply.body)["errors"]] == [field]


@pytest.mark.parametrize("length", [257, 2100])
def test_a_caller_id_no_key_can_hold_is_refused(stack: LocalStack, length: int) -> None:
    token = stack.token("u" * length)
    reply = stack.request("POST", f"{SYNC}/tiktok", {"followers": 1}, token=token)
    assert_documented_refusal(reply.status, reply.body, 401)


def test_a_forged_aws_event_from_another_process_is_refused(stack: LocalStack) -> None:
    # When another process posts an event to the local AWS endpoint without the stack's secret
    request = urllib.request.Request(  # noqa: S310 - the local stack
        f"{stack.url}/__aws",
        data=json.dumps({"Entries": [{"Source": "forged", "DetailType": "x", "Detail": "{}"}]}).encode(),
        headers={"x-amz-target": "AWSEvents.PutEvents", "content-type": "application/x-amz-json-1.1"},
        method="POST",
    )
    reply = send(request)
    # Then it is refused and never logged as received
    assert reply.status == 403
    assert "forged" not in stack.log()


def test_parallel_containers_get_distinct_slots_from_dynamodb_local(stack: LocalStack) -> None:
    # Given three "containers" sharing one vendor sequence in DynamoDB Local, and a frozen clock
    client = dynamodb_client(load_settings(port=stack.port, dynamodb_port=stack.dynamodb_port))
    table = "FetchStateTable"  # the template's logical id is its name locally
    waits: list[float] = []
    now = time.time() + 10_000  # far from any other test's slots
    quotas = [
        SharedQuota(
            DynamoQuotaSlots(client, table),
            f"race-{now}",
            requests_per_second=10,
            caller="schedule",
            schedule_reserve=0,
            clock=lambda: now,
            sleep=waits.append,
        )
        for _ in range(3)
    ]

    # When 30 requests ask at the same instant from 10 threads
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(lambda n: quotas[n % 3].wait(Deadline.within(60)), range(30)))

    # Then every one got its own slot: conditional writes serialized them (each container leases
    # SCHEDULE_LEASE consecutive slots per write, so a few leased ones may go unused)
    interval = 1 / (10 * RATE_HEADROOM)
    starts = [0, *(round(wait / interval, 3) for wait in waits)]  # one started at once
    assert len(set(starts)) == 30
    assert all(start == int(start) for start in starts)
    assert max(starts) < 30 + 3 * SCHEDULE_LEASE
