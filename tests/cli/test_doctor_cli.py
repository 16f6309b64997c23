"""`mpcheckout doctor` and `mpcheckout mp whoami` end to end: a real `init`, real SQLite files
(or PostgreSQL), the sandbox over HTTP; every output searched for the token and secrets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from mpcheckout.models import ReconcileRun
from mpcheckout.store import open_store
from tests.sandbox_support import SANDBOX_TOKEN

WEBHOOK_SECRET = "whsec-doctor-test-secret-4f1e"
MONITOR_TOKEN = "monitor-token-doctor-test-8c2d9a7b"
SECRETS = (SANDBOX_TOKEN, WEBHOOK_SECRET, MONITOR_TOKEN)
JSON_KEYS = {"generated_at", "verdict", "checks"}
CHECK_KEYS = {"name", "level", "value", "fix", "data"}


@pytest.fixture
def mp(sandbox, monkeypatch, cli):
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN", SANDBOX_TOKEN)
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__API_BASE", sandbox.url)
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__MAX_RETRIES", "0")
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__WEBHOOK_SECRETS", WEBHOOK_SECRET)
    monkeypatch.setenv("MPCHECKOUT_SERVER__MONITOR_TOKEN", MONITOR_TOKEN)
    assert cli("init").exit_code == 0
    with httpx.Client(base_url=f"{sandbox.url}/_sandbox", timeout=5) as client:
        yield client


def doctor(cli, *args: str):
    """Both forms of the output; neither may show a secret."""
    table = cli("doctor", *args)
    result, document = cli.json("doctor", *args)
    for text in (table.stdout, table.stderr, result.stdout, result.stderr):
        for secret in SECRETS:
            assert secret not in text
    assert table.exit_code == result.exit_code
    return table, result.exit_code, document


def check(document, name: str) -> dict:
    return next(item for item in document["checks"] if item["name"] == name)


def test_a_fresh_init_against_the_sandbox_is_green_or_yellow_and_exits_0(cli, mp):
    table, code, document = doctor(cli)
    assert code == 0, table.stdout
    assert set(document) == JSON_KEYS and document["verdict"] in ("green", "yellow")
    assert all(set(item) == CHECK_KEYS for item in document["checks"])
    assert {item["level"] for item in document["checks"]} <= {"green", "yellow"}
    names = [item["name"] for item in document["checks"]]
    assert names == [
        "config",
        "database",
        "database_writable",
        "database_wal",
        "database_integrity",
        "database_mode",
        "access_token",
        "clock",
        "webhook_secrets",
        "public_url",
        "monitor_token",
        "reconcile",
        "event_origins",
        "dead_letters",
    ]
    token = check(document, "access_token")
    assert token["data"]["account_id"] == "724484980" and token["data"]["test_user"] is True
    assert token["data"]["evidence"] == "tags: test_user"
    assert check(document, "webhook_secrets")["data"] == {"count": 1}
    assert check(document, "reconcile")["level"] == "yellow"
    assert "No cron/timer runs reconcile" in check(document, "reconcile")["fix"]
    assert "Access token" in table.stdout and "724484980" in table.stdout


def test_a_token_the_sandbox_refuses_is_red_with_the_fix_and_exits_1(cli, mp, monkeypatch):
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN", "APP_USR-not-the-sandbox-token")
    table, code, document = doctor(cli)
    assert code == 1 and document["verdict"] == "red"
    token = check(document, "access_token")
    assert token["level"] == "red" and "refused" in token["value"]
    assert "Credentials" in token["fix"] and "Credentials" in table.stdout
    assert check(document, "clock")["level"] == "skipped"
    assert "APP_USR-not-the-sandbox-token" not in table.stdout + json.dumps(document)


def ingest(cli, workdir, *bodies: dict) -> None:
    path = workdir / "events.jsonl"
    path.write_text("".join(json.dumps(body) + "\n" for body in bodies))
    assert cli("ingest", str(path)).exit_code == 0


def webhook(n: int, user_id: int, live_mode: bool) -> dict:
    return {
        "id": n,
        "type": "payment",
        "action": "payment.updated",
        "data": {"id": str(1000 + n)},
        "user_id": user_id,
        "live_mode": live_mode,
        "date_created": datetime.now(UTC).isoformat(),
    }


def test_events_of_another_account_are_red_with_the_counts(cli, mp, workdir):
    ingest(
        cli, workdir, webhook(1, 724484980, False), webhook(2, 555, False), webhook(3, 555, False)
    )
    _, code, document = doctor(cli)
    origins = check(document, "event_origins")
    assert code == 1 and origins["level"] == "red"
    assert origins["data"]["by_account"] == {"555": 2, "724484980": 1}
    assert "555: 2" in origins["fix"] and "724484980: 1" in origins["fix"]


def test_mixed_live_mode_is_red_with_the_counts(cli, mp, workdir):
    ingest(cli, workdir, webhook(1, 724484980, False), webhook(2, 724484980, True))
    _, code, document = doctor(cli)
    origins = check(document, "event_origins")
    assert code == 1 and origins["level"] == "red"
    assert origins["data"]["by_live_mode"] == {"test": 1, "live": 1}


def test_events_of_the_tokens_account_in_one_mode_are_green(cli, mp, workdir):
    ingest(cli, workdir, webhook(1, 724484980, False), webhook(2, 724484980, False))
    _, code, document = doctor(cli)
    assert code == 0 and check(document, "event_origins")["level"] == "green"


def record_reconcile(workdir, hours_ago: float) -> None:
    at = datetime.now(UTC) - timedelta(hours=hours_ago)
    store = open_store(str(workdir / "mpcheckout.db"))
    try:
        store.record_reconcile_run(ReconcileRun(None, at, at, "ok"))
    finally:
        store.close()


@pytest.mark.parametrize(("hours_ago", "level", "code"), [(0.5, "green", 0), (5, "yellow", 0)])
def test_a_recent_or_late_reconcile(cli, mp, workdir, hours_ago, level, code):
    record_reconcile(workdir, hours_ago)
    _, exit_code, document = doctor(cli)
    assert check(document, "reconcile")["level"] == level and exit_code == code


def test_an_old_last_reconcile_is_red(cli, mp, workdir):
    record_reconcile(workdir, 72)
    _, code, document = doctor(cli)
    reconcile = check(document, "reconcile")
    assert reconcile["level"] == "red" and code == 1
    assert reconcile["data"]["age_hours"] == 72.0


def test_a_skewed_clock_is_red(cli, mp):
    mp.post("/clock", json={"advance_seconds": 3600})
    _, code, document = doctor(cli)
    clock = check(document, "clock")
    assert clock["level"] == "red" and code == 1 and clock["data"]["skew_seconds"] < -3500


def test_an_unknown_key_in_the_file_is_red(cli, mp, workdir):
    config = workdir / "mpcheckout.toml"
    config.write_text(config.read_text() + "\n[shop]\nname = 'x'\n")
    _, code, document = doctor(cli)
    assert code == 1 and document["checks"][0]["level"] == "red"
    assert "shop" in document["checks"][0]["value"]
    assert {item["level"] for item in document["checks"][1:]} == {"skipped"}


def test_a_world_readable_database_is_red(cli, mp, workdir):
    (workdir / "mpcheckout.db").chmod(0o644)
    _, code, document = doctor(cli)
    assert check(document, "database_mode")["level"] == "red" and code == 1
    assert "chmod 600" in check(document, "database_mode")["fix"]


def test_doctor_speaks_spanish_by_default(cli, mp, monkeypatch):
    monkeypatch.delenv("MPCHECKOUT_LOCALE")
    monkeypatch.setenv("LANG", "C")
    table, _, _ = doctor(cli)
    assert "Base de datos" in table.stdout and "Último reconcile exitoso" in table.stdout


@pytest.mark.postgres
def test_doctor_on_postgresql(cli, mp, postgres_url):
    result = cli("--db", postgres_url, "db", "upgrade")
    assert result.exit_code == 0
    table = cli("--db", postgres_url, "doctor")
    result, document = cli.json("--db", postgres_url, "doctor")
    assert result.exit_code == 0, table.stdout
    names = {item["name"] for item in document["checks"]}
    assert "database" in names and not names & {"database_wal", "database_mode"}
    assert check(document, "database")["data"]["backend"] == "postgres"
    assert check(document, "database_writable")["level"] == "green"
    for secret in SECRETS:
        assert secret not in table.stdout + result.stdout


# -- mp whoami -------------------------------------------------------------------------------


def test_whoami_shows_the_account_behind_the_token(cli, mp):
    mp.post("/account", json={"id": 42, "nickname": "TIENDA", "site_id": "MLB", "test_user": False})
    table = cli("mp", "whoami")
    result, account = cli.json("mp", "whoami")
    assert table.exit_code == result.exit_code == 0
    assert account == {
        "id": "42",
        "nickname": "TIENDA",
        "site_id": "MLB",
        "country_id": "BR",
        "test_user": False,
        "test_user_evidence": "tags: normal",
        "server_date": account["server_date"],
    }
    assert "TIENDA" in table.stdout and "BR" in table.stdout
    for secret in SECRETS:
        assert secret not in table.stdout + result.stdout


def test_whoami_with_a_refused_token_exits_77(cli, mp, monkeypatch):
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN", "APP_USR-refused-token-123")
    result, document = cli.json("mp", "whoami")
    assert result.exit_code == 77 and document["error"]["code"]
    assert "APP_USR-refused-token-123" not in result.stdout + result.stderr
