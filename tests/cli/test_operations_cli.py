"""reconcile, status and alerts through the CLI: exit codes, quiet mode, JSON."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from mpcheckout.store import open_store
from tests.sandbox_support import SANDBOX_TOKEN


@pytest.fixture
def mp(sandbox, monkeypatch):
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN", SANDBOX_TOKEN)
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__API_BASE", sandbox.url)
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__MAX_RETRIES", "0")
    with httpx.Client(base_url=f"{sandbox.url}/_sandbox", timeout=5) as client:
        yield client


def test_reconcile_is_quiet_on_success_and_keeps_history(cli, mp):
    mp.post("/payments", json={"external_reference": "web-1", "notify": False})
    result = cli("reconcile", "--quiet")
    assert result.exit_code == 0 and result.stdout == "" and result.stderr == ""
    _, history = cli.json("reconcile", "history")
    (run,) = history["runs"]
    assert (run["status"], run["swept"], run["drift_fixed"]) == ("ok", 1, 1)
    _, order = cli.json("orders", "show", "web-1")
    assert order["payments"][0]["source"] == "reconcile"
    table = cli("reconcile")
    assert table.exit_code == 0 and "Payments swept" in table.stdout
    assert "Reconcile runs (2)" in cli("reconcile", "history").stdout


def test_reconcile_speaks_up_on_trouble_even_when_quiet(cli, mp):
    mp.post(
        "/faults", json={"endpoint": "payments.search", "error_rate": 1.0, "error_statuses": [503]}
    )
    result = cli("reconcile", "--quiet")
    assert result.exit_code == 1 and "failed" in result.stdout
    _, report = cli.json("reconcile")
    assert report["status"] == "failed" and report["checkpoint_advanced"] is False


def test_reconcile_exits_69_when_mercado_pago_is_unreachable(cli, mp, monkeypatch):
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__API_BASE", "http://127.0.0.1:9")
    assert cli("reconcile", "--quiet").exit_code == 69


def test_a_held_lock_exits_0_or_75_with_wait(cli, mp, workdir):
    cli("db", "upgrade")
    store = open_store(str(workdir / "mpcheckout.db"))
    store.try_lock("reconcile", "other-host:1", datetime.now(UTC), stale_after=7200)
    store.close()
    held = cli("reconcile")
    assert held.exit_code == 0 and "holds the lock" in held.stderr
    waited = cli("reconcile", "--wait", "0.2")
    assert waited.exit_code == 75 and "still running" in waited.stderr


def test_reconcile_dry_run_reports_without_changing(cli, mp):
    mp.post("/payments", json={"external_reference": "web-1", "notify": False})
    _, report = cli.json("reconcile", "--dry-run")
    assert report["dry_run"] and report["sweep_outcomes"] == {"created": 1}
    assert cli.json("orders", "list")[1]["orders"] == []
    assert cli.json("reconcile", "history")[1]["runs"] == []


def test_status_json_has_stable_keys_and_check_exit_codes(cli, mp):
    _, report = cli.json("status")
    assert set(report) >= {
        "generated_at",
        "verdict",
        "checks",
        "queue",
        "reconcile",
        "orders",
        "amount_mismatches",
        "stale_pending_orders",
    }
    assert set(report["queue"]) >= {
        "pending_due",
        "pending_later",
        "processing",
        "completed_24h",
        "dead_unresolved",
        "dead_letters_24h",
        "latency_p50_seconds",
        "latency_p95_seconds",
        "oldest_pending_seconds",
        "next_retry_at",
    }
    assert report["verdict"] == "yellow"  # never reconciled: worth a look, not red
    assert cli("status", "--check").exit_code == 0
    cli("reconcile", "--quiet")
    _, report = cli.json("status")
    assert report["verdict"] == "green"
    table = cli("status")
    assert "Health" in table.stdout and "Queue" in table.stdout


def test_status_check_fails_when_red(cli, mp, workdir):
    lines = "\n".join(f'{{"resource": "{n}", "topic": "payment"}}' for n in range(1, 6))
    (workdir / "ipn.jsonl").write_text(lines + "\n")
    cli("ingest", "ipn.jsonl")
    mp.post(
        "/faults", json={"endpoint": "payments.get", "error_rate": 1.0, "error_statuses": [400]}
    )
    cli("process")
    result = cli("status", "--check")
    assert result.exit_code == 1 and "red" in result.stdout


def test_alerts_test_reaches_every_sink(cli, webhook_receiver, monkeypatch, tmp_path):
    assert cli("alerts", "test").exit_code == 78
    out = tmp_path / "alert.json"
    monkeypatch.setenv("MPCHECKOUT_ALERTS__WEBHOOK_URL", webhook_receiver.url)
    monkeypatch.setenv("MPCHECKOUT_ALERTS__COMMAND", f"cat > {out}")
    result, report = cli.json("alerts", "test")
    assert result.exit_code == 0 and report["results"] == {"webhook": "ok", "command": "ok"}
    assert webhook_receiver.requests[0].json()["mpcheckout"]["condition"] == "test"
    assert '"condition": "test"' in out.read_text()
    monkeypatch.setenv("MPCHECKOUT_ALERTS__COMMAND", "exit 3")
    result, report = cli.json("alerts", "test")
    assert result.exit_code == 1 and report["results"]["command"] == "command exited 3"
    assert webhook_receiver.url not in result.stdout + result.stderr


def test_a_lock_left_by_a_killed_run_on_this_host_is_taken_over(cli, mp, workdir):
    import socket
    import subprocess
    import sys

    cli("db", "upgrade")
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    store = open_store(str(workdir / "mpcheckout.db"))
    dead_holder = f"{socket.gethostname()}:{int(gone.stdout)}"
    store.try_lock("reconcile", dead_holder, datetime.now(UTC), stale_after=7200)
    store.close()
    result = cli("reconcile", "--quiet")
    assert result.exit_code == 0 and "holds the lock" not in result.stderr
    assert len(cli.json("reconcile", "history")[1]["runs"]) == 1
