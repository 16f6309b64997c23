"""process, dead-letters, orders, mp and demo through the CLI, against the sandbox over HTTP."""

from __future__ import annotations

import json

import httpx
import pytest

from mpcheckout.errors import EXIT_UNAVAILABLE, EXIT_USAGE
from tests.sandbox_support import SANDBOX_TOKEN


@pytest.fixture
def mp(sandbox, monkeypatch):
    """The CLI pointed at the sandbox; returns a control client for it."""
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN", SANDBOX_TOKEN)
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__API_BASE", sandbox.url)
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__MAX_RETRIES", "0")
    with httpx.Client(base_url=f"{sandbox.url}/_sandbox", timeout=5) as client:
        yield client


def paid_notifications(mp, workdir, references) -> list[dict]:
    payments = [
        mp.post("/payments", json={"external_reference": ref, "transaction_amount": 10}).json()
        for ref in references
    ]
    lines = [record["body"] for record in mp.get("/outbox").json()]
    (workdir / "inbox.jsonl").write_text("\n".join(lines) + "\n")
    return payments


def test_process_applies_and_orders_show_the_history(cli, mp, workdir):
    payments = paid_notifications(mp, workdir, ["web-1", "web-2"])
    cli("ingest", "inbox.jsonl")
    result, summary = cli.json("process")
    assert result.exit_code == 0
    assert (summary["claimed"], summary["completed"], summary["payments"]) == (2, 2, {"created": 2})
    _, listing = cli.json("orders", "list", "--status", "paid")
    assert sorted(order["id"] for order in listing["orders"]) == ["web-1", "web-2"]
    _, detail = cli.json("orders", "show", "web-1")
    assert detail["order"]["status"] == "paid"
    assert [p["payment_id"] for p in detail["payments"]] == [str(payments[0]["id"])]
    table = cli("orders", "show", "web-1")
    assert "Payment history" in table.stdout and "approved" in table.stdout
    assert cli("orders", "show", "nope").exit_code == 66


def test_dead_letter_list_show_replay_and_discard(cli, mp, workdir, monkeypatch):
    paid_notifications(mp, workdir, ["web-1", "web-2"])
    cli("ingest", "inbox.jsonl")
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN", "APP_USR-revoked-0000-a1b2")
    _, summary = cli.json("process")
    assert summary["dead_lettered"] == 2  # 401: permanent at once
    _, listing = cli.json("dead-letters", "list", "--reason", "permanent")
    letters = listing["dead_letters"]
    assert len(letters) == 2 and "401" in letters[0]["last_error"]
    shown = cli("dlq", "show", str(letters[0]["id"]))
    assert "mercadopago_auth" in shown.stdout and "APP_USR-revoked" not in shown.stdout
    _, dry = cli.json("dead-letters", "replay", str(letters[0]["id"]), "--dry-run")
    assert dry["results"][0]["result"] == "would_replay"
    assert len(cli.json("dead-letters", "list")[1]["dead_letters"]) == 2  # unchanged
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN", SANDBOX_TOKEN)
    _, replayed = cli.json("dead-letters", "replay", str(letters[0]["id"]))
    _, again = cli.json("dead-letters", "replay", str(letters[0]["id"]))
    assert replayed["results"][0]["result"] == "replayed"
    assert again["results"][0]["result"] == "already_resolved"
    _, discarded = cli.json("dead-letters", "discard", str(letters[1]["id"]), "--note", "test")
    assert discarded["resolution"] == "discarded"
    _, summary = cli.json("process")
    assert summary["completed"] == 1
    _, orders = cli.json("orders", "list")
    assert len(orders["orders"]) == 1  # the discarded one was never applied
    _, listing = cli.json("dead-letters", "list", "--all")
    assert {d["resolution"] for d in listing["dead_letters"]} == {"replayed", "discarded"}


def test_replaying_many_asks_first(cli, mp, workdir, monkeypatch):
    paid_notifications(mp, workdir, [f"web-{n}" for n in range(12)])
    cli("ingest", "inbox.jsonl")
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN", "APP_USR-revoked-0000-a1b2")
    cli("process")
    refused = cli("dead-letters", "replay", "--all")
    assert refused.exit_code == EXIT_USAGE and "--yes" in refused.stderr
    _, done = cli.json("dead-letters", "replay", "--all", "--reason", "permanent", "--yes")
    assert [r["result"] for r in done["results"]] == ["replayed"] * 12
    assert cli("dead-letters", "replay", "1", "--all").exit_code == EXIT_USAGE


def test_process_exits_69_when_mercado_pago_is_unreachable(cli, mp, workdir, monkeypatch):
    paid_notifications(mp, workdir, ["web-1"])
    cli("ingest", "inbox.jsonl")
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__API_BASE", "http://127.0.0.1:9")
    result = cli("process")
    assert result.exit_code == EXIT_UNAVAILABLE
    assert "could not be reached" in result.stderr


def test_process_without_a_token_is_a_configuration_error(cli, monkeypatch):
    result = cli("process")
    assert result.exit_code == 78 and "access token" in result.stderr


def test_mp_lookups(cli, mp, workdir):
    (payment,) = paid_notifications(mp, workdir, ["web-1"])
    _, found = cli.json("mp", "payment", str(payment["id"]))
    assert found["status"] == "approved" and found["external_reference"] == "web-1"
    _, search = cli.json("mp", "search", "--since", "1h")
    assert [p["id"] for p in search["results"]] == [payment["id"]]
    _, order = cli.json("mp", "merchant-order", str(payment["order"]["id"]))
    assert [p["id"] for p in order["payments"]] == [payment["id"]]
    assert cli("mp", "payment", "999").exit_code == 66
    assert str(payment["id"]) in cli("mp", "search", "--since", "1h").stdout


def test_demo_runs_the_whole_job_and_checks_itself(cli, workdir, monkeypatch):
    monkeypatch.setenv("MPCHECKOUT_DATABASE__URL", "real-shop.db")
    result, report = cli.json("demo")
    assert result.exit_code == 0 and report["as_expected"] is True
    assert report["seconds"] < 30
    assert {o["status"] for o in report["orders"]} == {
        "paid",
        "rejected",
        "refunded",
        "partially_refunded",  # the Orders-API order the shop refunded in part
        "amount_mismatch",
        "chargeback_covered",
    }
    assert report["queue"]["dead"] == 1  # the malformed notification, kept
    assert {d["reason"] for d in report["dead_letters"]} == {"exhausted", "invalid"}
    assert (workdir / "mpcheckout-demo.db").exists() and not (workdir / "real-shop.db").exists()
    table = cli("demo")
    assert "Every order ended as expected" in table.stderr and "✓" in table.stdout
    assert json.loads(cli("--db", "mpcheckout-demo.db", "orders", "list", "--json").stdout)
