"""`serve` as a real process, and `checkout link`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import httpx
import pytest

from mpcheckout.signature import sign
from tests.sandbox_support import SANDBOX_TOKEN


@pytest.fixture
def mp(sandbox, monkeypatch):
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN", SANDBOX_TOKEN)
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__API_BASE", sandbox.url)
    return sandbox


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_prints_its_url_receives_and_stops_on_sigterm(workdir, workers):
    env = {
        **os.environ,
        "MPCHECKOUT_MERCADOPAGO__WEBHOOK_SECRETS": "s3cret",
        "MPCHECKOUT_LOCALE": "en",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mpcheckout",
            "serve",
            "--port",
            "0",
            "--workers",
            workers,
            "--json",
        ],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        url = json.loads(process.stdout.readline())["url"]
        body = json.dumps(
            {"id": 1, "type": "payment", "action": "payment.created", "data": {"id": "42"}}
        )
        headers = {"x-signature": sign("s3cret", "42", "r1", 1764338560123), "x-request-id": "r1"}
        answer = httpx.post(
            f"{url}/webhooks/mercadopago?data.id=42&type=payment",
            content=body,
            headers=headers,
            timeout=10,
        )
        assert answer.json() == {"status": "queued"}
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr.decode()
    assert "s3cret" not in stderr.decode()


def test_checkout_link_prints_a_link_and_a_qr(cli, mp, workdir):
    result = cli(
        "checkout",
        "link",
        "--title",
        "Mate",
        "--amount",
        "4500.00",
        "--currency",
        "ars",
        "--qr",
        "--expires",
        "48h",
    )
    assert result.exit_code == 0
    link = result.stdout.splitlines()[0]
    # A TEST- token's link is the sandbox_init_point: on the sandbox, its own checkout page.
    assert link.startswith(f"{mp.url}/_sandbox/preferences/") and link.endswith("/checkout")
    assert "reconcile" in result.stderr and "4500.00 ARS" in result.stderr
    _, document = cli.json(
        "checkout",
        "link",
        "--title",
        "Poncho",
        "--amount",
        "52000",
        "--currency",
        "ARS",
        "--reference",
        "shop-77",
        "--qr-png",
        "qr.png",
    )
    assert document["order_id"] == "shop-77" and document["notified"] is False
    assert (workdir / "qr.png").read_bytes().startswith(b"\x89PNG")
    _, order = cli.json("orders", "show", "shop-77")
    assert order["order"]["status"] == "pending" and order["order"]["preference_id"]


def test_a_link_without_a_public_url_is_paid_unnotified_and_reconcile_finds_it(cli, mp):
    _, link = cli.json(
        "checkout", "link", "--title", "Mate", "--amount", "4500", "--currency", "ARS"
    )
    auth = {"authorization": f"Bearer {SANDBOX_TOKEN}"}
    preference = httpx.get(
        f"{mp.url}/checkout/preferences/{link['preference_id']}", headers=auth
    ).json()
    assert link["notified"] is False and not preference.get("notification_url")
    paid = httpx.post(  # the buyer pays; nobody is told
        f"{mp.url}/_sandbox/payments",
        json={
            "preference_id": link["preference_id"],
            "external_reference": link["order_id"],
            "transaction_amount": "4500.00",
            "currency_id": "ARS",
        },
    ).json()
    _, before = cli.json("orders", "show", link["order_id"])
    assert before["order"]["status"] == "pending"
    _, run = cli.json("reconcile")
    assert run["status"] == "ok"
    _, after = cli.json("orders", "show", link["order_id"])
    assert after["order"]["status"] == "paid"
    assert after["order"]["payment_id"] == str(paid["id"])


def test_checkout_link_with_a_public_url_sets_the_notification_url(cli, mp, monkeypatch):
    monkeypatch.setenv("MPCHECKOUT_SERVER__PUBLIC_URL", "https://shop.example.com/")
    _, document = cli.json(
        "checkout", "link", "--title", "Mate", "--amount", "10", "--currency", "ARS"
    )
    assert document["notified"] is True
    preference = httpx.get(
        f"{mp.url}/checkout/preferences/{document['preference_id']}",
        headers={"authorization": f"Bearer {SANDBOX_TOKEN}"},
    ).json()
    assert preference["notification_url"] == (
        "https://shop.example.com/webhooks/mercadopago?source_news=webhooks"
    )


def test_checkout_link_bad_input(cli, mp):
    result = cli("checkout", "link", "--title", "Mate", "--amount", "-3", "--currency", "ARS")
    assert result.exit_code == 65 and "unit_price" in result.stderr
    assert (
        cli("checkout", "link", "--title", "M", "--amount", "1", "--currency", "EUR").exit_code
        == 65
    )
