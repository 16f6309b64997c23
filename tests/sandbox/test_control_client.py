"""SandboxControl, the helper later end-to-end tests drive the sandbox with: each of its calls
against the running sandbox, read back through Mercado Pago's own endpoints."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from mpcheckout.notifications import parse_notification
from tests.sandbox_support import api_client, sandbox, sandbox_control  # noqa: F401


@pytest.fixture
def api(sandbox):  # noqa: F811
    with api_client(sandbox) as client:
        yield client


def test_payments_refunds_and_the_outbox(sandbox_control, api):  # noqa: F811
    sandbox_control.freeze_clock("2026-06-01T12:00:00Z")
    pending = sandbox_control.create_payment(
        external_reference="o-1", status="pending", transaction_amount="100.50", notify=False
    )
    sandbox_control.advance_clock(60)
    approved = sandbox_control.approve(pending["id"], notify=False)
    assert approved["date_approved"] == "2026-06-01T08:01:00.000-04:00"
    refund = sandbox_control.refund(pending["id"], Decimal("0.50"))
    assert refund["amount"] == 0.5
    sandbox_control.refund(pending["id"], notify=False)  # the rest, silently
    assert api.get(f"/v1/payments/{pending['id']}").json()["status"] == "refunded"
    [notification] = sandbox_control.take_outbox()
    assert parse_notification(notification).resource_id == str(pending["id"])
    assert sandbox_control.take_outbox() == []


def test_authorizations_chargebacks_and_merchant_orders(sandbox_control, api):  # noqa: F811
    held = sandbox_control.create_authorization(external_reference="o-2", notify=False)
    assert (held["status"], held["captured"]) == ("authorized", False)
    paid = sandbox_control.create_payment(external_reference="o-3", notify=False)
    opened = sandbox_control.open_chargeback(paid["id"], amount=Decimal("40.25"), notify=False)
    assert opened["amount"] == 40.25 and len(opened["id"]) == 18
    decided = sandbox_control.resolve_chargeback(opened["id"], "reimbursed", notify=False)
    assert decided["coverage_applied"] is True
    assert [c["id"] for c in sandbox_control.chargebacks()] == [opened["id"]]
    [again] = sandbox_control.notify_chargeback(opened["id"])
    assert json.loads(again["body"])["data"]["id"] == int(opened["id"])
    [by_payment] = sandbox_control.notify_merchant_order(payment_id=paid["id"], action="create")
    [by_order] = sandbox_control.notify_merchant_order(order_id=paid["order"]["id"])
    assert by_payment["query"] == by_order["query"]
    assert json.loads(by_order["body"])["id"] == str(paid["order"]["id"])


def test_faults_and_the_request_log(sandbox_control, api):  # noqa: F811
    paid = sandbox_control.create_payment(external_reference="o-4", notify=False)
    sandbox_control.set_api_notify(False)
    sandbox_control.drop_after_write()
    headers = {"x-idempotency-key": "k"}
    with pytest.raises(httpx.RemoteProtocolError):
        api.post(f"/v1/payments/{paid['id']}/refunds", json={"amount": 5}, headers=headers)
    api.get(f"/v1/payments/{paid['id']}")
    assert [r["endpoint"] for r in sandbox_control.write_requests()] == ["refunds.create"]
    assert len(sandbox_control.requests(endpoint="payments.get")) == 1
    assert sandbox_control.take_outbox() == []
    sandbox_control.clear_requests()
    assert sandbox_control.requests() == []
    sandbox_control.add_fault(endpoint="payments.get", times=1)
    assert api.get(f"/v1/payments/{paid['id']}").status_code >= 500
    sandbox_control.reset()
    assert api.get(f"/v1/payments/{paid['id']}").status_code == 404
