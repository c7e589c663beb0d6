"""Proof that a linked account is the caller's: a one-time code in the account's bio.

The caller asks for a code for a platform and handle (`issue_code`), puts it anywhere in that
account's bio, and asks to verify (`verify_account`): the account is fetched through the same
provider as a sync by handle, and the code must be in its bio. A code is short, drawn with the
`secrets` module, valid for VERIFICATION_CODE_TTL_SECONDS, used once, and stored only as a hash.

A verified account belongs to one user at a time. Verifying one that another user holds takes it
over, in one transaction that marks the code used, names the new holder, saves the caller's
profile (the account verified and linked, its numbers fetched just now and marked verified) and
the previous holder's (the account no longer verified, its numbers no longer marked so). A holder
record left behind by an account its holder has since unlinked is simply overwritten.

Codes and verify attempts are counted per user in hourly windows (VERIFICATION_ATTEMPTS_PER_HOUR
each); a verify attempt costs one upstream fetch. No AWS here: the repository is handed in.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from social_sync.errors import CodeNotInBio, CodeNotUsable, TooManyAttempts, UnknownPlatform
from social_sync.models import (
    PLATFORMS,
    HandleOwner,
    IssuedCode,
    Platform,
    Profile,
    VerificationCode,
    VerificationState,
    VerificationWrite,
    VerifiedAccount,
    format_timestamp,
    handle_key,
)
from social_sync.ownership import is_verified, without_verification
from social_sync.profiles import EPOCH, apply_sync
from social_sync.settings import Settings

if TYPE_CHECKING:
    from social_sync.protocols import AccountFetcher, StatsPublisher, VerificationStore

CODE_PREFIX = "SS-"
# No 0/O or 1/I: a code is read off a screen and typed into a bio by hand. 32 symbols, 8 of them: 40 bits.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8
_CODE_IN_TEXT = re.compile(rf"{CODE_PREFIX}[{CODE_ALPHABET}]{{{CODE_LENGTH}}}", re.IGNORECASE)
ATTEMPT_WINDOW = timedelta(hours=1)
# How much of a bio a refusal quotes back.
BIO_SHOWN = 160
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def known_platform(name: str | None) -> Platform:
    """The platform a route's {platform} names; UnknownPlatform for anything else."""
    for platform in PLATFORMS:
        if name == platform:
            return platform
    raise UnknownPlatform(f"There is no platform {str(name)[:30]!r} here; use one of {', '.join(PLATFORMS)}")


def new_code() -> str:
    """A fresh code, e.g. SS-7KQ2M9XD."""
    return CODE_PREFIX + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def code_hash(code: str) -> str:
    """What is stored of a code (codes are compared case-insensitively)."""
    return hashlib.sha256(code.upper().encode()).hexdigest()


def codes_in(text: str | None) -> set[str]:
    """The hashes of every code-shaped word in `text`."""
    return {code_hash(match) for match in _CODE_IN_TEXT.findall(text or "")}


def issue_code(
    verifications: VerificationStore,
    settings: Settings,
    user_id: str,
    platform: Platform,
    handle: str,
    now: datetime,
) -> IssuedCode:
    """A new code for the caller's account `handle` on `platform`, replacing any earlier one for it.

    Raises TooManyAttempts when the caller asked for too many codes this hour.
    """
    _count(verifications, settings, user_id, "code", now, "verification codes")
    code = new_code()
    name = handle.strip().removeprefix("@")
    expires_at = now + timedelta(seconds=settings.verification_code_ttl_seconds)
    record = VerificationCode(handle=name, code_hash=code_hash(code), issued_at=now, expires_at=expires_at)
    verifications.put_code(user_id, platform, handle_key(handle), record)
    return IssuedCode(
        code=code,
        expires_at=expires_at,
        message=(
            f"Put {code} anywhere in the bio of {platform.capitalize()} account {name}, then verify "
            f"before {format_timestamp(expires_at)}"
        ),
    )


