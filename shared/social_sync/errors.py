"""Domain errors. Logic raises these; the HTTP edge turns them into the documented JSON."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of a request."""

    field: str
    message: str


class DomainError(Exception):
    """A failure the caller can understand; `message` is written for a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(DomainError):
    """Bad input: not JSON, wrong types, out of range, no field given, unknown or read-only fields.
    Nothing was changed."""

    def __init__(self, message: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class Unauthenticated(DomainError):
    """No caller identity reached the function, or one too long to be anyone's."""


class ClientStatsRefused(DomainError):
    """Numbers sent by the client, while the deployment accepts only numbers it fetches itself."""


class ProfileNotFound(DomainError):
    """The caller has no profile yet."""


class PayloadTooLarge(DomainError):
    """The request body is over the size limit (the message says which)."""


class RetryLater(DomainError):
    """Refused for now; Retry-After says when trying again can succeed."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class SyncTooSoon(RetryLater):
    """A platform was synced again before its cooldown ran out."""

    def __init__(self, platform: str, retry_after_seconds: int) -> None:
        super().__init__(
            f"{platform.capitalize()} was synced less than the cooldown ago; "
            f"try again in {retry_after_seconds} seconds",
            retry_after_seconds,
        )


class FetchLimitReached(RetryLater):
    """A platform's request rate or daily quota is spent; nothing was fetched or changed."""


class QuotaExhausted(FetchLimitReached):
    """The YouTube Data API's daily quota is spent until Google's reset at midnight Pacific."""


class PlanExhausted(FetchLimitReached):
    """The HTTP routes' share of the vendor's request plan, which every function draws on, is spent for
    the moment."""

    def __init__(self, vendor: str, retry_after_seconds: int) -> None:
        super().__init__(
            f"This service's {vendor} request budget is spent for the moment; "
            f"try again in {retry_after_seconds} seconds",
            retry_after_seconds,
        )


class ConcurrentUpdateConflict(DomainError):
    """Other writers kept changing the profile; nothing was changed, and trying again can succeed."""


class StoreUnavailable(DomainError):
    """The database could not be reached; nothing was changed."""


class AccountNotFound(DomainError):
    """The platform has no account with the handle that was asked for."""


class AccountNumbersHidden(AccountNotFound):
    """The account exists but hides the number this service needs (a YouTube channel's subscribers)."""


class RapidApiError(DomainError):
    """A fetch from RapidAPI (or the YouTube Data API) did not give usable numbers; nothing was stored."""


class RapidApiUnavailable(RapidApiError):
    """RapidAPI or the YouTube Data API failed, refused, kept rate limiting, or sent something that is not
    an account; nothing was stored."""


class RapidApiTimeout(RapidApiError):
    """RapidAPI or the YouTube Data API did not answer in time; nothing was stored."""


class RequestInProgress(DomainError):
    """A request with the same Idempotency-Key is still running."""


class IdempotencyKeyReused(DomainError):
    """This Idempotency-Key was already used with a different request body."""


class UnknownPlatform(DomainError):
    """The path names a platform this service does not know."""


class AccountNotVerified(DomainError):
    """The deployment syncs only accounts the caller verified, and this one is not; the message says
    how to verify it."""


class CodeNotUsable(DomainError):
    """No unused, unexpired verification code is waiting for this account: ask for a new one."""


class CodeNotInBio(DomainError):
    """The account's bio does not (yet) hold the caller's verification code."""


class TooManyAttempts(RetryLater):
    """Too many verification codes or attempts in the current window."""


# What each error answers over HTTP: the one table of statuses. An error's status is that of the
# nearest class in its MRO listed here (RapidApiTimeout before RapidApiError); one nobody gave a
# status is a bug on our side, a 500. The API document describes each status by the docstrings of
# the errors that answer it.
STATUS: dict[type[DomainError], int] = {
    InvalidRequest: 400,
    Unauthenticated: 401,
    ClientStatsRefused: 403,
    AccountNotVerified: 403,
    ProfileNotFound: 404,
    AccountNotFound: 404,
    UnknownPlatform: 404,
    RequestInProgress: 409,
    CodeNotUsable: 410,
    PayloadTooLarge: 413,
    IdempotencyKeyReused: 422,
    CodeNotInBio: 422,
    RetryLater: 429,
    RapidApiUnavailable: 502,
    ConcurrentUpdateConflict: 503,
    StoreUnavailable: 503,
    RapidApiTimeout: 504,
}


def status_of(kind: type[DomainError]) -> int:
    """The HTTP status an error of class `kind` answers."""
    return next((STATUS[base] for base in kind.__mro__ if base in STATUS), 500)
