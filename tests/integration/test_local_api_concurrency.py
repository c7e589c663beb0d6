"""The app's "sync all" fires syncs in parallel: all must land and the aggregates must stay exact."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.helpers import assert_aggregates_match_breakdown
from tests.integration.stack import LocalStack, Reply

PLATFORMS = ("tiktok", "twitch", "twitter", "instagram")
ROUNDS = 20


def test_eighty_parallel_syncs_of_one_user_all_land(stack: LocalStack, user: str) -> None:
    # Given 20 distinct readings for each of the four platforms (the stack runs with the cooldown off)
    sent = {
        platform: [
            {"followers": 1_000_000 * (index + 1) + round_, "engagement": round(index + round_ / 100, 2)}
            for round_ in range(ROUNDS)
        ]
        for index, platform in enumerate(PLATFORMS)
    }
    jobs = [(platform, body) for platform, bodies in sent.items() for body in bodies]
    token = stack.token(user)
    start_together = threading.Barrier(len(jobs))

    def fire(job: tuple[str, dict[str, Any]]) -> Reply:
        platform, body = job
        start_together.wait()
        return stack.request("POST", f"/api/v1/profiles/social-sync/{platform}", body, token=token)

    # When all 80 go at once
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        replies = list(pool.map(fire, jobs))

    # Then every one succeeded, and each answer was consistent in itself
    assert [reply.status for reply in replies] == [200] * len(jobs), [
        r.body[:200] for r in replies if r.status != 200
    ]
    for reply in replies:
        assert_aggregates_match_breakdown(reply.json()["profile"])

    # And the stored profile holds, per platform, one of the readings sent, with exact aggregates
    profile = stack.request("GET", "/api/v1/profiles/me", token=token).json()["profile"]
    breakdown = profile["stats"]["platformBreakdown"]
    assert set(breakdown) == set(PLATFORMS)
    for platform, bodies in sent.items():
        stored = {
            "followers": breakdown[platform]["followers"],
            "engagement": breakdown[platform]["engagement"],
        }
        assert stored in bodies, platform
    assert_aggregates_match_breakdown(profile)
