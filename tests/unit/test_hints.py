"""hints.hint_for_404: the likely cause of a 404 from the facts at hand, strongest evidence
first, as a table."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mpcheckout.hints import (
    HintCode,
    NotFoundFacts,
    hint_for_404,
    latest_hint,
    log_entry,
    worth_a_merchant_order_lookup,
)
from mpcheckout.i18n import SUPPORTED_LOCALES, Translator

# A payment notification of account 111, test mode, looked up with a token of account 111
# that is a test user: nothing is off, so only the retry can tell.
PLAIN = NotFoundFacts(
    topic="payment",
    resource_id="1320000000001",
    will_retry=True,
    notification_id="118230554401",
    notification_user_id="111",
    notification_live_mode=False,
    token_account_id="111",
    token_test_user=True,
)
ORDER_ID = "ORD01JQ4S4KY8HWQ6NA5PXB65B3D3"

TABLE = [
    ("nothing is off: the retry may find it", {}, HintCode.MAYBE_NEW),
    ("nothing is off, no retry left", {"will_retry": False}, HintCode.UNEXPLAINED),
    ("another account's notification", {"notification_user_id": "222"}, HintCode.OTHER_ACCOUNT),
    (
        "the account beats every other clue",
        {"notification_user_id": "222", "resource_id": ORDER_ID, "found_as_merchant_order": True},
        HintCode.OTHER_ACCOUNT,
    ),
    (
        "a test payment, a production token",
        {"token_test_user": False},
        HintCode.TEST_WITH_LIVE_TOKEN,
    ),
    (
        "a live payment, a test user's token",
        {"notification_live_mode": True},
        HintCode.LIVE_WITH_TEST_TOKEN,
    ),
    (
        "a live payment, a live token: nothing off",
        {"notification_live_mode": True, "token_test_user": False},
        HintCode.MAYBE_NEW,
    ),
    ("an Orders-API id notified as a payment", {"resource_id": ORDER_ID}, HintCode.ORDERS_API_ID),
    (
        "an Orders-API id is right for topic order",
        {"resource_id": ORDER_ID, "topic": "order"},
        HintCode.MAYBE_NEW,
    ),
    ("the notification's own id", {"resource_id": "118230554401"}, HintCode.NOTIFICATION_ID),
    ("found as a merchant order", {"found_as_merchant_order": True}, HintCode.MERCHANT_ORDER_ID),
    ("not a merchant order either", {"found_as_merchant_order": False}, HintCode.MAYBE_NEW),
    # Unknown facts never point anywhere.
    (
        "the token's account unknown",
        {"notification_user_id": "222", "token_account_id": None, "token_test_user": None},
        HintCode.MAYBE_NEW,
    ),
    (
        "the notification named no account nor mode (an IPN)",
        {"notification_user_id": None, "notification_live_mode": None, "notification_id": None},
        HintCode.MAYBE_NEW,
    ),
]


@pytest.mark.parametrize(
    ("changes", "expected"), [row[1:] for row in TABLE], ids=[row[0] for row in TABLE]
)
def test_the_likely_cause_of_a_404(changes, expected):
    assert hint_for_404(replace(PLAIN, **changes)) == expected


def test_one_merchant_order_lookup_only_for_an_unexplained_numeric_payment_id():
    assert worth_a_merchant_order_lookup(PLAIN, hint_for_404(PLAIN))
    other = replace(PLAIN, notification_user_id="222")
    assert not worth_a_merchant_order_lookup(other, hint_for_404(other))
    tried = replace(PLAIN, found_as_merchant_order=False)
    assert not worth_a_merchant_order_lookup(tried, hint_for_404(tried))
    chargeback = replace(PLAIN, topic="topic_chargebacks_wh")
    assert not worth_a_merchant_order_lookup(chargeback, hint_for_404(chargeback))
    shaped = replace(PLAIN, resource_id="abc-1")
    assert not worth_a_merchant_order_lookup(shaped, hint_for_404(shaped))


def test_the_newest_stored_hint_is_read_back_and_says_the_accounts_in_every_language():
    facts = replace(PLAIN, notification_user_id="222", will_retry=False)
    attempts = [
        {"attempt": 1, "error": "HTTP 404", **log_entry(HintCode.MAYBE_NEW, PLAIN)},
        {"attempt": 2, "error": "lease expired"},
        {"attempt": 3, "error": "HTTP 404", **log_entry(HintCode.OTHER_ACCOUNT, facts)},
        {"attempt": 4, "error": "HTTP 500"},
    ]
    hint = latest_hint(attempts)
    assert hint is not None and hint.code is HintCode.OTHER_ACCOUNT
    for locale in SUPPORTED_LOCALES:
        text = Translator(locale)(hint.message_key, **hint.params)
        assert "222" in text and "111" in text and "{" not in text, locale
    assert latest_hint([{"attempt": 1, "hint_code": "no_such_code"}]) is None
    assert latest_hint([]) is None


def test_every_hint_code_has_a_message():
    english = Translator("en")
    for code in HintCode:
        key = f"hint.not_found.{code.value}"
        assert english(key, **log_entry(code, PLAIN)["hint_params"]) != key
