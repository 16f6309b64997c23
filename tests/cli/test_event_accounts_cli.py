"""Issue 18 through the CLI: `events list --live-mode/--user-id`, `status`'s check of whose events
arrived in the last day, and a 404's likely cause in `dead-letters show` and `events show`
(translated; `--json` carries `hint_code`). Real SQLite files, the sandbox over HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from mpcheckout.errors import ValidationError
from tests.sandbox_support import SANDBOX_TOKEN

SELLER = 724484980  # the sandbox's own seller
OTHER_TOKEN = "APP_USR-other-seller-token-for-cli"


@pytest.fixture
def mp(sandbox, monkeypatch, cli):
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN", SANDBOX_TOKEN)
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__API_BASE", sandbox.url)
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__MAX_RETRIES", "0")
    with httpx.Client(base_url=f"{sandbox.url}/_sandbox", timeout=5) as client:
        yield client


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


def ingest(cli, workdir, *bodies: dict) -> None:
    path = workdir / "inbox.jsonl"
    path.write_text("".join(json.dumps(body) + "\n" for body in bodies))
    assert cli("ingest", str(path)).exit_code == 0


def listed(cli, *options: str) -> list[str]:
    result, document = cli.json("events", "list", *options)
    assert result.exit_code == 0
    return [event["resource_id"] for event in document["events"]]


def test_events_list_filters_on_live_mode_and_account(cli, workdir):
    ingest(cli, workdir, webhook(1, SELLER, False), webhook(2, 555, True), webhook(3, SELLER, True))
    assert listed(cli) == ["1003", "1002", "1001"]
    assert listed(cli, "--live-mode", "true") == ["1003", "1002"]
    assert listed(cli, "--live-mode", "FALSE") == ["1001"]
    assert listed(cli, "--user-id", "555") == ["1002"]
    assert listed(cli, "--user-id", str(SELLER), "--live-mode", "true") == ["1003"]
    _, document = cli.json("events", "list", "--user-id", "555")
    assert (document["events"][0]["user_id"], document["events"][0]["live_mode"]) == ("555", True)
    refused = cli("events", "list", "--live-mode", "yes")
    assert refused.exit_code == ValidationError.exit_code and "true or false" in refused.stderr


def health(cli, name: str) -> dict:
    _, report = cli.json("status")
    return next(check for check in report["checks"] if check["name"] == name)


def test_status_is_red_with_the_counts_when_accounts_or_modes_mix(cli, workdir):
    ingest(cli, workdir, webhook(1, SELLER, False), webhook(2, SELLER, False))
    assert health(cli, "event_origins_24h")["health"] == "green"
    assert health(cli, "event_origins_24h")["value"] == f"{SELLER}: 2 · test: 2"
    ingest(cli, workdir, webhook(3, 555, False))
    check = health(cli, "event_origins_24h")
    assert check["health"] == "red" and check["value"] == f"{SELLER}: 2, 555: 1 · test: 3"
    assert cli("status", "--check").exit_code == 1
    assert "555: 1" in cli("status").stdout


def test_status_is_red_for_test_and_live_events_of_one_account(cli, workdir):
    ingest(cli, workdir, webhook(1, SELLER, False), webhook(2, SELLER, True))
    check = health(cli, "event_origins_24h")
    assert check["health"] == "red" and check["value"] == f"{SELLER}: 2 · live: 1, test: 1"


def test_a_dead_letter_from_another_accounts_token_says_so_in_the_users_language(
    cli, mp, workdir, monkeypatch
):
    mp.post("/other-accounts", json={"access_token": OTHER_TOKEN, "id": 555}).raise_for_status()
    mp.post("/payments", json={"external_reference": "web-1"}).raise_for_status()
    (workdir / "inbox.jsonl").write_text(mp.get("/outbox").json()[0]["body"] + "\n")
    cli("ingest", "inbox.jsonl")
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN", OTHER_TOKEN)
    monkeypatch.setenv("MPCHECKOUT_QUEUE__NOT_FOUND_RETRIES", "0")  # dead at the first 404
    _, summary = cli.json("process")
    assert summary["dead_lettered"] == 1
    _, listing = cli.json("dead-letters", "list")
    (letter,) = listing["dead_letters"]
    assert letter["hint_code"] == "other_account"
    english = "belongs to account 724484980; the configured token is account 555"
    shown = cli("dead-letters", "show", str(letter["id"]))
    assert english in " ".join(shown.stdout.split()) and OTHER_TOKEN not in shown.stdout
    spanish = cli("--lang", "es", "dead-letters", "show", str(letter["id"]))
    assert "es de la cuenta 724484980" in " ".join(spanish.stdout.split())
    _, detail = cli.json("dead-letters", "show", str(letter["id"]))
    assert detail["hint_code"] == "other_account"
    assert detail["errors"][-1]["hint_params"]["token_account"] == "555"
    _, event = cli.json("events", "show", str(letter["queue_id"]))
    assert (event["hint_code"], event["user_id"]) == ("other_account", str(SELLER))
    assert english in " ".join(cli("events", "show", str(letter["queue_id"])).stdout.split())


def test_an_event_without_a_404_has_no_hint(cli, workdir):
    ingest(cli, workdir, webhook(1, SELLER, False))
    _, event = cli.json("events", "show", "1")
    assert event["hint_code"] is None
    _, document = cli.json("events", "list")
    assert document["events"][0]["hint_code"] is None
