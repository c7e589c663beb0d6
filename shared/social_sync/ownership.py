"""Which linked accounts are the caller's: pure rules over a profile, shared by the sync and verification.

A profile's `verifiedAccounts[platform]` is the account its owner proved theirs with a bio code
(social_sync.verification). It holds only while it is also the linked account of that platform:
linking another handle, or unlinking it, ends the verification, and the platform's numbers are
then no longer marked verified.
"""

from __future__ import annotations

from social_sync.models import Profile, handle_key


def verified_handle(profile: Profile | None, platform: str) -> str | None:
    """The handle the profile's owner verified on `platform`, if any."""
    verified = (profile.verified_accounts or {}).get(platform) if profile else None
    return verified.handle if verified else None


def is_verified(profile: Profile | None, platform: str, handle: str) -> bool:
    """Whether `handle` is the account the profile's owner verified on `platform`."""
    verified = verified_handle(profile, platform)
    return verified is not None and handle_key(verified) == handle_key(handle)


def without_verification(profile: Profile, platforms: set[str]) -> Profile:
    """The profile with `platforms` no longer verified, and their numbers no longer marked verified.

    The numbers themselves stay, so the aggregates (sums over the numbers) stay what they are.
    """
    verified = {p: v for p, v in (profile.verified_accounts or {}).items() if p not in platforms}
    breakdown = {
        platform: entry.model_copy(update={"verified": False}) if platform in platforms else entry
        for platform, entry in profile.stats.platform_breakdown.items()
    }
    return profile.model_copy(
        update={
            "verified_accounts": verified or None,
            "stats": profile.stats.model_copy(update={"platform_breakdown": breakdown}),
        }
    )


def without_unlinked(profile: Profile) -> Profile:
    """The profile without the verifications whose account is no longer the linked one."""
    linked = profile.linked_accounts or {}
    ended = {
        platform
        for platform in profile.verified_accounts or {}
        if not linked.get(platform) or not is_verified(profile, platform, linked[platform])
    }
    return without_verification(profile, ended) if ended else profile
