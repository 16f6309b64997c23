"""init, config show, db upgrade|info, events list|show, and the CLI's error boundary."""

from __future__ import annotations

import json
import stat

from mpcheckout.errors import EXIT_CONFIG, EXIT_NO_INPUT, EXIT_USAGE
from mpcheckout.store.migrate import latest_version
from tests.mp_fixtures import notification_fixtures

TOKEN = "APP_USR-1234567890123456-112233-abcdef0123456789-a1b2"


def test_init_writes_a_private_config_and_creates_the_database(cli, workdir):
    result = cli("init")
    assert result.exit_code == 0
    config = workdir / "mpcheckout.toml"
    assert config.exists() and stat.S_IMODE(config.stat().st_mode) == 0o600
    assert (workdir / "mpcheckout.db").exists()
    assert "mpcheckout demo" in result.stderr
    config.write_text("# mine\n")
    _, document = cli.json("init")
    assert document["config_written"] is False and config.read_text() == "# mine\n"
    _, document = cli.json("init", "--force")
    assert document["config_written"] is True and "[database]" in config.read_text()


def test_config_show_masks_secrets_and_names_sources(cli, workdir, monkeypatch):
    (workdir / "mpcheckout.toml").write_text("[queue]\nconcurrency = 4\n")
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__WEBHOOK_SECRETS", "whsec-very-long-secret-9f8e")
    result, document = cli.json("config", "show")
    rows = {row["key"]: row for row in document["settings"]}
    assert rows["mercadopago.access_token"] == {
        "key": "mercadopago.access_token",
        "value": "APP_USR-…a1b2",
        "source": "env",
    }
    assert rows["queue.concurrency"]["source"] == "file"
    assert rows["queue.batch_size"]["source"] == "default"
    table = cli("config", "show")
    for output in (result.stdout, table.stdout, table.stderr):
        assert TOKEN not in output and "very-long-secret" not in output
    assert "APP_USR-…a1b2" in table.stdout


def test_config_errors_name_the_key_and_file_with_exit_78(cli, workdir):
    (workdir / "mpcheckout.toml").write_text("[queue]\nconcurency = 4\n")
    result = cli("config", "show")
    assert result.exit_code == EXIT_CONFIG
    assert "queue.concurency" in result.stderr and "mpcheckout.toml" in result.stderr
    result = cli("--config", "missing.toml", "config", "show")
    assert result.exit_code == EXIT_CONFIG


def test_db_upgrade_then_info(cli, workdir):
    _, document = cli.json("db", "upgrade")
    latest = latest_version("sqlite")
    assert (document["before"], document["after"]) == (0, latest)
    _, document = cli.json("db", "upgrade")
    assert document["before"] == document["after"] == latest
    cli("ingest", str(notification_fixtures()[0]))
    _, info = cli.json("db", "info")
    assert (
        info["backend"] == "sqlite" and info["schema_version"] == info["latest_version"] == latest
    )
    assert info["row_counts"]["webhook_queue"] == 1 and info["size_bytes"] > 0
    assert info["location"] == str((workdir / "mpcheckout.db").resolve())
    assert "webhook_queue" in cli("db", "info").stdout


def test_events_list_filters_and_show(cli):
    cli("ingest", *map(str, notification_fixtures()))
    _, document = cli.json("events", "list")
    assert len(document["events"]) == len(notification_fixtures())
    _, document = cli.json("events", "list", "--topic", "mp-connect")
    assert [e["topic"] for e in document["events"]] == ["mp-connect"]
    _, document = cli.json("events", "list", "--status", "completed")
    assert document["events"] == []
    _, document = cli.json("events", "list", "--limit", "2", "--since", "1h")
    assert len(document["events"]) == 2
    event_id = document["events"][0]["id"]
    _, event = cli.json("events", "show", str(event_id))
    assert event["id"] == event_id and event["payload"]
    shown = cli("events", "show", str(event_id))
    assert shown.exit_code == 0 and "Attempts" in shown.stdout


def test_events_bad_filters_are_clear(cli):
    assert cli("events", "list", "--status", "lost").exit_code == 65
    assert cli("events", "list", "--since", "yesterday-ish").exit_code == 65
    result, document = cli.json("events", "show", "404")
    assert result.exit_code == EXIT_NO_INPUT
    assert document == {"error": {"code": "not_found", "message": "No event with id 404."}}


def test_usage_errors_exit_64(cli):
    assert cli("events", "show", "not-a-number").exit_code == EXIT_USAGE
    assert cli("no-such-command").exit_code == EXIT_USAGE
    assert cli("--lang", "fr", "events", "list").exit_code == EXIT_USAGE


def test_debug_adds_the_traceback(cli):
    plain = cli("ingest", "absent.json")
    debug = cli("--debug", "ingest", "absent.json")
    assert "Traceback" not in plain.stderr and "Traceback" in debug.stderr


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0 and result.stdout.startswith("mpcheckout ")


def test_json_errors_are_one_document_on_stdout(cli):
    result = cli("ingest", "absent.json", "--json")
    document = json.loads(result.stdout)
    assert document["error"]["code"] == "not_found"
    assert result.stderr == ""
