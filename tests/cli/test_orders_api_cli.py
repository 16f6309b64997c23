"""Orders-API links and writes through the CLI, against the sandbox over HTTP: a link created
through /v1/orders is paid, notified and applied; a create whose answer was lost is resent
with its stored key (one order made); refunds and cancels of `ORD…` ids."""

from __future__ import annotations

import json

import pytest

from mpcheckout.sandbox.client import SandboxControl
from tests.sandbox_support import SANDBOX_TOKEN

LINK = ("checkout", "link", "--title", "Mate", "--amount", "4500", "--currency", "ARS")


@pytest.fixture
def mp(sandbox, monkeypatch):
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN", SANDBOX_TOKEN)
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__API_BASE", sandbox.url)
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__MAX_RETRIES", "0")
    control = SandboxControl(sandbox.url, timeout=5.0)
    yield control
    control.close()


def deliver(cli, mp, workdir) -> None:
    """What Mercado Pago posted, taken in as the receiver would, then processed."""
    bodies = [record.body.decode() for record in mp.take_outbox()]
    (workdir / "inbox.jsonl").write_text("\n".join(bodies) + "\n")
    assert cli("ingest", "inbox.jsonl").exit_code == 0
    assert cli("process").exit_code == 0


def test_an_orders_link_is_paid_notified_and_applied(cli, mp, workdir, monkeypatch):
    monkeypatch.setenv("MPCHECKOUT_SERVER__PUBLIC_URL", "https://shop.example.com/")
    result, link = cli.json(*LINK, "--api", "orders", "--qr-png", "qr.png")
    assert result.exit_code == 0
    assert (link["api"], link["preference_id"]) == ("orders", None)
    assert link["mp_order_id"].startswith("ORD") and link["notified"] is True
    assert link["url"].endswith(f"/_sandbox/orders/{link['mp_order_id']}/checkout")
    assert (workdir / "qr.png").read_bytes().startswith(b"\x89PNG")
    (created,) = mp.orders()
    assert (created["type"], created["total_amount"], created["external_reference"]) == (
        "online",
        "4500.00",
        link["order_id"],
    )
    assert created["notification_url"].startswith("https://shop.example.com/webhooks/")
    mp.pay_order(link["mp_order_id"])  # the buyer pays; Mercado Pago notifies type=order
    deliver(cli, mp, workdir)
    _, shown = cli.json("orders", "show", link["order_id"])
    assert shown["order"]["status"] == "paid"


def test_a_create_whose_answer_was_lost_is_resent_with_its_stored_key(cli, mp):
    mp.drop_after_write("orders.create")
    lost = cli(*LINK, "--api", "orders", "--reference", "shop-r1")
    assert lost.exit_code == 75 and "--reference shop-r1" in lost.stderr
    result, link = cli.json(*LINK, "--api", "orders", "--reference", "shop-r1")
    assert result.exit_code == 0 and link["resent"] is True
    assert "resending" in result.stderr
    assert len(mp.orders()) == 1  # one order made at Mercado Pago
    keys = [r["headers"]["x-idempotency-key"] for r in mp.requests(endpoint="orders.create")]
    assert len(keys) == 2 and keys[0] == keys[1]
    _, shown = cli.json("orders", "show", "shop-r1")
    assert shown["order"]["status"] == "pending"
    again = cli(*LINK, "--api", "orders", "--reference", "shop-r1")
    assert again.exit_code == 65  # done: the reference is taken now


def test_the_shop_can_make_orders_its_default_api(cli, mp, monkeypatch):
    monkeypatch.setenv("MPCHECKOUT_CHECKOUT__API", "orders")
    _, link = cli.json(*LINK)
    assert link["api"] == "orders"
    _, classic = cli.json(*LINK, "--api", "preferences")
    assert classic["api"] == "preferences" and classic["preference_id"]
    assert cli(*LINK, "--api", "soap").exit_code == 65


def test_payments_refund_and_cancel_take_order_ids(cli, mp, workdir):
    _, paid = cli.json(*LINK, "--api", "orders")
    mp.pay_order(paid["mp_order_id"], notify=False)
    result, refund = cli.json("payments", "refund", paid["mp_order_id"], "--amount", "500", "--yes")
    assert result.exit_code == 0
    assert refund["payment_id"] == paid["mp_order_id"] and refund["amount"] == "500.00"
    request = mp.requests(endpoint="orders.refund")[0]
    assert json.loads(request["body"])["transactions"][0]["amount"] == "500.00"
    _, shown = cli.json("orders", "show", paid["order_id"])
    assert shown["order"]["status"] == "partially_refunded"
    too_much = cli("payments", "refund", paid["mp_order_id"], "--amount", "4001", "--yes")
    assert too_much.exit_code == 65
    _, unpaid = cli.json(*LINK, "--api", "orders")
    result, cancel = cli.json("payments", "cancel", unpaid["mp_order_id"], "--yes")
    assert result.exit_code == 0 and cancel["payment"]["status"] == "cancelled"
    _, shown = cli.json("orders", "show", unpaid["order_id"])
    assert shown["order"]["status"] == "cancelled"
