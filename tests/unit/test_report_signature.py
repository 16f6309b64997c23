"""The report-ready notification: real bcrypt signatures (4 rounds, for speed) over the raw
strings, the non-ISO date Mercado Pago sends, the panel's test payload, and every refusal typed."""

from __future__ import annotations

import json

import bcrypt
import pytest

from mpcheckout.errors import AuthenticationError, ValidationError
from mpcheckout.i18n import Translator
from mpcheckout.reports.signature import (
    ReportNotificationError,
    ReportSignatureError,
    ReportSignatureFailure,
    parse_report_notification,
    sign_report_notification,
    verify_report_signature,
)

PASSWORD = "s3cret-report-pass"
NOT_ISO = "2023-10-31T9:35:42-0400"  # as Mercado Pago sent it: one-digit hour, no colon


def signed(transaction_id: str, generation_date: str, password: str = PASSWORD) -> str:
    text = f"{transaction_id}-{password}-{generation_date}".encode()
    return bcrypt.hashpw(text, bcrypt.gensalt(rounds=4)).decode()


def body(**overrides: object) -> dict[str, object]:
    document: dict[str, object] = {
        "transaction_id": "94848473930",
        "request_date": "2023-10-31T13:35:40Z",
        "generation_date": NOT_ISO,
        "files": [
            {"type": "file/csv", "url": "https://example.invalid/r.csv", "name": "r.csv"},
            {"type": "file/xlsx", "url": "https://example.invalid/r.xlsx", "name": "r.xlsx"},
        ],
        "status": "enabled",
        "creation_type": "scheduled",
        "report_type": "settlement",
        "is_test": False,
        "signature": signed("94848473930", NOT_ISO),
    }
    document.update(overrides)
    return document


def test_a_notification_signed_over_its_raw_non_iso_date_verifies():
    notification = parse_report_notification(json.dumps(body()).encode())

    verify_report_signature(notification, [PASSWORD])

    assert notification.generation_date == NOT_ISO
    assert (notification.report_type, notification.is_test) == ("settlement", False)
    assert [f.name for f in notification.csv_files] == ["r.csv"]
    assert notification.files[1].type == "file/xlsx"


def test_the_payload_wrapper_and_a_numeric_transaction_id_read_as_sent():
    raw = '{"payload": {"transaction_id": 94848473930, "generation_date": "%s", "signature": "%s"}}'
    notification = parse_report_notification(raw % (NOT_ISO, signed("94848473930", NOT_ISO)))

    verify_report_signature(notification, [PASSWORD])

    assert notification.transaction_id == "94848473930" and notification.files == ()


def test_the_panels_test_notification_verifies_and_says_it_is_a_test():
    test_body = body(
        transaction_id="test_transaction_id",
        report_type="report_test",
        is_test=True,
        signature=signed("test_transaction_id", NOT_ISO),
    )

    notification = parse_report_notification({"payload": test_body})
    verify_report_signature(notification, [PASSWORD])

    assert notification.is_test and notification.report_type == "report_test"


def test_a_signature_past_bcrypts_72_bytes_verifies_as_mercado_pagos_java_bcrypt_makes_it():
    long_password = "p" * 60  # test_transaction_id-<60>-<date>: 105 bytes
    text = f"test_transaction_id-{long_password}-{NOT_ISO}".encode()[:72]
    signature = bcrypt.hashpw(text, bcrypt.gensalt(rounds=4)).decode()
    notification = parse_report_notification(
        body(transaction_id="test_transaction_id", signature=signature)
    )

    verify_report_signature(notification, [long_password])


def test_a_rotated_password_still_verifies_with_the_old_one_listed():
    notification = parse_report_notification(body())

    verify_report_signature(notification, ["new-password", PASSWORD])


REFUSALS = {
    "tampered transaction id": (
        body(transaction_id="94848473931"),
        ReportSignatureFailure.MISMATCH,
    ),
    "reparsed date": (
        body(generation_date="2023-10-31T09:35:42-04:00"),
        ReportSignatureFailure.MISMATCH,
    ),
    "other password": (body(signature=signed("94848473930", NOT_ISO, "guess")), "mismatch"),
    "no signature": (body(signature=None), ReportSignatureFailure.MISSING),
    "not bcrypt": (body(signature="sha256=abc"), ReportSignatureFailure.MALFORMED),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_wrong_or_missing_signature_is_a_typed_refusal(case: str):
    document, reason = REFUSALS[case]
    notification = parse_report_notification(document)

    with pytest.raises(ReportSignatureError) as raised:
        verify_report_signature(notification, [PASSWORD])

    assert raised.value.reason == reason
    assert isinstance(raised.value, AuthenticationError) and raised.value.http_status == 401
    assert reason in Translator("en")(raised.value.message_key, **raised.value.params)


def test_no_configured_password_refuses_rather_than_accepting():
    with pytest.raises(ReportSignatureError) as raised:
        verify_report_signature(parse_report_notification(body()), [])

    assert raised.value.reason is ReportSignatureFailure.MISSING


def test_sign_report_notification_makes_what_verify_accepts():
    signature = sign_report_notification("77", PASSWORD, NOT_ISO, rounds=4)

    verify_report_signature(
        parse_report_notification(body(transaction_id="77", signature=signature)), [PASSWORD]
    )

    assert signature.startswith("$2b$04$")


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[1, 2]", b'{"generation_date": "x"}', b'{"transaction_id": {"a": 1}}'],
    ids=["not json", "a list", "no transaction id", "an object as id"],
)
def test_a_malformed_notification_is_a_validation_error(raw: bytes):
    with pytest.raises(ReportNotificationError) as raised:
        parse_report_notification(raw)

    assert isinstance(raised.value, ValidationError) and raised.value.exit_code == 65
    assert raised.value.params["detail"]
