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
    """The request is malformed: not JSON, wrong types, out of range, unknown or read-only fields."""

    def __init__(self, message: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class Unauthenticated(DomainError):
    """No caller identity reached the function."""


class ClientStatsRefused(DomainError):
    """This deployment accepts only numbers the service fetched itself."""


class ProfileNotFound(DomainError):
    """The caller has no profile yet."""


class PayloadTooLarge(DomainError):
    """The request body is over the size limit."""


class SyncTooSoon(DomainError):
    """A platform was synced again before its cooldown ran out."""

    def __init__(self, platform: str, retry_after_seconds: int) -> None:
        super().__init__(
            f"{platform.capitalize()} was synced less than the cooldown ago; "
            f"try again in {retry_after_seconds} seconds"
        )
        self.retry_after_seconds = retry_after_seconds


class ConcurrentUpdateConflict(DomainError):
    """Other writers kept changing the profile; the write was not made and may be retried."""


class StoreUnavailable(DomainError):
    """The database could not be reached; nothing was written."""


class AccountNotFound(DomainError):
    """The platform has no account with the handle that was asked for."""


class RapidApiError(DomainError):
    """A fetch from RapidAPI did not give usable numbers; nothing was stored."""


class RapidApiUnavailable(RapidApiError):
    """RapidAPI failed, refused, kept rate limiting, or sent something that is not an account."""


class RapidApiTimeout(RapidApiError):
    """RapidAPI did not answer in time."""


class RequestInProgress(DomainError):
    """A request with the same Idempotency-Key is still running."""


class IdempotencyKeyReused(DomainError):
    """An Idempotency-Key came back with a different body."""


class QuotaExhausted(DomainError):
    """The vendor's plan has no request left for this caller before its deadline; try again later."""

    def __init__(self, vendor: str, retry_after_seconds: int) -> None:
        super().__init__(
            f"This service's {vendor} request budget is spent for the moment; "
            f"try again in {retry_after_seconds} seconds"
        )
        self.retry_after_seconds = retry_after_seconds
