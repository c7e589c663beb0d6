"""DynamoDB for account verification: codes, attempt counters, and who holds each verified account.

Same table as the profiles (the keys are in social_sync.data.keys):
- a code: pk USER#<id>, sk VERIFY#CODE#<platform>#<handle>; only its hash is stored, and `expiresAt`
  (the table's TTL) removes it a day after it expired;
- an attempt counter: pk USER#<id>, sk VERIFY#LIMIT#<kind>, one fixed window at a time;
- an account's holder: pk HANDLE#<platform>#<handle>, sk OWNER, written in the same transaction as
  the profiles it changes, so a verified account belongs to one user at a time.
Handles in keys are lower-case without @ (models.handle_key).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from social_sync.data.attributes import from_attributes, to_attributes
from social_sync.data.dynamo import condition_failed, transact, translate_errors
from social_sync.data.keys import code_key, limit_key, owner_key
from social_sync.data.profiles import DynamoProfiles
from social_sync.models import (
    HandleOwner,
    Profile,
    VerificationCode,
    VerificationState,
    VerificationWrite,
    format_timestamp,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

# A used or expired code is kept this long, so a late verify hears "expired" or "used", not "no code".
CODE_KEPT_AFTER_EXPIRY = timedelta(days=1)


class DynamoVerificationStore:
    """VerificationStore (social_sync.protocols) on the profiles' DynamoDB table."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        profiles: DynamoProfiles,
        *,
        write_attempts: int,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._table = table_name
        self._profiles = profiles
        self._attempts = write_attempts
        self._sleep = sleep

    def put_code(self, user_id: str, platform: str, handle_key: str, code: VerificationCode) -> None:
        """Store `code` for the account, replacing any earlier code for it."""
        item = {
            "handle": code.handle,
            "codeHash": code.code_hash,
            "issuedAt": format_timestamp(code.issued_at),
            "codeExpiresAt": format_timestamp(code.expires_at),
            "expiresAt": int((code.expires_at + CODE_KEPT_AFTER_EXPIRY).timestamp()),
        }
        with translate_errors():
            self._client.put_item(
                TableName=self._table, Item={**code_key(user_id, platform, handle_key), **to_attributes(item)}
            )

    def get_code(self, user_id: str, platform: str, handle_key: str) -> VerificationCode | None:
        """The code issued to the user for the account, read consistently, or None."""
        item = self._get(code_key(user_id, platform, handle_key))
        if item is None:
            return None
        return VerificationCode(
            handle=item["handle"],
            code_hash=item["codeHash"],
            issued_at=datetime.fromisoformat(item["issuedAt"]),
            expires_at=datetime.fromisoformat(item["codeExpiresAt"]),
            used_at=datetime.fromisoformat(item["usedAt"]) if "usedAt" in item else None,
        )

    def count_attempt(
        self, user_id: str, kind: str, window_start: datetime, window_end: datetime, limit: int
    ) -> bool:
        """Count one attempt of `kind` in the window from `window_start`; False once `limit` is reached.

        Two conditional updates: add one inside the current window while under the limit, or start
        the window over when the stored one is older. Concurrent callers never count past the limit.
        """
        key = limit_key(user_id, kind)
        start, end = int(window_start.timestamp()), int(window_end.timestamp())
        values = {":w": {"N": str(start)}, ":one": {"N": "1"}}
        # A caller that sees the window restarted by another goes round again: at most one lap each way.
        for _ in range(3):
            if self._update_if(
                key,
                "SET attempts = attempts + :one",
                "windowStart = :w AND attempts < :limit",
                {**values, ":limit": {"N": str(limit)}},
            ):
                return True
            if self._update_if(
                key,
                "SET windowStart = :w, attempts = :one, expiresAt = :end",
                "attribute_not_exists(windowStart) OR windowStart < :w",
                {**values, ":end": {"N": str(end)}},
            ):
                return True
        return False

    def verify(
        self,
        user_id: str,
        platform: str,
        code_handle_key: str,
        account_handle_key: str,
        change: Callable[[VerificationState], VerificationWrite],
    ) -> Profile:
        """Read the verification's state, apply `change`, and write it all in one transaction.

        The code is marked used only if it is still the unused one read; the account's holder is
        replaced only if it is still the one read; each profile only if it is still at the version
        read. When another writer got there first, read again and re-apply, up to `write_attempts`
        times. Domain errors raised by `change` propagate untouched.
        """

        def prepare() -> tuple[list[TransactWriteItemTypeDef], Profile]:
            state = self._state(user_id, platform, code_handle_key, account_handle_key)
            write = change(state)
            version = (state.profile.version if state.profile else 0) + 1
            saved = write.profile.model_copy(update={"version": version})
            items = [
                self._use_code(user_id, platform, code_handle_key, state, write),
                self._put_owner(platform, account_handle_key, state.owner, write.owner),
                *self._profiles.profile_writes(
                    saved, state.profile.version if state.profile else None, write.history
                ),
            ]
            if write.previous_owner_profile is not None and state.owner_profile is not None:
                previous = write.previous_owner_profile.model_copy(
                    update={"version": state.owner_profile.version + 1}
                )
                items += self._profiles.profile_writes(previous, state.owner_profile.version, [])
            return items, saved

        return transact(self._client, prepare, attempts=self._attempts, sleep=self._sleep)

    def _state(
        self, user_id: str, platform: str, code_handle_key: str, account_handle_key: str
    ) -> VerificationState:
        owner_item = self._get(owner_key(platform, account_handle_key))
        owner = (
            HandleOwner(
                user_id=owner_item["userId"],
                handle=owner_item["handle"],
                verified_at=datetime.fromisoformat(owner_item["verifiedAt"]),
            )
            if owner_item
            else None
        )
        return VerificationState(
            code=self.get_code(user_id, platform, code_handle_key),
            owner=owner,
            profile=self._profiles.get(user_id),
            owner_profile=self._profiles.get(owner.user_id) if owner and owner.user_id != user_id else None,
        )

    def _use_code(
        self, user_id: str, platform: str, handle_key: str, state: VerificationState, write: VerificationWrite
    ) -> TransactWriteItemTypeDef:
        if state.code is None:
            raise ValueError("a verification writes only with a code it read")
        return {
            "Update": {
                "TableName": self._table,
                "Key": code_key(user_id, platform, handle_key),
                "UpdateExpression": "SET usedAt = :at",
                "ConditionExpression": "codeHash = :hash AND attribute_not_exists(usedAt)",
                "ExpressionAttributeValues": {
                    ":at": {"S": format_timestamp(write.owner.verified_at)},
                    ":hash": {"S": state.code.code_hash},
                },
            }
        }

    def _put_owner(
        self, platform: str, handle_key: str, seen: HandleOwner | None, owner: HandleOwner
    ) -> TransactWriteItemTypeDef:
        item = {
            **owner_key(platform, handle_key),
            **to_attributes(
                {
                    "userId": owner.user_id,
                    "handle": owner.handle,
                    "verifiedAt": format_timestamp(owner.verified_at),
                }
            ),
        }
        if seen is None:
            return {
                "Put": {
                    "TableName": self._table,
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        return {
            "Put": {
                "TableName": self._table,
                "Item": item,
                "ConditionExpression": "userId = :seen AND verifiedAt = :seenAt",
                "ExpressionAttributeValues": {
                    ":seen": {"S": seen.user_id},
                    ":seenAt": {"S": format_timestamp(seen.verified_at)},
                },
            }
        }

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        with translate_errors():
            response = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True)
        item = response.get("Item")
        return from_attributes(item) if item else None

    def _update_if(self, key: dict[str, Any], update: str, condition: str, values: dict[str, Any]) -> bool:
        try:
            with translate_errors():
                self._client.update_item(
                    TableName=self._table,
                    Key=key,
                    UpdateExpression=update,
                    ConditionExpression=condition,
                    ExpressionAttributeValues=values,
                )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True
