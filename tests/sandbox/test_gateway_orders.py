"""The gateway's Orders calls against the sandbox over HTTP: the official SDK's `sdk.order()`
makes every call, the idempotency key goes out once as lower-case `x-idempotency-key`, string
amounts come back as exact Decimals, and the search finds every order of a window however the
pages fall."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from mpcheckout.errors import (
    MercadoPagoNotFoundError,
    MercadoPagoRejectedError,
    MercadoPagoUnavailableError,
)
from mpcheckout.gateway import build_gateway, orders_error_code
from mpcheckout.models import MpOrder
from tests.e2e.support import gateway_settings
from tests.sandbox_support import sandbox, sandbox_control  # noqa: F401 (fixtures)

START = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.fixture
def gateway(sandbox):  # noqa: F811
    built = build_gateway(gateway_settings(sandbox), sleep=lambda seconds: None)
    yield built
    built.close()


def order_body(reference="ord-1", amount="100.00", **fields):
    return {"type": "online", "total_amount": amount, "external_reference": reference, **fields}


def test_create_get_refund_and_read_back_exact_amounts(gateway, sandbox_control):  # noqa: F811
    created = gateway.create_order(order_body(amount="100.10"), "create-key")
    assert isinstance(created, MpOrder) and created.id.startswith("ORD")
    assert (created.status, created.status_detail, created.version) == ("created", "created", 1)
    assert created.total_amount == Decimal("100.10") and created.type == "online"
    sandbox_control.pay_order(created.id, notify=False)
    paid = gateway.get_order(created.id)
    assert (paid.status, paid.status_detail, paid.total_paid_amount) == (
        "processed",
        "accredited",
        Decimal("100.10"),
    )
    [transaction] = paid.transactions
    assert transaction.id.startswith("PAY01") and transaction.amount == Decimal("100.10")
    body = {"transactions": [{"id": transaction.id, "amount": "0.10"}]}
    [made] = gateway.refund_order(created.id, body, "refund-1")
    assert (made.transaction_id, made.amount) == (transaction.id, Decimal("0.10"))
    assert made.status == "processed"
    gateway.refund_order(created.id, None, "refund-2")
    final = gateway.get_order(created.id)
    assert (final.status, final.status_detail, final.version) == ("processed", "refunded", 4)
    assert [r.amount for r in final.refunds] == [Decimal("0.10"), Decimal("100.00")]
    assert final.refunded_amount == final.total_amount
    assert final.last_updated_date >= paid.last_updated_date


def test_every_call_goes_through_the_sdk_with_its_key_sent_once(gateway, sandbox_control):  # noqa: F811
    order = gateway.create_order(order_body(), "the-key")
    gateway.get_order(order.id)
    gateway.cancel_order(order.id, "cancel-key")
    list(gateway.search_orders(START - timedelta(days=3650), datetime.now(UTC)))
    log = sandbox_control.requests()
    assert [r["endpoint"] for r in log] == [
        "orders.create",
        "orders.get",
        "orders.cancel",
        "orders.search",
    ]
    # The SDK's own headers are on every request: it made them, not a bare httpx call.
    assert all(r["headers"]["user-agent"].startswith("MercadoPago Python SDK") for r in log)
    assert all("x-product-id" in r["headers"] for r in log)
    writes = [r["headers"]["x-idempotency-key"] for r in log if r["method"] == "POST"]
    assert writes == ["the-key", "cancel-key"]  # once each, never the SDK's random one too


def test_a_full_refund_sends_no_body(gateway, sandbox_control):  # noqa: F811
    order = gateway.create_order(order_body(), "k")
    sandbox_control.pay_order(order.id, notify=False)
    gateway.refund_order(order.id, None, "full")
    [request] = sandbox_control.requests(endpoint="orders.refund")
    assert request["body"] == ""


def test_the_orders_error_codes_reach_the_caller(gateway, sandbox_control):  # noqa: F811
    order = gateway.create_order(order_body(), "k")
    with pytest.raises(MercadoPagoRejectedError) as reused:
        gateway.create_order(order_body(amount="5.00"), "k")
    assert reused.value.status == 409 and not reused.value.transient
    assert orders_error_code(reused.value) == "idempotency_key_already_used"
    sandbox_control.pay_order(order.id, notify=False)
    with pytest.raises(MercadoPagoRejectedError) as refused:
        gateway.cancel_order(order.id, "cancel")
    assert orders_error_code(refused.value) == "cannot_cancel_order"
    with pytest.raises(MercadoPagoNotFoundError) as missing:
        gateway.get_order("ORD" + "0" * 26)
    assert orders_error_code(missing.value) == "order_not_found"
    with pytest.raises(MercadoPagoRejectedError):
        gateway.get_order("../users/me")  # never reaches the API


def test_a_lost_create_is_retried_with_its_key_into_one_order(gateway, sandbox_control):  # noqa: F811
    sandbox_control.drop_after_write("orders.create")
    with pytest.raises(MercadoPagoUnavailableError) as lost:
        gateway.create_order(order_body(), "stored-key")
    assert lost.value.transient
    retried = gateway.create_order(order_body(), "stored-key")
    assert [order["id"] for order in sandbox_control.orders()] == [retried.id]


def test_a_qr_order_names_its_payments_api_payment(gateway, sandbox_control):  # noqa: F811
    order = gateway.create_order(order_body(type="qr", amount="80.00"), "qr")
    sandbox_control.pay_order(order.id, notify=False)
    [transaction] = gateway.get_order(order.id).transactions
    payment = gateway.get_payment(transaction.reference_id)
    assert (payment.status, payment.amount, payment.external_reference) == (
        "approved",
        Decimal(80),
        "ord-1",
    )
    gateway.refund_order(order.id, None, "qr-refund")
    refunded = gateway.get_order(order.id)
    assert (refunded.status, refunded.type) == ("refunded", "qr")
    assert refunded.refunds[0].reference_id is not None


def test_the_search_finds_every_order_of_more_than_one_page_once(gateway, sandbox_control):  # noqa: F811
    sandbox_control.freeze_clock(START.isoformat())
    made = []
    for index in range(130):
        made.append(gateway.create_order(order_body(f"ord-{index}"), f"k{index}").id)
        sandbox_control.advance_clock(0.5 if index % 3 else 0)  # some share a timestamp
    found = list(gateway.search_orders(START, START + timedelta(hours=1)))
    assert [order.id for order in found] == made
    pages = sandbox_control.requests(endpoint="orders.search")
    assert len(pages) == 2 and "limit=100" in pages[0]["query"]


def test_the_search_pages_past_a_full_page_sharing_one_timestamp(gateway, sandbox_control):  # noqa: F811
    sandbox_control.freeze_clock(START.isoformat())
    made = {gateway.create_order(order_body(f"same-{i}"), f"s{i}").id for i in range(120)}
    found = [order.id for order in gateway.search_orders(START, START + timedelta(seconds=1))]
    assert len(found) == 120 and set(found) == made
    offsets = [r["query"] for r in sandbox_control.requests(endpoint="orders.search")]
    assert any("offset=100" in query for query in offsets)
