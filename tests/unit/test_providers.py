"""Each provider's parser against recorded RapidAPI payloads, and against payloads no account produces."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from social_sync.errors import AccountNotFound, RapidApiUnavailable
from social_sync.models import MAX_FOLLOWERS, FetchedAccount, normalize_handle
from social_sync.providers import parse_account
from tests.fake_rapidapi import BIO_PATHS, fixture_json


def recorded(platform: str, name: str) -> Any:
    return copy.deepcopy(fixture_json(platform, name))


def test_tiktok_reads_the_exact_counts_of_stats_v2_and_likes_per_video_over_followers() -> None:
    # Given tiktok-api23's answer for @charlidamelio (statsV2 exact, stats rounded)
    payload = recorded("tiktok", "charlidamelio")

    # When it is parsed
    account = parse_account("tiktok", "charlidamelio", payload)

    # Then the exact counts win, and engagement is average likes per video over followers, in percent
    assert account.followers == 156_183_422
    assert account.engagement == pytest.approx(11_927_043_516 / 2812 / 156_183_422 * 100, abs=1e-6)
    assert (account.handle, account.display_name, account.verified) == (
        "charlidamelio",
        "charli d'amelio",
        True,
    )
    assert account.avatar is not None
    assert account.avatar.startswith("https://")


def test_tiktok_falls_back_to_stats_when_stats_v2_is_absent() -> None:
    account = parse_account("tiktok", "taylorswift", recorded("tiktok", "taylorswift"))

    assert account.followers == 32_600_000
    assert account.engagement == pytest.approx(248_400_000 / 71 / 32_600_000 * 100, abs=1e-6)


@pytest.mark.parametrize(("videos", "followers"), [("0", "1000"), ("10", "0")])
def test_tiktok_engagement_is_unknown_without_videos_or_followers(videos: str, followers: str) -> None:
    # Given a TikTok payload with no videos or no followers
    payload = recorded("tiktok", "charlidamelio")
    payload["userInfo"]["statsV2"].update(videoCount=videos, followerCount=followers)

    # When it is parsed
    account = parse_account("tiktok", "charlidamelio", payload)

    # Then the engagement is unknown rather than 0
    assert account.engagement is None
    assert account.followers == int(followers)


def test_tiktok_engagement_stops_at_100_percent_for_a_tiny_account_with_a_viral_video() -> None:
    payload = recorded("tiktok", "charlidamelio")
    payload["userInfo"]["statsV2"].update(followerCount="50", heartCount="2000000", videoCount="1")

    assert parse_account("tiktok", "charlidamelio", payload).engagement == 100.0


@pytest.mark.parametrize("status", [10202, 10221])
def test_tiktok_status_codes_for_a_missing_or_banned_account_are_not_found(status: int) -> None:
    payload = recorded("tiktok", "not-found")
    payload["statusCode"] = status

    with pytest.raises(AccountNotFound, match="@ghost"):
        parse_account("tiktok", "ghost", payload)


def test_twitter_reads_legacy_followers_and_the_current_core_and_avatar_blocks() -> None:
    account = parse_account("twitter", "nasa", recorded("twitter", "nasa"))

    # Engagement is not in this endpoint's answer: unknown, so a sync keeps the stored rate.
    assert (account.followers, account.engagement) == (89_012_345, None)
    assert (account.handle, account.display_name, account.verified) == ("NASA", "NASA", True)
    assert account.reading().model_dump() == {
        "followers": 89_012_345,
        "engagement": None,
        "source": "rapidapi",
        "handle": "NASA",
    }


@pytest.mark.parametrize("name", ["not-found", "suspended"])
def test_twitter_handles_with_no_user_or_an_unavailable_one_are_not_found(name: str) -> None:
    with pytest.raises(AccountNotFound):
        parse_account("twitter", "ghost", recorded("twitter", name))


def test_twitch_reads_the_follower_total_and_partner_status() -> None:
    account = parse_account("twitch", "ninja", recorded("twitch", "ninja"))

    assert (account.followers, account.engagement) == (19_234_501, None)
    assert (account.handle, account.display_name, account.verified) == ("ninja", "Ninja", True)


def test_twitch_null_user_is_not_found() -> None:
    with pytest.raises(AccountNotFound):
        parse_account("twitch", "ghost", recorded("twitch", "not-found"))


def test_instagram_engagement_comes_from_the_latest_posts_whose_likes_are_shown() -> None:
    account = parse_account("instagram", "nasa", recorded("instagram", "nasa"))

    # Three posts count; the one with hidden likes does not.
    per_post = ((1_234_567 + 5_678) + (987_654 + 4_321) + (2_345_678 + 12_345)) / 3
    assert account.followers == 97_654_321
    assert account.engagement == pytest.approx(per_post / 97_654_321 * 100, abs=1e-6)
    assert (account.handle, account.display_name, account.verified) == ("nasa", "NASA", True)


def test_instagram_without_visible_posts_has_unknown_engagement() -> None:
    account = parse_account("instagram", "privateaccount", recorded("instagram", "privateaccount"))

    assert (account.followers, account.engagement) == (412, None)


def test_instagram_one_unreadable_post_is_skipped_not_fatal() -> None:
    payload = recorded("instagram", "nasa")
    payload["edge_owner_to_timeline_media"]["edges"] = [
        {"node": {"edge_liked_by": {"count": "lots"}}},
        "not a post",
        {"node": {"edge_liked_by": {"count": 1000}, "edge_media_to_comment": {"count": 10}}},
    ]

    # Stored to six decimals, like every engagement rate.
    assert parse_account("instagram", "nasa", payload).engagement == round(1010 / 97_654_321 * 100, 6)


def test_instagram_status_false_is_not_found() -> None:
    with pytest.raises(AccountNotFound):
        parse_account("instagram", "ghost", recorded("instagram", "not-found"))


def _set(payload: Any, path: tuple[Any, ...], value: Any) -> Any:
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return payload


TIKTOK_FOLLOWERS = ("userInfo", "statsV2", "followerCount")
TWITTER_FOLLOWERS = ("result", "data", "user", "result", "legacy", "followers_count")
TWITCH_FOLLOWERS = ("data", "user", "followers", "totalCount")
INSTAGRAM_FOLLOWERS = ("edge_followed_by", "count")

ABSURD = {
    "tiktok followers negative": ("tiktok", "charlidamelio", TIKTOK_FOLLOWERS, "-5"),
    "tiktok followers a fraction": ("tiktok", "charlidamelio", TIKTOK_FOLLOWERS, "12.5"),
    "tiktok followers in words": ("tiktok", "charlidamelio", TIKTOK_FOLLOWERS, "1.2M"),
    "twitter followers a boolean": ("twitter", "nasa", TWITTER_FOLLOWERS, True),
    "twitter followers a float": ("twitter", "nasa", TWITTER_FOLLOWERS, 1000.0),
    "twitter followers null": ("twitter", "nasa", TWITTER_FOLLOWERS, None),
    "twitch followers more than any account has": ("twitch", "ninja", TWITCH_FOLLOWERS, MAX_FOLLOWERS + 1),
    "twitch followers an object": ("twitch", "ninja", TWITCH_FOLLOWERS, {"count": 3}),
    "instagram followers negative": ("instagram", "nasa", INSTAGRAM_FOLLOWERS, -1),
    "instagram followers a string": ("instagram", "nasa", INSTAGRAM_FOLLOWERS, "ninety"),
}


@pytest.mark.parametrize(("platform", "handle", "path", "value"), ABSURD.values(), ids=ABSURD.keys())
def test_absurd_or_missing_counts_are_refused_not_stored(
    platform: Any, handle: str, path: tuple[Any, ...], value: Any
) -> None:
    # Given a recorded payload with an absurd or missing count
    payload = _set(recorded(platform, handle), path, value)
    if platform == "tiktok":
        # statsV2 falls back to stats: make both say the same absurd thing.
        _set(payload, ("userInfo", "stats", "followerCount"), value)

    # When it is parsed, then it is refused, naming the platform
    with pytest.raises(RapidApiUnavailable) as refused:
        parse_account(platform, handle, payload)

    assert platform.capitalize() in refused.value.message


GARBAGE: dict[str, tuple[Any, Any]] = {
    "tiktok: a list": ("tiktok", []),
    "tiktok: an error object": ("tiktok", {"message": "You are not subscribed to this API."}),
    "tiktok: a user but no counts": ("tiktok", {"statusCode": 0, "userInfo": {"user": {"uniqueId": "x"}}}),
    "twitter: a string": ("twitter", "<html>Bad gateway</html>"),
    "twitter: no result": ("twitter", {"errors": [{"message": "Rate limit exceeded"}]}),
    "twitch: no data": ("twitch", {"error": "Internal Server Error"}),
    "twitch: data without user": ("twitch", {"data": {}}),
    "instagram: no counts": ("instagram", {"status": True, "username": "nasa"}),
    "instagram: null": ("instagram", None),
}


@pytest.mark.parametrize(("platform", "payload"), GARBAGE.values(), ids=GARBAGE.keys())
def test_answers_that_are_not_an_account_are_unavailable_not_not_found(platform: Any, payload: Any) -> None:
    with pytest.raises(RapidApiUnavailable):
        parse_account(platform, "someone", payload)


def test_an_unstorable_handle_in_the_payload_falls_back_to_the_requested_one() -> None:
    payload = _set(recorded("twitch", "ninja"), ("data", "user", "login"), "nin ja/../x")

    assert parse_account("twitch", "ninja", payload).handle == "ninja"


def test_display_fields_are_cut_and_odd_avatars_dropped_rather_than_failing() -> None:
    # Given a payload with a huge nickname and a script for an avatar
    payload = recorded("tiktok", "charlidamelio")
    payload["userInfo"]["user"].update(nickname="x" * 5000, avatarLarger="javascript:alert(1)")

    # When it is parsed
    account = parse_account("tiktok", "charlidamelio", payload)

    # Then the name is cut and the avatar dropped
    assert account.display_name == "x" * 200
    assert account.avatar is None


def test_handles_lose_a_leading_at_sign() -> None:
    assert normalize_handle(" @charlidamelio ") == "charlidamelio"


def test_a_fetched_account_is_always_a_storable_reading() -> None:
    account = FetchedAccount(platform="tiktok", handle="a", followers=0, engagement=12.3456789)

    assert account.reading().engagement == 12.345679
    assert account.reading().source == "rapidapi"


# What each recorded payload holds as the account's bio (tests/fixtures/rapidapi/).
RECORDED_BIOS = {
    ("tiktok", "charlidamelio"): "i don't know what to put here",
    ("tiktok", "taylorswift"): "This is pretty much just a cat account",
    ("twitter", "nasa"): "There's space for everybody. ✨",
    ("twitch", "ninja"): "Professional Gamer and Streamer. Business inquiries: ninja@loaded.gg",
    ("instagram", "nasa"): "Exploring the universe and our home planet.",
    ("instagram", "privateaccount"): "",
    ("youtube", "mkbhd"): "MKBHD: Quality Tech Videos | YouTuber | Geek",
}


@pytest.mark.parametrize(("platform", "name"), RECORDED_BIOS, ids=[f"{p}-{n}" for p, n in RECORDED_BIOS])
def test_each_platform_reads_the_accounts_bio_from_its_recorded_payload(platform: Any, name: str) -> None:
    # Given a recorded answer (TikTok signature, Twitter legacy.description, Twitch description,
    # Instagram biography, YouTube snippet.description)
    payload = recorded(platform, name)

    # When it is parsed
    account = parse_account(platform, name, payload)

    # Then the account carries its bio as the platform shows it
    assert account.bio == RECORDED_BIOS[(platform, name)]


@pytest.mark.parametrize("platform", list(BIO_PATHS))
def test_a_bio_is_read_from_the_platforms_own_field_and_nowhere_else(platform: Any) -> None:
    # Given a recorded answer whose bio field says something no other field says
    name = {
        "tiktok": "charlidamelio",
        "twitter": "nasa",
        "twitch": "ninja",
        "instagram": "nasa",
        "youtube": "mkbhd",
    }[platform]
    payload = _set(recorded(platform, name), BIO_PATHS[platform], "proof SS-ABCD2345 here")

    # Then that is the bio
    assert parse_account(platform, name, payload).bio == "proof SS-ABCD2345 here"


@pytest.mark.parametrize("value", [None, 42, ["a"], {"text": "a"}])
def test_a_missing_or_odd_bio_is_no_bio_not_a_failed_fetch(value: Any) -> None:
    payload = _set(recorded("twitch", "ninja"), BIO_PATHS["twitch"], value)

    account = parse_account("twitch", "ninja", payload)

    assert (account.bio, account.followers) == (None, 19_234_501)


def test_an_overlong_bio_is_cut_rather_than_failing() -> None:
    payload = _set(recorded("instagram", "nasa"), BIO_PATHS["instagram"], "b" * 50_000)

    assert parse_account("instagram", "nasa", payload).bio == "b" * 1000
