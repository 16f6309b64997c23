"""Issue 14's promises end to end: a real SQLite file, the sandbox over HTTP, the CLI as a user
types it. Refunds partial and full, each notified twice; a refund whose answer is lost, run
again; refusals that never reach Mercado Pago; a chargeback opened and covered; a merchant-order
Webhooks body without data.id; a refund made outside the CLI found by reconcile."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from mpcheckout.ingest import SignaturePolicy, receive_request
from tests.e2e.support import Shop
from tests.sandbox_support import SANDBOX_SECRET, SANDBOX_TOKEN

ALERTS = "alerts.jsonl"


@pytest.fixture
def shop(sandbox, workdir, clock, monkeypatch):
    """The CLI's own database (./mpcheckout.db), seen through the services as well."""
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN", SANDBOX_TOKEN)
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__API_BASE", sandbox.url)
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__MAX_RETRIES", "0")
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__READ_TIMEOUT", "2")
    monkeypatch.setenv("MPCHECKOUT_ALERTS__COMMAND", f"cat >> {workdir / ALERTS}")
    opened = Shop(sandbox, workdir / "mpcheckout.db", clock)
    yield opened
    opened.close()


def deliver_each_twice(shop: Shop, sandbox_control) -> int:
    """Every notification in the sandbox's outbox, received twice (Mercado Pago redelivers)."""
    policy = SignaturePolicy(secrets=(SANDBOX_SECRET,), now=lambda: datetime.now(UTC).timestamp())
    requests = sandbox_control.take_outbox()
    for request in requests * 2:
        receive_request(shop.store, request, shop.clock, policy)
    return len(requests)


def approved_payment(shop: Shop, order_id: str, amount: str = "100.50") -> int:
    shop.order(order_id, amount=amount)
    payment = shop.pay(order_id, transaction_amount=amount)
    shop.control("DELETE", "/outbox")
    shop.store.apply_payments([shop.gateway.get_payment(str(payment["id"]))], *_rules())
    return int(payment["id"])


def _rules():
    from mpcheckout.processor import RULES

    return RULES, "webhook", datetime.now(UTC)


def order_json(cli, order_id: str) -> dict:
    result, document = cli.json("orders", "show", order_id)
    assert result.exit_code == 0, result.output
    return document


def test_two_partial_refunds_then_the_rest_each_notified_twice(shop, sandbox_control, cli):
    payment_id = approved_payment(shop, "order-r")
    expected = [("10.25", "partially_refunded"), ("20.00", "partially_refunded")]
    expected.append((None, "refunded"))
    refunded = Decimal(0)
    for amount, state in expected:
        refund = sandbox_control.refund(payment_id, amount)
        refunded += Decimal(str(refund["amount"]))
        assert deliver_each_twice(shop, sandbox_control) >= 1
        shop.process()
        document = order_json(cli, "order-r")
        assert document["order"]["status"] == state
        assert Decimal(document["money"]["refunded"]) == refunded
        assert Decimal(document["money"]["remaining"]) == Decimal("100.50") - refunded
    refunds = order_json(cli, "order-r")["refunds"]
    assert len(refunds) == 3 and len({r["id"] for r in refunds}) == 3
    assert sum(Decimal(r["amount"]) for r in refunds) == Decimal("100.50")


