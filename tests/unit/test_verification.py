"""Verifying a linked account with a bio code, through the real handlers (moto, the fake RapidAPI)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from social_sync.container import Container
from social_sync.data.profiles import DynamoProfiles
from social_sync.errors import AccountNotVerified, CodeNotUsable, ConcurrentUpdateConflict
from social_sync.models import (
    FetchedAccount,
    PlatformReading,
    Profile,
    VerificationState,
    VerificationWrite,
    VerifiedAccount,
    utc_now,
)
from social_sync.ownership import is_verified
from social_sync.profiles import sync_platforms
from social_sync.protocols import VerificationStore
from social_sync.schedule import linked_platforms
from social_sync.settings import Settings
from social_sync.verification import BIO_SHOWN, code_hash, codes_in, issue_code, new_code, verify_account
from tests.fake_rapidapi import FakeRapidApi
from tests.helpers import TABLE_NAME, http_event, invoke, sync, synced

LINKED = "/api/v1/profiles/me/linked-accounts"
RECORDED = {"tiktok": "charlidamelio", "twitter": "nasa", "twitch": "ninja", "instagram": "nasa"}
FOLLOWERS = {"tiktok": 156_183_422, "twitter": 89_012_345, "twitch": 19_234_501, "instagram": 97_654_321}


def linked_event(platform: str, action: str, body: Any, sub: str) -> dict[str, Any]:
    """The event API Gateway builds for the {platform} route: its routeKey keeps the parameter."""
    event = http_event(
        "POST", f"{LINKED}/{platform}/{action}", body, sub=sub, pathParameters={"platform": platform}
    )
    route = f"POST {LINKED}/{{platform}}/{action}"
    event["routeKey"] = event["requestContext"]["routeKey"] = route
    return event


def ask_code(
    function: Any, platform: str, handle: str, sub: str
) -> tuple[int, dict[str, Any], dict[str, str]]:
    return invoke(
        function("LinkedAccountCodeFunction"), linked_event(platform, "code", {"handle": handle}, sub)
    )


def verify(function: Any, platform: str, handle: str, sub: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    return invoke(
        function("VerifyLinkedAccountFunction"), linked_event(platform, "verify", {"handle": handle}, sub)
    )


def code_for(function: Any, platform: str, handle: str, sub: str) -> str:
    """Given-step: a verification code for the account; asserts 200 and returns the code."""
    status, body, _ = ask_code(function, platform, handle, sub)
    assert status == 200, body
    code: str = body["code"]
    return code


def profile_of(function: Any, sub: str) -> dict[str, Any]:
    """The caller's profile, read through GET /profiles/me; asserts 200."""
    status, body, _ = invoke(
        function("GetProfileFunction"), http_event("GET", "/api/v1/profiles/me", sub=sub)
    )
    assert status == 200, body
    profile: dict[str, Any] = body["profile"]
    return profile


