"""The Orders API end to end: a real SQLite file, the sandbox over HTTP, the services a shop runs.
Notifications of `type: order` mark orders paid once, refunds end `refunded` whichever way the
order spells it, reconcile finds what was never notified, and a QR order notified through both
APIs is one payment."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from mpcheckout.actions import ActionRequest, execute_action, prepare_action
from mpcheckout.errors import ActionRefusedError
from mpcheckout.ingest import receive_request
from mpcheckout.notifications import RawRequest
from mpcheckout.reconcile import ORDERS_CHECKPOINT_KEY, ReconcileRequest, run_reconcile
from mpcheckout.sandbox.client import SandboxControl
from tests.e2e.test_reconcile import advance, settings


@pytest.fixture
def synced(shop):
    """Sandbox time follows the test's clock, so search windows mean the same to both."""
    shop.clock.set(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    shop.control("POST", "/clock", {"now": shop.clock.now().isoformat()})
    return shop


@pytest.fixture
def control(shop):
    opened = SandboxControl(shop.sandbox.url, timeout=5.0)
    yield opened
    opened.close()


def mp_order(shop, reference: str, amount: str = "100.50", kind: str = "online"):
    body = {"type": kind, "total_amount": amount, "external_reference": reference}
    return shop.gateway.create_order({**body, "currency": "ARS"}, f"create-{reference}")


def pay(shop, order_id: str, **fields):
    return shop.control("POST", f"/orders/{order_id}/pay", {"status": "processed", **fields})


def refund(shop, order_id: str, amount: str | None = None):
    request = ActionRequest("refund", order_id, Decimal(amount) if amount else None)
    prepared = prepare_action(shop.store, shop.gateway, request, shop.clock.now())
    return execute_action(shop.store, shop.gateway, prepared, shop.clock.now())


def reconcile(shop):
    return run_reconcile(
        shop.store, shop.gateway, shop.clock, settings(), "test:rec", ReconcileRequest()
    )[0]


def test_an_order_notification_marks_the_order_paid_and_redeliveries_change_nothing(shop):
    shop.order("shop-1")
    order = mp_order(shop, "shop-1")
    pay(shop, order.id, notify={"duplicates": 1})
    first = shop.control("GET", "/outbox")[0]
    assert json.loads(first["body"])["type"] == "order"
    assert shop.deliver_outbox() == [True, False]  # Mercado Pago's redelivery: same id
    summary = shop.process()
    assert summary.payments == {"applied": 1}
    stored = shop.store.get_order("shop-1")
    assert (stored.status, stored.mp_order_id, stored.payment_id) == (
        "paid",
        order.id,
        order.transactions[0].id if order.transactions else stored.payment_id,
    )
    refund(shop, order.id, "25.50")
    shop.deliver_outbox()
    assert shop.process().payments == {"duplicate": 1}  # the refund's own write applied it
    # The first snapshot again, under a new notification id: fetched fresh, it changes nothing.
    stale = json.loads(first["body"]) | {"id": "999000111"}
    receive_request(shop.store, RawRequest(body=json.dumps(stale).encode()), shop.clock, None)
    assert shop.process().payments == {"duplicate": 1}
    assert shop.status_of("shop-1") == "partially_refunded"
    assert shop.count("SELECT count(*) FROM payment_logs") == 2


@pytest.mark.parametrize("kind", ["online", "qr"])
def test_a_partial_then_a_full_refund_end_refunded_whichever_way_the_order_says(shop, kind):
    shop.order("shop-2")
    order = mp_order(shop, "shop-2", kind=kind)
    pay(shop, order.id)
    shop.deliver_outbox()
    shop.process()
    with pytest.raises(ActionRefusedError):
        refund(shop, order.id, "200.00")  # more than was paid: nothing sent
    refund(shop, order.id, "25.50")
    done = refund(shop, order.id)
    fetched = shop.gateway.get_order(order.id)
    expected = ("processed", "refunded") if kind == "online" else ("refunded", "refunded")
    assert (fetched.status, fetched.status_detail) == expected
    assert done.plan.body is None and done.plan.effective_amount == Decimal("75.00")
    shop.deliver_outbox()
    shop.process()
    assert shop.status_of("shop-2") == "refunded"
    refunds = shop.store.refunds_for_orders(["shop-2"])
    assert sorted(r.amount for r in refunds) == [Decimal("25.50"), Decimal("75.00")]


def test_a_partial_refund_sends_the_transaction_and_a_string_amount(shop, control):
    order = mp_order(shop, "shop-3")
    pay(shop, order.id, notify=False)
    result = refund(shop, order.id, "10")
    (sent,) = control.requests(endpoint="orders.refund")
    body = json.loads(sent["body"])
    assert body == {"transactions": [{"id": body["transactions"][0]["id"], "amount": "10.00"}]}
    assert sent["headers"]["x-idempotency-key"] == result.plan.key
    assert shop.status_of("shop-3") == "partially_refunded"


def test_a_refund_whose_answer_was_lost_is_resent_with_the_same_key(shop, control):
    order = mp_order(shop, "shop-4")
    pay(shop, order.id, notify=False)
    control.drop_after_write("orders.refund")
    with pytest.raises(Exception) as lost:
        refund(shop, order.id, "30.00")
    assert type(lost.value).__name__ == "AnswerLostError"
    again = refund(shop, order.id, "30.00")
    assert again.resent
    keys = [r["headers"]["x-idempotency-key"] for r in control.requests(endpoint="orders.refund")]
    assert keys == [again.plan.key, again.plan.key]
    assert len(shop.gateway.get_order(order.id).refunds) == 1  # one refund made, not two
    assert shop.status_of("shop-4") == "partially_refunded"


def test_cancel_only_an_unpaid_order(shop):
    unpaid = mp_order(shop, "shop-5")
    request = ActionRequest("cancel", unpaid.id)
    prepared = prepare_action(shop.store, shop.gateway, request, shop.clock.now())
    execute_action(shop.store, shop.gateway, prepared, shop.clock.now())
    assert shop.gateway.get_order(unpaid.id).status == "canceled"
    assert shop.status_of("shop-5") == "cancelled"
    paid = mp_order(shop, "shop-6")
    pay(shop, paid.id, notify=False)
    with pytest.raises(ActionRefusedError):
        prepare_action(shop.store, shop.gateway, ActionRequest("cancel", paid.id), shop.clock.now())


def test_a_qr_order_notified_through_both_apis_is_applied_once(shop):
    shop.order("qr-1")
    order = mp_order(shop, "qr-1", kind="qr")
    pay(shop, order.id, payment_notify={})
    topics = sorted(json.loads(r["body"])["type"] for r in shop.control("GET", "/outbox"))
    assert topics == ["order", "payment"]
    shop.deliver_outbox()
    summary = shop.process()
    assert summary.payments == {"applied": 1, "duplicate": 1}
    refund(shop, order.id, "10.00")
    payment_id = shop.gateway.get_order(order.id).transactions[0].reference_id
    shop.control("POST", f"/payments/{payment_id}/notify", {})
    shop.deliver_outbox()
    assert shop.process().payments == {"duplicate": 2}  # order.refunded and payment.updated
    assert shop.status_of("qr-1") == "partially_refunded"
    assert shop.count("SELECT count(*) FROM payment_logs") == 2
    (only,) = shop.store.refunds_for_orders(["qr-1"])
    assert only.amount == Decimal("10.00") and only.id.isdigit()  # the Payments-API refund


def test_an_orders_payment_never_notified_is_found_by_reconcile_once(synced):
    shop = synced
    shop.order("quiet-1")
    pay(shop, mp_order(shop, "quiet-1").id, notify=False)
    pay(shop, mp_order(shop, "walk-in-1", amount="7.00").id, notify=False)
    advance(shop, minutes=5)
    first = reconcile(shop)
    assert first.status == "ok" and first.orders_outcomes == {"applied": 1, "created": 1}
    assert shop.status_of("quiet-1") == "paid"
    assert shop.store.get_order("walk-in-1").source == "mercadopago"
    assert shop.store.get_meta(ORDERS_CHECKPOINT_KEY) is not None
    advance(shop, hours=1)
    again = reconcile(shop)
    assert again.status == "ok" and again.run.drift_fixed == 0
    assert shop.count("SELECT count(*) FROM payment_logs") == 2


def test_more_orders_than_one_search_page_are_all_found(synced):
    shop = synced
    for n in range(130):  # one instant for all: paging cannot move by date, only by offset
        pay(shop, mp_order(shop, f"bulk-{n}", amount="1.00").id, notify=False)
    advance(shop, minutes=5)
    result = reconcile(shop)
    assert result.orders_outcomes == {"created": 130}
    assert shop.count("SELECT count(*) FROM orders WHERE status = 'paid'") == 130


def test_an_order_created_before_the_window_and_paid_later_is_looked_at_again(synced):
    shop = synced
    shop.order("late-1")
    order = mp_order(shop, "late-1")
    shop.deliver_outbox()
    pay(shop, order.id, status="action_required", notify={})
    shop.deliver_outbox()
    shop.process()
    assert shop.status_of("late-1") == "pending"
    assert shop.store.get_order("late-1").mp_order_id == order.id
    advance(shop, hours=1)
    reconcile(shop)  # the checkpoint moves past the order's creation
    advance(shop, days=2)
    shop.control("POST", f"/orders/{order.id}/pay", {"status": "processed", "notify": False})
    advance(shop, minutes=5)
    found = reconcile(shop)
    assert found.orders_window[0] > order.created_date
    assert found.orders_outcomes == {"applied": 1}
    assert shop.status_of("late-1") == "paid"