def verify_account(
    verifications: VerificationStore,
    settings: Settings,
    user_id: str,
    platform: Platform,
    handle: str,
    fetch: AccountFetcher,
    now: Callable[[], datetime],
    *,
    publisher: StatsPublisher | None = None,
) -> Profile:
    """Verify that the caller's code is in the bio of `handle` on `platform`, and make the account theirs.

    Raises CodeNotUsable (no unused, unexpired code for it), TooManyAttempts, the fetch's errors
    (AccountNotFound, RapidApiUnavailable, RapidApiTimeout), or CodeNotInBio; all before anything
    is written. The code is checked before the attempt is counted, and the attempt before the fetch.
    """
    key = handle_key(handle)
    moment = now()
    issued = _usable(verifications.get_code(user_id, platform, key), platform, handle, moment)
    _count(verifications, settings, user_id, "verify", moment, "verification attempts")
    account = fetch(platform, handle)
    if issued.code_hash not in codes_in(account.bio):
        raise CodeNotInBio(
            f"Your code is not in the bio of {platform.capitalize()} account {account.handle} yet. "
            f"{_bio_seen(account.bio)} Put the code anywhere in the bio, save it, and try again "
            "(a platform can take a minute to show a new bio)"
        )

    def change(state: VerificationState) -> VerificationWrite:
        at = now()
        code = _usable(state.code, platform, handle, at)
        if code.code_hash != issued.code_hash:
            raise CodeNotUsable(
                "A newer code was asked for this account in the meantime; put that one in the bio"
            )
        profile = state.profile or Profile(user_id=user_id, created_at=at, updated_at=at)
        profile = profile.model_copy(
            update={
                "verified_accounts": {
                    **(profile.verified_accounts or {}),
                    platform: VerifiedAccount(handle=account.handle, verified_at=at),
                },
                "linked_accounts": {**(profile.linked_accounts or {}), platform: account.handle},
            }
        )
        # The fetch that found the code also brought the account's numbers: save them, marked verified.
        profile, point = apply_sync(
            profile,
            user_id,
            platform,
            account.reading(),
            now=at,
            trigger="user",
            mode=settings.engagement_average,
            cooldown_seconds=0,
        )
        previous = None
        if state.owner_profile is not None and is_verified(state.owner_profile, platform, account.handle):
            previous = without_verification(state.owner_profile, {platform}).model_copy(
                update={"updated_at": at}
            )
        return VerificationWrite(
            profile=profile,
            history=[point],
            owner=HandleOwner(user_id=user_id, handle=account.handle, verified_at=at),
            previous_owner_profile=previous,
        )

    saved = verifications.verify(user_id, platform, key, handle_key(account.handle), change)
    if publisher is not None:
        publisher.stats_synced(saved, [platform], "rapidapi")
    return saved


def _usable(
    code: VerificationCode | None, platform: Platform, handle: str, now: datetime
) -> VerificationCode:
    name = handle.strip().removeprefix("@")
    ask = f"ask for a new one (POST /api/v1/profiles/me/linked-accounts/{platform}/code)"
    if code is None:
        raise CodeNotUsable(f"No code is waiting for {platform.capitalize()} account {name}; {ask}")
    if code.used_at is not None:
        raise CodeNotUsable(f"The code for {platform.capitalize()} account {name} was already used; {ask}")
    if now >= code.expires_at:
        raise CodeNotUsable(
            f"The code for {platform.capitalize()} account {name} expired at "
            f"{format_timestamp(code.expires_at)}; {ask}"
        )
    return code


def _count(
    verifications: VerificationStore, settings: Settings, user_id: str, kind: str, now: datetime, what: str
) -> None:
    start = EPOCH + (now - EPOCH) // ATTEMPT_WINDOW * ATTEMPT_WINDOW
    end = start + ATTEMPT_WINDOW
    if not verifications.count_attempt(user_id, kind, start, end, settings.verification_attempts_per_hour):
        wait = max(1, math.ceil((end - now).total_seconds()))
        raise TooManyAttempts(
            f"Too many {what} this hour (at most {settings.verification_attempts_per_hour}); "
            f"try again in {wait} seconds",
            wait,
        )


def _bio_seen(bio: str | None) -> str:
    text = " ".join(_UNPRINTABLE.sub(" ", bio or "").split())
    if not text:
        return "Its bio is empty."
    if len(text) > BIO_SHOWN:
        text = text[: BIO_SHOWN - 1].rstrip() + "…"
    return f"Its bio reads: “{text}”."