def item(dynamodb: Any, pk: str, sk: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = dynamodb.get_item(
        TableName=TABLE_NAME, Key={"pk": {"S": pk}, "sk": {"S": sk}}
    ).get("Item")
    return found


@pytest.mark.parametrize("platform", list(RECORDED))
def test_a_code_in_the_bio_verifies_the_account_and_saves_its_numbers_marked_verified(
    function: Any, rapidapi: FakeRapidApi, dynamodb: Any, platform: str
) -> None:
    handle = RECORDED[platform]
    # Given a code asked for the account
    code = code_for(function, platform, handle, "alice")
    # And the account's bio holding it among other words
    rapidapi.set_bio(platform, handle, f"hi! {code} and more", recorded=handle)

    # When the caller asks to verify
    status, body, _ = verify(function, platform, handle, "alice")

    # Then the account is theirs, linked, and its numbers (fetched once) are marked verified
    assert status == 200, body
    profile = body["profile"]
    verified = profile["verifiedAccounts"][platform]
    assert verified["handle"].lower() == handle
    assert verified["verifiedAt"] == profile["updatedAt"]
    assert profile["linkedAccounts"][platform] == verified["handle"]
    entry = profile["stats"]["platformBreakdown"][platform]
    assert (entry["followers"], entry["source"], entry["verified"]) == (FOLLOWERS[platform], "rapidapi", True)
    assert profile["stats"]["totalFollowers"] == FOLLOWERS[platform]
    assert rapidapi.count() == 1
    # And the account has one holder, and the code is spent: only its hash was ever stored
    owner = item(dynamodb, f"HANDLE#{platform}#{handle}", "OWNER")
    assert owner is not None
    assert owner["userId"]["S"] == "alice"
    stored = item(dynamodb, "USER#alice", f"VERIFY#CODE#{platform}#{handle}")
    assert stored is not None
    assert "usedAt" in stored
    assert code not in str(stored)
    assert stored["codeHash"]["S"] == code_hash(code)


def test_the_code_is_short_unguessable_and_stored_only_hashed(function: Any, dynamodb: Any) -> None:
    # When a code is asked for
    status, body, _ = ask_code(function, "tiktok", "@CharliDAmelio", "alice")

    # Then it is SS- and 8 characters, shown once, stored only as its hash
    assert status == 200, body
    assert set(body) == {"success", "code", "expiresAt", "message"}
    assert len(body["code"]) == 11
    assert body["code"] in body["message"]
    stored = item(dynamodb, "USER#alice", "VERIFY#CODE#tiktok#charlidamelio")
    assert stored is not None
    assert body["code"] not in str(stored)
    # Codes are drawn at random: a thousand draws do not repeat.
    assert len({new_code() for _ in range(1000)}) == 1000


def test_a_bio_without_the_code_is_a_422_that_says_what_bio_was_seen(
    function: Any, rapidapi: FakeRapidApi, dynamodb: Any
) -> None:
    # Given a code, not put in the bio
    code_for(function, "twitch", "ninja", "alice")

    # When the account is verified
    status, body, _ = verify(function, "twitch", "ninja", "alice")

    # Then it is a 422 quoting the bio seen
    assert status == 422, body
    assert "not in the bio of Twitch account ninja" in body["message"]
    assert "Professional Gamer and Streamer" in body["message"]
    # Nothing of the profile was written, and the code still waits
    assert item(dynamodb, "USER#alice", "PROFILE") is None
    assert item(dynamodb, "HANDLE#twitch#ninja", "OWNER") is None
    stored = item(dynamodb, "USER#alice", "VERIFY#CODE#twitch#ninja")
    assert stored is not None
    assert "usedAt" not in stored


def test_a_long_bio_is_quoted_cut_and_without_control_characters(
    function: Any, rapidapi: FakeRapidApi
) -> None:
    # Given a code, and a long bio with control characters and without the code
    code_for(function, "instagram", "nasa", "alice")
    rapidapi.set_bio("instagram", "nasa", "line one\n\x1b[31mred\x1b[0m " + "x" * 5000, recorded="nasa")

    # When the account is verified
    status, body, _ = verify(function, "instagram", "nasa", "alice")

    # Then the 422 quotes the bio cut short, without control characters
    assert status == 422
    quoted = body["message"].split("“")[1].split("”")[0]
    assert quoted.startswith("line one [31mred [0m x")
    assert len(quoted) == BIO_SHOWN
    assert quoted.endswith("…")
    assert "\x1b" not in body["message"]
    assert "\n" not in body["message"]


def test_an_empty_bio_is_said_to_be_empty(function: Any, rapidapi: FakeRapidApi) -> None:
    # Given a code, and an account with no bio
    code_for(function, "instagram", "privateaccount", "alice")

    # When the account is verified
    status, body, _ = verify(function, "instagram", "privateaccount", "alice")

    # Then the 422 says the bio is empty
    assert status == 422
    assert "Its bio is empty." in body["message"]


@pytest.mark.parametrize(
    ("bio", "found"),
    [
        ("{code}", True),
        ("proof:{code}.", True),
        ("{lower}", True),
        ("{code_without_prefix}", False),
        ("{other}", False),
        ("", False),
    ],
)
def test_the_code_is_found_anywhere_in_the_bio_in_any_case(bio: str, found: bool) -> None:
    code, other = new_code(), new_code()
    text = bio.format(code=code, lower=code.lower(), code_without_prefix=code[3:], other=other)

    assert (code_hash(code) in codes_in(text)) is found


def test_no_code_asked_for_is_a_410_and_costs_no_fetch(function: Any, rapidapi: FakeRapidApi) -> None:
    # When an account is verified with no code asked for
    status, body, _ = verify(function, "tiktok", "charlidamelio", "alice")

    # Then it is a 410, before any fetch
    assert status == 410, body
    assert "ask for a new one" in body["message"]
    assert rapidapi.count() == 0


def test_a_used_code_is_refused_the_second_time(function: Any, rapidapi: FakeRapidApi) -> None:
    # Given an account verified with its code
    code = code_for(function, "tiktok", "charlidamelio", "alice")
    rapidapi.set_bio("tiktok", "charlidamelio", code, recorded="charlidamelio")
    assert verify(function, "tiktok", "charlidamelio", "alice")[0] == 200

    # When it is verified again with the same code
    status, body, _ = verify(function, "tiktok", "charlidamelio", "alice")

    # Then it is a 410, before a second fetch
    assert status == 410, body
    assert "already used" in body["message"]
    assert rapidapi.count() == 1


def test_an_expired_code_is_refused_before_any_fetch(dynamodb: Any, rapidapi: FakeRapidApi) -> None:
    # Given a code issued long enough ago to have expired, and the bio holding it
    settings = Settings.from_env()
    store = verification_store(dynamodb)
    issued_at = utc_now() - timedelta(seconds=settings.verification_code_ttl_seconds + 1)
    code = issue_code(store, settings, "alice", "tiktok", "charlidamelio", issued_at)
    rapidapi.set_bio("tiktok", "charlidamelio", code.code, recorded="charlidamelio")

    # When the caller verifies now
    with pytest.raises(CodeNotUsable, match="expired at"):
        verify_account(store, settings, "alice", "tiktok", "charlidamelio", failing_fetch, utc_now)


def test_a_new_code_replaces_the_earlier_one(function: Any, rapidapi: FakeRapidApi) -> None:
    # Given a code, replaced by a second one, and the first one in the bio
    first = code_for(function, "tiktok", "charlidamelio", "alice")
    code_for(function, "tiktok", "charlidamelio", "alice")
    rapidapi.set_bio("tiktok", "charlidamelio", first, recorded="charlidamelio")

    # When the account is verified
    status, body, _ = verify(function, "tiktok", "charlidamelio", "alice")

    # Then the first code no longer counts
    assert status == 422, body


def test_another_user_takes_the_account_over_only_with_their_own_code_in_the_bio(
    function: Any, rapidapi: FakeRapidApi, dynamodb: Any
) -> None:
    # Given alice verified the account, and has other numbers too
    synced(function, "twitch", {"followers": 500, "engagement": 2.0}, sub="alice")
    alice_code = code_for(function, "tiktok", "charlidamelio", "alice")
    rapidapi.set_bio("tiktok", "charlidamelio", alice_code, recorded="charlidamelio")
    assert verify(function, "tiktok", "charlidamelio", "alice")[0] == 200
    # And bob asked for a code for the same account, while alice's code is still in its bio
    bob_code = code_for(function, "tiktok", "charlidamelio", "bob")

    # When bob verifies with alice's code in the bio, he is refused
    status, body, _ = verify(function, "tiktok", "charlidamelio", "bob")
    assert status == 422, body
    assert profile_of(function, "alice")["verifiedAccounts"]["tiktok"]["handle"] == "charlidamelio"

    # When bob's own code is in the bio
    rapidapi.set_bio("tiktok", "charlidamelio", f"new owner {bob_code}", recorded="charlidamelio")
    status, body, _ = verify(function, "tiktok", "charlidamelio", "bob")

    # Then the account is bob's
    assert status == 200, body
    assert body["profile"]["verifiedAccounts"]["tiktok"]["handle"] == "charlidamelio"
    owner = item(dynamodb, "HANDLE#tiktok#charlidamelio", "OWNER")
    assert owner is not None
    assert owner["userId"]["S"] == "bob"
    # And alice's link is no longer verified, her numbers no longer marked so, her totals exact
    alice = profile_of(function, "alice")
    assert "verifiedAccounts" not in alice
    assert alice["linkedAccounts"] == {"tiktok": "charlidamelio"}
    breakdown = alice["stats"]["platformBreakdown"]
    assert breakdown["tiktok"]["verified"] is False
    assert breakdown["tiktok"]["followers"] == FOLLOWERS["tiktok"]
    assert alice["stats"]["totalFollowers"] == FOLLOWERS["tiktok"] + 500
    assert alice["updatedAt"] == body["profile"]["updatedAt"]


def test_unlinking_ends_the_verification_and_relinking_does_not_bring_it_back(
    function: Any, rapidapi: FakeRapidApi
) -> None:
    code = code_for(function, "twitch", "ninja", "alice")
    rapidapi.set_bio("twitch", "ninja", code, recorded="ninja")
    assert verify(function, "twitch", "ninja", "alice")[0] == 200
    update = function("UpdateProfileFunction")

    # When alice links another channel instead
    status, body, _ = invoke(
        update, http_event("PUT", "/api/v1/profiles/me", {"linkedAccounts": {"twitch": "other"}}, sub="alice")
    )

    # Then ninja is no longer verified, and the numbers it gave are no longer marked so
    assert status == 200, body
    assert "verifiedAccounts" not in body["profile"]
    assert body["profile"]["stats"]["platformBreakdown"]["twitch"]["verified"] is False
    assert body["profile"]["stats"]["totalFollowers"] == FOLLOWERS["twitch"]
    # And linking ninja again does not make it verified again
    status, body, _ = invoke(
        update, http_event("PUT", "/api/v1/profiles/me", {"linkedAccounts": {"twitch": "ninja"}}, sub="alice")
    )
    assert status == 200
    assert "verifiedAccounts" not in body["profile"]


def test_a_profile_update_that_keeps_the_link_keeps_the_verification(
    function: Any, rapidapi: FakeRapidApi
) -> None:
    # Given a verified Twitch account
    code = code_for(function, "twitch", "ninja", "alice")
    rapidapi.set_bio("twitch", "ninja", code, recorded="ninja")
    assert verify(function, "twitch", "ninja", "alice")[0] == 200

    # When the profile is updated with the same handle spelled otherwise
    status, body, _ = invoke(
        function("UpdateProfileFunction"),
        http_event(
            "PUT",
            "/api/v1/profiles/me",
            {"linkedAccounts": {"twitch": "@NINJA", "tiktok": "x"}, "bio": "b"},
            sub="alice",
        ),
    )

    # Then the account is still verified
    assert status == 200, body
    assert body["profile"]["verifiedAccounts"]["twitch"]["handle"] == "ninja"
    assert body["profile"]["stats"]["platformBreakdown"]["twitch"]["verified"] is True


def test_a_sync_of_the_verified_handle_is_marked_verified_and_of_another_ends_it(
    function: Any, rapidapi: FakeRapidApi
) -> None:
    # Given a verified Instagram account
    code = code_for(function, "instagram", "nasa", "alice")
    rapidapi.set_bio("instagram", "nasa", code, recorded="nasa")
    assert verify(function, "instagram", "nasa", "alice")[0] == 200

    # When it is synced by handle, then the verified one is marked so
    status, body, _ = sync(function, "instagram", {"usernameOrId": "@nasa"}, sub="alice")
    assert status == 200
    assert body["profile"]["stats"]["platformBreakdown"]["instagram"]["verified"] is True

    # When another handle is synced, then the verification ends
    status, body, _ = sync(function, "instagram", {"usernameOrId": "privateaccount"}, sub="alice")
    assert status == 200
    assert body["profile"]["linkedAccounts"]["instagram"] == "privateaccount"
    assert body["profile"]["stats"]["platformBreakdown"]["instagram"]["verified"] is False
    assert "verifiedAccounts" not in body["profile"]


def test_client_numbers_are_never_marked_verified(function: Any, rapidapi: FakeRapidApi) -> None:
    # Given a verified Twitch account
    code = code_for(function, "twitch", "ninja", "alice")
    rapidapi.set_bio("twitch", "ninja", code, recorded="ninja")
    assert verify(function, "twitch", "ninja", "alice")[0] == 200

    # When the app sends Twitch numbers itself
    status, body, _ = sync(function, "twitch", {"followers": 5}, sub="alice")

    # Then they are not marked verified, and the account stays verified
    assert status == 200, body
    assert body["profile"]["stats"]["platformBreakdown"]["twitch"]["verified"] is False
    assert body["profile"]["verifiedAccounts"]["twitch"]["handle"] == "ninja"


def test_require_verified_accounts_refuses_an_unverified_handle_and_accepts_the_verified_one(
    function: Any, rapidapi: FakeRapidApi, env: pytest.MonkeyPatch
) -> None:
    # Given a deployment that requires verified accounts
    env.setenv("REQUIRE_VERIFIED_ACCOUNTS", "true")

    # An unverified handle: 403 saying how to verify, and no fetch
    status, body, _ = sync(function, "tiktok", {"usernameOrId": "charlidamelio"}, sub="alice")
    assert status == 403, body
    assert "/api/v1/profiles/me/linked-accounts/tiktok/code" in body["message"]
    assert "/verify" in body["message"]
    assert rapidapi.count() == 0

    # Verified: accepted, and marked so
    code = code_for(function, "tiktok", "charlidamelio", "alice")
    rapidapi.set_bio("tiktok", "charlidamelio", code, recorded="charlidamelio")
    assert verify(function, "tiktok", "charlidamelio", "alice")[0] == 200
    status, body, _ = sync(function, "tiktok", {"usernameOrId": "@charlidamelio"}, sub="alice")
    assert status == 200, body
    assert body["profile"]["stats"]["platformBreakdown"]["tiktok"]["verified"] is True

    # Someone else's verified account is still refused
    status, body, _ = sync(function, "tiktok", {"usernameOrId": "charlidamelio"}, sub="bob")
    assert status == 403


def test_codes_and_verify_attempts_are_limited_per_user_per_hour(
    function: Any, rapidapi: FakeRapidApi, env: pytest.MonkeyPatch
) -> None:
    # Given two attempts an hour, both spent on codes
    env.setenv("VERIFICATION_ATTEMPTS_PER_HOUR", "2")
    code_for(function, "twitch", "ninja", "alice")
    code_for(function, "twitch", "ninja", "alice")

    # A third code: 429
    status, body, headers = ask_code(function, "twitch", "ninja", "alice")
    assert status == 429, body
    assert 1 <= int(headers["Retry-After"]) <= 3600
    # Another user has their own count
    assert ask_code(function, "twitch", "ninja", "bob")[0] == 200

    # Verify attempts: two fetches, then refused before a third
    assert verify(function, "twitch", "ninja", "alice")[0] == 422
    assert verify(function, "twitch", "ninja", "alice")[0] == 422
    status, body, headers = verify(function, "twitch", "ninja", "alice")
    assert status == 429, body
    assert "Retry-After" in headers
    assert rapidapi.count() == 2


@pytest.mark.parametrize("platform", ["myspace", "TikTok", "youtube%2F..", ""])
def test_an_unknown_platform_is_a_404(function: Any, platform: str) -> None:
    # When a code is asked for on a platform the service does not know
    status, body, _ = ask_code(function, platform, "someone", "alice")

    # Then it is a 404 naming the platforms it knows
    assert status == 404, body
    assert body["success"] is False
    assert "tiktok" in body["message"]


@pytest.mark.parametrize(
    "body", [{}, {"handle": ""}, {"handle": "a b"}, {"handle": 5}, {"handle": "x", "code": "y"}]
)
def test_a_bad_body_is_a_400(function: Any, body: Any) -> None:
    # When a code is asked for with a bad body
    status, response, _ = ask_code_raw(function, body)

    # Then it is a 400 naming what is wrong
    assert status == 400, response
    assert response["errors"]


def ask_code_raw(function: Any, body: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
    return invoke(function("LinkedAccountCodeFunction"), linked_event("tiktok", "code", body, "alice"))


def test_the_scheduled_sync_uses_the_verified_handle_and_only_it_when_required() -> None:
    # Given a profile with two linked accounts, one verified
    now = utc_now()
    profile = Profile(
        user_id="alice",
        created_at=now,
        updated_at=now,
        linked_accounts={"tiktok": "charlidamelio", "twitch": "ninja"},
        verified_accounts={"tiktok": VerifiedAccount(handle="charlidamelio", verified_at=now)},
    )

    # Then the schedule syncs both, or only the verified one when verification is required
    assert list(linked_platforms(profile)) == [("tiktok", "charlidamelio"), ("twitch", "ninja")]
    assert list(linked_platforms(profile, verified_only=True)) == [("tiktok", "charlidamelio")]


def verification_store(dynamodb: Any) -> VerificationStore:
    return Container(Settings.from_env(), dynamodb=dynamodb).verifications


def failing_fetch(platform: Any, handle: str) -> Any:
    raise AssertionError("an expired code must be refused before any fetch")


def test_handles_compare_without_at_sign_or_case() -> None:
    now = utc_now()
    profile = Profile(
        user_id="alice",
        created_at=now,
        updated_at=now,
        verified_accounts={"tiktok": VerifiedAccount(handle="charlidamelio", verified_at=now)},
    )

    assert is_verified(profile, "tiktok", " @CharliDAmelio")
    assert not is_verified(profile, "tiktok", "charlidamelio2")
    assert not is_verified(profile, "twitch", "charlidamelio")


class InterferingStore:
    """The real verification store, with another writer getting in between its first read and write."""

    def __init__(self, store: VerificationStore, interfere: Callable[[], None]) -> None:
        self.store = store
        self.interfere = interfere
        self.reads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def verify(self, user_id: str, platform: str, code_key: str, account_key: str, change: Any) -> Profile:
        def racing(state: VerificationState) -> VerificationWrite:
            write: VerificationWrite = change(state)
            self.reads += 1
            if self.reads == 1:
                self.interfere()
            return write

        return self.store.verify(user_id, platform, code_key, account_key, racing)


def issued_and_in_bio(store: VerificationStore, settings: Settings) -> Callable[[Any, str], FetchedAccount]:
    code = issue_code(store, settings, "alice", "tiktok", "charlidamelio", utc_now()).code
    return lambda platform, handle: FetchedAccount(
        platform="tiktok", handle="charlidamelio", followers=7, bio=code
    )


def test_a_holder_that_changes_between_read_and_write_is_read_again(dynamodb: Any) -> None:
    # Given alice's code in the bio, and carol verifying the same account just as alice's write goes out
    settings = Settings.from_env()
    store = verification_store(dynamodb)
    fetch = issued_and_in_bio(store, settings)

    def carol_verifies() -> None:
        dynamodb.put_item(
            TableName=TABLE_NAME,
            Item={
                "pk": {"S": "HANDLE#tiktok#charlidamelio"},
                "sk": {"S": "OWNER"},
                "userId": {"S": "carol"},
                "handle": {"S": "charlidamelio"},
                "verifiedAt": {"S": "2026-11-29T10:00:00.000Z"},
            },
        )

    racing = InterferingStore(store, carol_verifies)

    # When alice's verification is written
    profile = verify_account(racing, settings, "alice", "tiktok", "charlidamelio", fetch, utc_now)  # type: ignore[arg-type]

    # Then her first write was refused, the state read again, and the account is hers
    assert racing.reads == 2
    assert profile.verified_accounts is not None
    assert profile.verified_accounts["tiktok"].handle == "charlidamelio"
    owner = item(dynamodb, "HANDLE#tiktok#charlidamelio", "OWNER")
    assert owner is not None
    assert owner["userId"]["S"] == "alice"


def test_a_code_used_by_a_concurrent_verify_is_not_used_twice(dynamodb: Any) -> None:
    # Given a code in the bio, and a store in which another verify uses the code between read and write
    settings = Settings.from_env()
    store = verification_store(dynamodb)
    fetch = issued_and_in_bio(store, settings)

    def used_meanwhile() -> None:
        dynamodb.update_item(
            TableName=TABLE_NAME,
            Key={"pk": {"S": "USER#alice"}, "sk": {"S": "VERIFY#CODE#tiktok#charlidamelio"}},
            UpdateExpression="SET usedAt = :at",
            ExpressionAttributeValues={":at": {"S": "2026-11-29T10:00:00.000Z"}},
        )

    racing = InterferingStore(store, used_meanwhile)

    # When the account is verified, then the code is refused and nothing is written
    with pytest.raises(CodeNotUsable, match="already used"):
        verify_account(racing, settings, "alice", "tiktok", "charlidamelio", fetch, utc_now)  # type: ignore[arg-type]

    assert item(dynamodb, "USER#alice", "PROFILE") is None
    assert item(dynamodb, "HANDLE#tiktok#charlidamelio", "OWNER") is None


def test_a_profile_update_made_only_at_the_version_read_is_refused_once_the_profile_moved_on(
    dynamodb: Any,
) -> None:
    # Given a profile written once (version 1), created under the condition "no profile yet" (0)
    store = DynamoProfiles(dynamodb, TABLE_NAME, history_retention_days=400, write_attempts=3)
    now = utc_now()
    assert store.update_fields("alice", {"bio": "a"}, now, expected_version=0).version == 1

    # When an update expects the profile it read before that write
    with pytest.raises(ConcurrentUpdateConflict):
        store.update_fields("alice", {"bio": "b"}, now, expected_version=0)

    # Then nothing changed; at the current version it goes through
    current = store.get("alice")
    assert current is not None
    assert current.bio == "a"
    assert store.update_fields("alice", {"bio": "c"}, now, expected_version=1).bio == "c"


def test_required_verification_is_checked_again_on_the_profile_being_written(
    dynamodb: Any, env: pytest.MonkeyPatch
) -> None:
    # Given a deployment that requires verification, and numbers fetched for an account that is not
    # (or no longer, after a takeover between the check and the write) the caller's verified one
    env.setenv("REQUIRE_VERIFIED_ACCOUNTS", "true")
    store = DynamoProfiles(dynamodb, TABLE_NAME, history_retention_days=400, write_attempts=3)
    reading = PlatformReading(followers=5, source="rapidapi", handle="ninja")

    # Then the write refuses them, and nothing is stored
    with pytest.raises(AccountNotVerified):
        sync_platforms(store, Settings.from_env(), "alice", {"twitch": reading}, utc_now)
    assert store.get("alice") is None
