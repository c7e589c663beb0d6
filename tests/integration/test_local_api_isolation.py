"""A caller reads and writes only their own profile: the token's sub is the only identity."""

from __future__ import annotations

from tests.integration.stack import LocalStack

PROFILE = "/api/v1/profiles/me"
SYNC_TIKTOK = "/api/v1/profiles/social-sync/tiktok"


def test_two_users_cannot_see_or_change_each_others_profiles(stack: LocalStack, user: str) -> None:
    alice, bob = f"{user}-alice", f"{user}-bob"

    # Given Alice has a profile
    assert stack.request("POST", SYNC_TIKTOK, {"followers": 1000}, token=stack.token(alice)).status == 200
    assert stack.request("PUT", PROFILE, {"bio": "Alice's"}, token=stack.token(alice)).status == 200
    alices = stack.request("GET", PROFILE, token=stack.token(alice)).json()

    # Then Bob has none, whatever he puts in the query string
    assert stack.request("GET", f"{PROFILE}?userId={alice}", token=stack.token(bob)).status == 404

    # When Bob syncs, edits and even names Alice in the body
    assert stack.request("POST", SYNC_TIKTOK, {"followers": 5}, token=stack.token(bob)).status == 200
    assert stack.request("PUT", PROFILE, {"bio": "Bob's"}, token=stack.token(bob)).status == 200
    naming_alice = stack.request("PUT", PROFILE, {"userId": alice, "bio": "x"}, token=stack.token(bob))
    assert naming_alice.status == 400

    # Then Bob sees only his own profile and Alice's is exactly as she left it
    bobs = stack.request("GET", PROFILE, token=stack.token(bob)).json()["profile"]
    assert bobs["userId"] == bob
    assert bobs["bio"] == "Bob's"
    assert bobs["stats"]["totalFollowers"] == 5
    assert stack.request("GET", PROFILE, token=stack.token(alice)).json() == alices
