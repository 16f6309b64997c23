"""Why did Mercado Pago answer 404? The likely cause, from facts at hand. Pure.

A 404 after a notification is rarely Mercado Pago being slow (research dashboards.md §0, the
fourth commonest complaint): it is the wrong account's token, a test payment looked up with a
live token (or the reverse), a merchant-order id or an Orders-API id taken for a payment id, or
the notification's own id taken for the resource's. `hint_for_404` names the first cause the
facts support, strongest evidence first; only when none fits is the resource "maybe new" (the
retry may find it) or, after the last retry, unexplained. Neither the token's prefix nor
`live_mode` alone proves a mode (test users hold `APP_USR-` tokens; a sandbox payment was seen
with `live_mode: true`), so the mode rule compares the notification with the token's account.

The processor gathers the facts (not_found_hints.py) and keeps the hint in the attempt's log entry
(`hint_code`, `hint_params`); `events show` and `dead-letters show` translate it
(catalog keys `hint.not_found.<code>`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import Any

from .records import record

PAYMENT_TOPICS = frozenset({"payment", "payments"})
ORDER_TOPICS = frozenset({"order"})
# Orders-API ids: `ORD` + a 26-character ULID (ORD01JQ4S4KY8HWQ6NA5PXB65B3D3).
ORDERS_API_ID = re.compile(r"^ORD[0-9A-Za-z]{20,40}$")
# The attempt log entry's keys.
HINT_CODE, HINT_PARAMS = "hint_code", "hint_params"


class HintCode(StrEnum):
    OTHER_ACCOUNT = "other_account"
    TEST_WITH_LIVE_TOKEN = "test_with_live_token"
    LIVE_WITH_TEST_TOKEN = "live_with_test_token"
    ORDERS_API_ID = "orders_api_id"
    NOTIFICATION_ID = "notification_id"
    MERCHANT_ORDER_ID = "merchant_order_id"
    MAYBE_NEW = "maybe_new"
    UNEXPLAINED = "unexplained"


@record(frozen=True, slots=True)
class NotFoundFacts:
    """What is known when a lookup answered 404. None: not known (a fact that could not be
    read never points anywhere)."""

    topic: str
    resource_id: str | None
    will_retry: bool
    notification_id: str | None = None
    notification_user_id: str | None = None
    notification_live_mode: bool | None = None
    token_account_id: str | None = None
    token_test_user: bool | None = None
    found_as_merchant_order: bool | None = None  # None: not tried


def hint_for_404(facts: NotFoundFacts) -> HintCode:
    """The likely cause of a 404, strongest evidence first."""
    for rule in _RULES:
        code = rule(facts)
        if code is not None:
            return code
    return HintCode.MAYBE_NEW if facts.will_retry else HintCode.UNEXPLAINED


def _other_account(facts: NotFoundFacts) -> HintCode | None:
    mine, theirs = facts.token_account_id, facts.notification_user_id
    differ = mine is not None and theirs is not None and mine != theirs
    return HintCode.OTHER_ACCOUNT if differ else None


def _other_mode(facts: NotFoundFacts) -> HintCode | None:
    live, test_user = facts.notification_live_mode, facts.token_test_user
    if live is False and test_user is False:
        return HintCode.TEST_WITH_LIVE_TOKEN
    if live is True and test_user is True:
        return HintCode.LIVE_WITH_TEST_TOKEN
    return None


def _orders_api_id(facts: NotFoundFacts) -> HintCode | None:
    shaped = facts.resource_id is not None and ORDERS_API_ID.match(facts.resource_id)
    return HintCode.ORDERS_API_ID if shaped and facts.topic not in ORDER_TOPICS else None


def _notification_id(facts: NotFoundFacts) -> HintCode | None:
    same = facts.notification_id is not None and facts.notification_id == facts.resource_id
    return HintCode.NOTIFICATION_ID if same else None


def _merchant_order_id(facts: NotFoundFacts) -> HintCode | None:
    return HintCode.MERCHANT_ORDER_ID if facts.found_as_merchant_order else None


_KNOWN = frozenset(code.value for code in HintCode)
_RULES = (_other_account, _other_mode, _orders_api_id, _notification_id, _merchant_order_id)


def worth_a_merchant_order_lookup(facts: NotFoundFacts, code: HintCode) -> bool:
    """Whether one GET of the id as a merchant order could change the verdict: a payment id
    that nothing cheaper explained, numeric as merchant-order ids are."""
    return (
        code in (HintCode.MAYBE_NEW, HintCode.UNEXPLAINED)
        and facts.topic in PAYMENT_TOPICS
        and facts.found_as_merchant_order is None
        and bool(facts.resource_id and facts.resource_id.isdigit())
    )


def hint_params(code: HintCode, facts: NotFoundFacts) -> dict[str, str]:
    """The catalog message's parameters (ids and modes only: never a credential)."""
    mode = {True: "live", False: "test", None: "?"}
    return {
        "id": facts.resource_id or "?",
        "topic": facts.topic,
        "notification_account": facts.notification_user_id or "?",
        "token_account": facts.token_account_id or "?",
        "live_mode": mode[facts.notification_live_mode],
    }


def log_entry(code: HintCode, facts: NotFoundFacts) -> dict[str, Any]:
    """What the attempt's log entry keeps of a hint."""
    return {HINT_CODE: code.value, HINT_PARAMS: hint_params(code, facts)}


@record(frozen=True, slots=True)
class StoredHint:
    code: HintCode
    params: Mapping[str, str]

    @property
    def message_key(self) -> str:
        return f"hint.not_found.{self.code.value}"


def latest_hint(attempts: Sequence[Mapping[str, Any]]) -> StoredHint | None:
    """The hint of the newest attempt that has one (an attempt log read back), or None."""
    for entry in reversed(attempts):
        code = entry.get(HINT_CODE) if isinstance(entry, Mapping) else None
        if isinstance(code, str) and code in _KNOWN:
            params = entry.get(HINT_PARAMS)
            shown = {str(k): str(v) for k, v in params.items()} if isinstance(params, dict) else {}
            return StoredHint(HintCode(code), shown)
    return None


def hint_text(attempts: Sequence[Mapping[str, Any]], t: Callable[..., str]) -> str | None:
    """The newest hint of an attempt log in the reader's language (`t`: a Translator)."""
    hint = latest_hint(attempts)
    return None if hint is None else t(hint.message_key, **hint.params)


def hint_code(attempts: Sequence[Mapping[str, Any]]) -> str | None:
    """The newest hint's code, for `--json` (None: no attempt was explained)."""
    hint = latest_hint(attempts)
    return None if hint is None else hint.code.value
