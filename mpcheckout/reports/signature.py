"""The "report ready" notification Mercado Pago posts when a settlement or release report is
generated (set in the reports panel, apart from the payment Webhooks): its body, and its bcrypt
signature.

The rule (account-money generate.en.md, "Notifications › Webhook"): `signature` is
`BCrypt(transaction_id + "-" + password + "-" + generation_date)`, checked with bcrypt's own
verify. Two things real traffic needs (research mp-wave2 §4.7):
- the strings exactly as received: `generation_date` comes as `2023-10-31T9:35:42-0400`, which no
  ISO parser round-trips, so it is never parsed here; numeric JSON stays its own text;
- the input cut at 72 bytes, as Mercado Pago's Java `BCrypt` does; the `bcrypt` package (5.x)
  refuses a longer secret instead, and `test_transaction_id-<password>-<date>` passes 72 with a
  password of 28 characters.
Every failure is a typed error; nothing else escapes to a server that would answer 500.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import bcrypt

from ..errors import AuthenticationError, ValidationError

BCRYPT_MAX_BYTES = 72
DEFAULT_ROUNDS = 10  # what Mercado Pago's signatures carry ($2a$10$ / $2b$10$)


class ReportSignatureFailure(StrEnum):
    MISSING = "missing"  # no signature, or no password configured to check it with
    MALFORMED = "malformed"  # not a bcrypt hash
    MISMATCH = "mismatch"


class ReportSignatureError(AuthenticationError):
    code = "invalid_report_signature"
    message_key = "error.report_signature"
    hint_key = "hint.report_signature"

    def __init__(self, reason: ReportSignatureFailure) -> None:
        self.reason = reason
        super().__init__(reason=reason.value, details={"reason": reason.value})


class ReportNotificationError(ValidationError):
    code = "invalid_report_notification"
    message_key = "error.report_notification_malformed"

    def __init__(self, detail: str) -> None:
        super().__init__(detail=detail, details={"detail": detail})


@dataclass(frozen=True, slots=True)
class ReportFile:
    name: str
    type: str  # file/csv, file/xlsx
    url: str


@dataclass(frozen=True, slots=True)
class ReportNotification:
    transaction_id: str  # the panel's test sends "test_transaction_id"
    generation_date: str  # raw, as received: it is signed that way
    request_date: str
    files: tuple[ReportFile, ...]
    report_type: str  # settlement, release; the panel's test sends report_test
    is_test: bool
    creation_type: str  # manual, scheduled
    status: str
    signature: str

    @property
    def csv_files(self) -> tuple[ReportFile, ...]:
        return tuple(f for f in self.files if f.type.endswith("csv") or f.name.endswith(".csv"))


def parse_report_notification(body: bytes | str | Mapping[str, Any]) -> ReportNotification:
    """The notification as posted, bare or wrapped as `{"payload": {...}}`."""
    document = _load(body) if isinstance(body, bytes | str) else body
    if isinstance(document.get("payload"), Mapping):
        document = document["payload"]
    transaction_id = _text(document, "transaction_id")
    if not transaction_id:
        raise ReportNotificationError("transaction_id is missing")
    return ReportNotification(
        transaction_id=transaction_id,
        generation_date=_text(document, "generation_date"),
        request_date=_text(document, "request_date"),
        files=_files(document.get("files")),
        report_type=_text(document, "report_type"),
        is_test=_flag(document.get("is_test")),
        creation_type=_text(document, "creation_type"),
        status=_text(document, "status"),
        signature=_text(document, "signature"),
    )


def verify_report_signature(notification: ReportNotification, passwords: Sequence[str]) -> None:
    """Return None when one of `passwords` (several: a password can be rotated) signs the
    notification; raise ReportSignatureError otherwise."""
    if not notification.signature or not passwords:
        raise ReportSignatureError(ReportSignatureFailure.MISSING)
    hashed = notification.signature.encode()
    for password in passwords:
        signed = _signed_text(notification.transaction_id, password, notification.generation_date)
        try:
            if bcrypt.checkpw(signed, hashed):
                return
        except ValueError:  # "Invalid salt": not a bcrypt hash at all
            raise ReportSignatureError(ReportSignatureFailure.MALFORMED) from None
    raise ReportSignatureError(ReportSignatureFailure.MISMATCH)


def sign_report_notification(
    transaction_id: str, password: str, generation_date: str, *, rounds: int = DEFAULT_ROUNDS
) -> str:
    """The `signature` Mercado Pago would send: for the sandbox and for tests."""
    signed = _signed_text(transaction_id, password, generation_date)
    return bcrypt.hashpw(signed, bcrypt.gensalt(rounds=rounds)).decode()


def _signed_text(transaction_id: str, password: str, generation_date: str) -> bytes:
    return f"{transaction_id}-{password}-{generation_date}".encode()[:BCRYPT_MAX_BYTES]


def _load(body: bytes | str) -> Mapping[str, Any]:
    try:
        # Numbers kept as their text: a numeric id is signed as written (`1.50`, not 1.5).
        document = json.loads(body, parse_int=str, parse_float=str)
    except (ValueError, UnicodeDecodeError):
        raise ReportNotificationError("not JSON") from None
    if not isinstance(document, Mapping):
        raise ReportNotificationError("not a JSON object")
    return document


def _text(document: Mapping[str, Any], key: str) -> str:
    value = document.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ReportNotificationError(f"{key} is not a string")
    return str(value)


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _files(value: Any) -> tuple[ReportFile, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise ReportNotificationError("files is not a list of objects")
    return tuple(
        ReportFile(_text(item, "name"), _text(item, "type"), _text(item, "url")) for item in value
    )