def test_a_refund_whose_answer_is_lost_is_resent_with_the_same_key(shop, sandbox_control, cli):
    payment_id = approved_payment(shop, "order-lost")
    sandbox_control.clear_requests()
    sandbox_control.drop_after_write("refunds.create")
    first = cli("payments", "refund", str(payment_id), "--amount", "30", "--yes")
    assert first.exit_code == 75, first.output
    again = cli("payments", "refund", str(payment_id), "--amount", "30", "--yes", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["resent"] is True
    posts = sandbox_control.requests(endpoint="refunds.create")
    keys = [post["headers"]["x-idempotency-key"] for post in posts]
    assert len(keys) == 2 and keys[0] == keys[1] and "," not in keys[0]
    refunds = shop.gateway.get_payment(str(payment_id)).refunds
    assert [r.amount for r in refunds] == [Decimal("30")]
    document = order_json(cli, "order-lost")
    assert document["order"]["status"] == "partially_refunded"
    assert [Decimal(r["amount"]) for r in document["refunds"]] == [Decimal("30")]


@pytest.mark.parametrize(
    ("status", "amount", "message"),
    [
        ("approved", "100.51", "only 100.50 is left"),
        ("rejected", "10", "Only an approved payment can be refunded"),
    ],
)
def test_a_refund_mercado_pago_would_refuse_sends_nothing(
    shop, sandbox_control, cli, status, amount, message
):
    shop.order("order-no")
    payment = shop.pay("order-no", status=status)
    sandbox_control.clear_requests()
    result = cli("payments", "refund", str(payment["id"]), "--amount", amount, "--yes")
    assert result.exit_code == 65
    assert message in result.output
    assert sandbox_control.write_requests() == []


def test_refusals_speak_the_users_language(shop, sandbox_control, cli):
    shop.order("order-lang")
    payment = shop.pay("order-lang", status="rejected")
    spanish = cli("--lang", "es", "payments", "refund", str(payment["id"]), "--yes")
    portuguese = cli("--lang", "pt", "payments", "refund", str(payment["id"]), "--yes")
    assert "Solo se puede reembolsar un pago aprobado" in spanish.output
    assert "Só um pagamento aprovado pode ser reembolsado" in portuguese.output


def test_cancel_and_capture_move_the_payment_and_the_order(shop, sandbox_control, cli):
    shop.order("order-hold")
    held = sandbox_control.create_authorization(
        external_reference="order-hold", transaction_amount="100.50", currency_id="ARS"
    )
    refused = cli("payments", "capture", str(held["id"]), "--amount", "100.51", "--yes")
    assert refused.exit_code == 65
    result, captured = cli.json("payments", "capture", str(held["id"]), "--yes")
    assert result.exit_code == 0, result.output
    assert captured["payment"]["status"] == "approved"
    assert order_json(cli, "order-hold")["order"]["status"] == "paid"
    result = cli("payments", "cancel", str(held["id"]), "--yes")
    assert result.exit_code == 65 and "payments refund" in result.output


def test_a_chargeback_opened_then_covered(shop, sandbox_control, cli, workdir):
    # Paid and disowned eight days ago on Mercado Pago's clock: documentation is due in two.
    sandbox_control.freeze_clock((datetime.now(UTC) - timedelta(days=8)).isoformat())
    payment_id = approved_payment(shop, "order-cb")
    case = sandbox_control.open_chargeback(payment_id)
    sandbox_control.freeze_clock(datetime.now(UTC).isoformat())
    assert len(case["id"]) == 18
    deliver_each_twice(shop, sandbox_control)
    shop.process()
    assert order_json(cli, "order-cb")["order"]["status"] == "chargeback_open"
    _, listed = cli.json("chargebacks", "list", "--open")
    assert [c["id"] for c in listed["chargebacks"]] == [case["id"]]
    assert cli("status", "--check").exit_code == 1
    _, status = cli.json("status")
    check = next(c for c in status["checks"] if c["name"] == "chargebacks_open")
    assert check["health"] == "red"
    cli("reconcile", "--quiet")
    sandbox_control.resolve_chargeback(case["id"], "reimbursed")
    deliver_each_twice(shop, sandbox_control)
    shop.process()
    cli("reconcile", "--quiet")
    document = order_json(cli, "order-cb")
    assert document["order"]["status"] == "chargeback_covered"
    assert [c["id"] for c in document["chargebacks"]] == [case["id"]]
    _, shown = cli.json("chargebacks", "show", case["id"])
    assert shown["outcome"] == "covered"
    alerts = (workdir / ALERTS).read_text().splitlines()
    fired = [line for line in alerts if case["id"] in line]
    assert len(fired) == 1


def test_a_merchant_order_webhook_without_data_id_is_applied(shop, sandbox_control, cli):
    shop.order("order-mo")
    payment = shop.pay("order-mo")
    shop.control("DELETE", "/outbox")
    sandbox_control.notify_merchant_order(payment_id=payment["id"])
    (request,) = sandbox_control.take_outbox()
    assert "id" not in json.loads(request.body)["data"]
    policy = SignaturePolicy(secrets=(SANDBOX_SECRET,), now=lambda: datetime.now(UTC).timestamp())
    assert receive_request(shop.store, request, shop.clock, policy).queued
    summary = shop.process()
    assert summary.dead_lettered == 0 and summary.completed == 1
    assert order_json(cli, "order-mo")["order"]["status"] == "paid"


def test_a_refund_made_outside_the_cli_is_found_by_reconcile(shop, sandbox_control, cli):
    payment_id = approved_payment(shop, "order-panel")
    cli("reconcile", "--quiet", "--since", "1d")
    sandbox_control.refund(payment_id, "40", notify=False)
    assert sandbox_control.take_outbox() == []
    result = cli("reconcile", "--quiet")
    assert result.exit_code == 0, result.output
    document = order_json(cli, "order-panel")
    assert document["order"]["status"] == "partially_refunded"
    assert Decimal(document["money"]["refunded"]) == Decimal("40")
