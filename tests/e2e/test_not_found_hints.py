"""Every 404 explained (issue 18), end to end: a real SQLite file, the processor, the sandbox over
HTTP answering 404 as Mercado Pago does. The hint rides in every 404 attempt's log entry and
in the dead letter; the retry policy is what it was (two retries, then permanent)."""

from __future__ import annotations

import json

from mpcheckout.gateway import build_gateway
from mpcheckout.hints import latest_hint
from mpcheckout.notifications import RawRequest, parse_notification
from mpcheckout.sandbox.client import SandboxControl
from mpcheckout.store.base import DeadLetterFilter
from tests.e2e.support import gateway_settings

OTHER_TOKEN = "APP_USR-other-seller-token-for-e2e"
SELLER = "724484980"  # the sandbox's own seller, named by its notifications


def until_dead(shop) -> list:
    """Process through the 404 policy (retried after 1 and 2 minutes, then permanent)."""
    for minutes in (1, 2):
        assert shop.process().retried >= 1
        shop.clock.advance(minutes=minutes)
    assert shop.process().dead_lettered >= 1
    return shop.store.list_dead_letters(DeadLetterFilter())


def notify_payment_topic(shop, resource_id: str, **body: object) -> None:
    """A Webhooks notification of topic payment naming `resource_id`, as a shop's own script
    (or a misconfigured integration) might queue it."""
    document = {"id": 118230559999, "type": "payment", "action": "payment.updated"}
    document |= {"data": {"id": resource_id}, "user_id": int(SELLER), "live_mode": False, **body}
    notification = parse_notification(RawRequest(body=json.dumps(document).encode()))
    shop.store.enqueue_many([notification], "file", shop.clock.now())


def test_a_payment_looked_up_with_another_accounts_token_dead_letters_with_that_hint(shop):
    control = SandboxControl(shop.sandbox.url)
    try:
        control.add_other_account(OTHER_TOKEN, 555)
        shop.gateway.close()
        shop.gateway = build_gateway(
            gateway_settings(shop.sandbox, access_token=OTHER_TOKEN), sleep=lambda _: None
        )
        shop.order("order-1")
        shop.order("order-2")
        shop.pay("order-1")
        shop.pay("order-2")
        shop.deliver_outbox()
        (letter, _) = until_dead(shop)
        asked = [r for r in control.requests(method="GET") if r["path"] == "/users/me"]
    finally:
        control.close()
    assert (letter.reason, letter.attempts) == ("permanent", 3)
    assert [entry["hint_code"] for entry in letter.errors] == ["other_account"] * 3
    hint = latest_hint(letter.errors)
    assert hint is not None
    assert (hint.params["notification_account"], hint.params["token_account"]) == (SELLER, "555")
    assert letter.last_error.endswith("[hint: other_account]")
    # Asked once per run for both events (three runs), never per event.
    assert len(asked) == 3


def test_a_merchant_order_id_notified_as_a_payment_gets_the_merchant_order_hint(shop):
    payment = shop.pay("order-1", notify=False)
    merchant_order_id = str(payment["order"]["id"])
    notify_payment_topic(shop, merchant_order_id)
    (letter,) = until_dead(shop)
    assert [entry["hint_code"] for entry in letter.errors] == ["merchant_order_id"] * 3
    assert latest_hint(letter.errors).params["id"] == merchant_order_id


def test_a_payment_nobody_can_explain_is_maybe_new_then_unexplained(shop):
    notify_payment_topic(shop, "1320009999999")
    (letter,) = until_dead(shop)
    codes = [entry["hint_code"] for entry in letter.errors]
    assert codes == ["maybe_new", "maybe_new", "unexplained"]


def test_a_live_payment_looked_up_with_a_test_users_token_gets_the_mode_hint(shop):
    notify_payment_topic(shop, "1320009999998", live_mode=True)
    (letter,) = until_dead(shop)
    assert latest_hint(letter.errors).code == "live_with_test_token"
