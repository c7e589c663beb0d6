"""Whose account is it, over the local stack: bio codes checked against a fake RapidAPI on 127.0.0.1.

The local API runs with RequireVerifiedAccounts on; the fake replays the recorded payloads, with
the bio each step of the story needs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from tests.fake_rapidapi import FakeRapidApi
from tests.integration.stack import LocalStack

PROFILE = "/api/v1/profiles/me"
LINKED = "/api/v1/profiles/me/linked-accounts"
SYNC = "/api/v1/profiles/social-sync"
CHARLI_FOLLOWERS = 156_183_422


def fetching_api(extra_api: Callable[[dict[str, str]], LocalStack], url: str, **settings: str) -> LocalStack:
    """A local API that fetches from the fake RapidAPI and syncs only verified accounts."""
    return extra_api(
        {
            "SYNC_COOLDOWN_SECONDS": "0",
            "RAPIDAPI_BASE_URL": url,
            "RAPIDAPI_KEY": "local-fake-key",
            "REQUIRE_VERIFIED_ACCOUNTS": "true",
            **settings,
        }
    )


def test_a_bio_code_makes_an_account_the_callers_and_another_user_takes_it_over_only_with_their_own(
    extra_api: Callable[[dict[str, str]], LocalStack], rapidapi: tuple[FakeRapidApi, str], user: str
) -> None:
    fake, url = rapidapi
    api = fetching_api(extra_api, url)
    alice, bob = api.token(f"{user}-alice"), api.token(f"{user}-bob")
    body = {"handle": "charlidamelio"}

    # Given RequireVerifiedAccounts: an unverified handle is refused, saying how to verify, with no fetch
    refused = api.request("POST", f"{SYNC}/tiktok", {"usernameOrId": "charlidamelio"}, token=alice)
    assert refused.status == 403, refused.body
    assert f"{LINKED}/tiktok/code" in refused.json()["message"]
    assert fake.count() == 0

    # When alice asks for a code
    issued = api.request("POST", f"{LINKED}/tiktok/code", body, token=alice)
    assert issued.status == 200, issued.body
    code = issued.json()["code"]
    assert datetime.fromisoformat(issued.json()["expiresAt"]) > datetime.now(UTC)

    # And verifies while the bio does not hold it: a clear refusal quoting the bio seen
    missing = api.request("POST", f"{LINKED}/tiktok/verify", body, token=alice)
    assert missing.status == 422, missing.body
    assert "i don't know what to put here" in missing.json()["message"]
    assert api.request("GET", PROFILE, token=alice).status == 404

    # And verifies with the code in the bio: the account is hers
    fake.set_bio("tiktok", "charlidamelio", f"dance {code} love", recorded="charlidamelio")
    verified = api.request("POST", f"{LINKED}/tiktok/verify", body, token=alice)
    assert verified.status == 200, verified.body
    assert verified.json()["message"] == "Tiktok account charlidamelio verified"

    # Then her profile shows it, with the account's numbers marked verified
    profile = api.request("GET", PROFILE, token=alice).json()["profile"]
    assert profile["verifiedAccounts"]["tiktok"]["handle"] == "charlidamelio"
    assert profile["linkedAccounts"] == {"tiktok": "charlidamelio"}
    entry = profile["stats"]["platformBreakdown"]["tiktok"]
    assert (entry["followers"], entry["source"], entry["verified"]) == (CHARLI_FOLLOWERS, "rapidapi", True)

    # And the used code does not verify again, and costs no fetch
    fetches = fake.count()
    reused = api.request("POST", f"{LINKED}/tiktok/verify", body, token=alice)
    assert reused.status == 410, reused.body
    assert fake.count() == fetches

    # And a sync by the verified handle is now accepted, and marked verified
    synced = api.request("POST", f"{SYNC}/tiktok", {"usernameOrId": "@charlidamelio"}, token=alice)
    assert synced.status == 200, synced.body
    assert synced.json()["profile"]["stats"]["platformBreakdown"]["tiktok"]["verified"] is True

    # When bob asks for a code for the same account while alice's code is in its bio, he is refused
    bob_code = api.request("POST", f"{LINKED}/tiktok/code", body, token=bob).json()["code"]
    assert api.request("POST", f"{LINKED}/tiktok/verify", body, token=bob).status == 422
    assert api.request("POST", f"{SYNC}/tiktok", {"usernameOrId": "charlidamelio"}, token=bob).status == 403

    # When bob's own code is in the bio, he takes the account over
    fake.set_bio("tiktok", "charlidamelio", f"this is bob {bob_code}", recorded="charlidamelio")
    taken = api.request("POST", f"{LINKED}/tiktok/verify", body, token=bob)
    assert taken.status == 200, taken.body
    assert taken.json()["profile"]["verifiedAccounts"]["tiktok"]["handle"] == "charlidamelio"

    # Then alice's link is unverified, her numbers no longer marked so, her totals exact
    profile = api.request("GET", PROFILE, token=alice).json()["profile"]
    assert "verifiedAccounts" not in profile
    entry = profile["stats"]["platformBreakdown"]["tiktok"]
    assert (entry["followers"], entry["verified"]) == (CHARLI_FOLLOWERS, False)
    assert profile["stats"]["totalFollowers"] == CHARLI_FOLLOWERS
    # And the deployment now syncs that account for bob, not for alice
    assert api.request("POST", f"{SYNC}/tiktok", {"usernameOrId": "charlidamelio"}, token=alice).status == 403
    assert api.request("POST", f"{SYNC}/tiktok", {"usernameOrId": "charlidamelio"}, token=bob).status == 200


def test_an_expired_code_is_refused_even_with_the_code_in_the_bio(
    extra_api: Callable[[dict[str, str]], LocalStack], rapidapi: tuple[FakeRapidApi, str], user: str
) -> None:
    # Given codes valid for one second, and one issued and put in the bio
    fake, url = rapidapi
    api = fetching_api(extra_api, url, VERIFICATION_CODE_TTL_SECONDS="1")
    token = api.token(user)
    issued = api.request("POST", f"{LINKED}/twitch/code", {"handle": "ninja"}, token=token)
    assert issued.status == 200, issued.body
    fake.set_bio("twitch", "ninja", issued.json()["code"], recorded="ninja")

    # When the caller verifies after the expiry the service announced (the time passing is the point)
    expires_at = datetime.fromisoformat(issued.json()["expiresAt"])
    time.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()) + 0.05)
    expired = api.request("POST", f"{LINKED}/twitch/verify", {"handle": "ninja"}, token=token)

    # Then it is refused, says so, costs no fetch, and stores nothing
    assert expired.status == 410, expired.body
    assert "expired" in expired.json()["message"]
    assert fake.count() == 0
    assert api.request("GET", PROFILE, token=token).status == 404


def test_users_verifying_one_account_at_once_leave_exactly_one_holder(
    extra_api: Callable[[dict[str, str]], LocalStack], rapidapi: tuple[FakeRapidApi, str], user: str
) -> None:
    # Given six users, each with a code for the same Twitch channel and their own synced numbers,
    # and every code in the channel's bio at once
    fake, url = rapidapi
    api = fetching_api(extra_api, url)
    users = [f"{user}-{n}" for n in range(6)]
    codes = []
    for name in users:
        synced = api.request("POST", f"{SYNC}/instagram", {"followers": 100}, token=api.token(name))
        assert synced.status == 200, synced.body
        issued = api.request("POST", f"{LINKED}/twitch/code", {"handle": "ninja"}, token=api.token(name))
        assert issued.status == 200, issued.body
        codes.append(issued.json()["code"])
    fake.set_bio("twitch", "ninja", " ".join(codes), recorded="ninja")
    start_together = threading.Barrier(len(users))

    def verify(name: str) -> int:
        start_together.wait()
        return api.request(
            "POST", f"{LINKED}/twitch/verify", {"handle": "ninja"}, token=api.token(name)
        ).status

    # When they all verify at the same moment
    with ThreadPoolExecutor(max_workers=len(users)) as pool:
        statuses = list(pool.map(verify, users))

    # Then each verification landed whole (one after the other, each taking the channel over) or was
    # refused as a retryable conflict; none was half written
    print(f"\nsix verifies of one account at once: {statuses}")
    assert set(statuses) <= {200, 503}, statuses
    assert 200 in statuses
    # And exactly one user holds the channel, with its numbers marked verified; everyone else who
    # got it has it no longer, and every profile's totals are exact
    holders = []
    for name, status in zip(users, statuses, strict=True):
        profile = api.request("GET", PROFILE, token=api.token(name)).json()["profile"]
        breakdown = profile["stats"]["platformBreakdown"]
        if "twitch" in (profile.get("verifiedAccounts") or {}):
            holders.append(name)
            assert breakdown["twitch"]["verified"] is True
        elif status == 200:
            assert breakdown["twitch"]["verified"] is False
        assert profile["stats"]["totalFollowers"] == sum(entry["followers"] for entry in breakdown.values())
    assert len(holders) == 1, holders
