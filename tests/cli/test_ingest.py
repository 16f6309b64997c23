"""`mpcheckout ingest` through the CLI, against a real SQLite file in a temporary directory."""

from __future__ import annotations

import json
import sqlite3

from mpcheckout.errors import EXIT_DATA, EXIT_IO, EXIT_NO_INPUT
from mpcheckout.signature import sign
from tests.mp_fixtures import http_fixtures, notification_fixtures


def queue_rows(path="mpcheckout.db"):
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT topic, resource_id, received_via FROM webhook_queue").fetchall()


def dead_letters(path="mpcheckout.db"):
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT reason, payload, last_error FROM webhook_dead_letter ORDER BY id"
        ).fetchall()


def test_fixtures_are_queued_then_counted_as_duplicates(cli):
    paths = [str(p) for p in notification_fixtures()]
    first, summary = cli.json("ingest", *paths)
    assert first.exit_code == 0
    assert (summary["queued"], summary["duplicates"], summary["invalid"]) == (len(paths), 0, 0)
    _, summary = cli.json("ingest", *paths)
    assert (summary["queued"], summary["duplicates"]) == (0, len(paths))
    assert len(queue_rows()) == len(paths)


def test_the_table_summary_goes_to_stdout(cli):
    result = cli("ingest", str(notification_fixtures()[0]))
    assert result.exit_code == 0
    assert "Queued" in result.stdout and "1" in result.stdout


def test_http_captures_keep_query_and_headers(cli):
    _, summary = cli.json("ingest", *map(str, http_fixtures()))
    assert summary["queued"] == len(http_fixtures())
    with sqlite3.connect("mpcheckout.db") as conn:
        headers = [json.loads(row[0]) for row in conn.execute("SELECT headers FROM webhook_queue")]
    assert all(":query" in h and "x-signature" in h for h in headers)


def test_json_lines_arrays_and_directories(cli, workdir):
    folder = workdir / "inbox"
    folder.mkdir()
    lines = [
        json.dumps(
            {"id": n, "type": "payment", "action": "payment.created", "data": {"id": str(1000 + n)}}
        )
        for n in range(50)
    ]
    (folder / "batch.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "array.json").write_text(
        json.dumps(
            [json.loads(line) for line in lines[:10]] + [{"resource": "77", "topic": "payment"}]
        )
    )
    (folder / "ignored.txt").write_text("not a notification file")
    result, summary = cli.json("ingest", str(folder))
    assert result.exit_code == 0
    assert (summary["queued"], summary["duplicates"]) == (51, 10)


def test_stdin(cli, fixtures_dir):
    text = (fixtures_dir / "mp-devsite-docs_webhooks-en_payment-created.json").read_text()
    _, summary = cli.json("ingest", "-", input=text)
    assert summary["queued"] == 1
    assert queue_rows() == [("payment", "999999999", "stdin")]


def test_pretty_printed_single_object_is_one_notification(cli, fixtures_dir):
    _, summary = cli.json(
        "ingest", str(fixtures_dir / "mp-devsite-docs_webhooks-en_payment-created.json")
    )
    assert (summary["received"], summary["queued"]) == (1, 1)


def test_bad_input_is_kept_counted_and_the_rest_is_ingested(cli, workdir):
    good = {"id": 1, "type": "payment", "action": "payment.created", "data": {"id": "5"}}
    inputs = {
        "malformed.json": b'{"id": 1, "type": ',
        "number.json": b"42",
        "string.json": b'"hello"',
        "neither.json": b'{"hello": "world"}',
        "huge.json": json.dumps({**good, "pad": "x" * 300_000}).encode(),
        "binary.json": bytes(range(256)) * 4,
        "empty.json": b"",
        "good.json": json.dumps(good).encode(),
        "mixed.jsonl": (
            json.dumps({**good, "id": 2})
            + "\nnot json at all\n"
            + json.dumps({**good, "id": 3})
            + "\n"
        ).encode(),
    }
    for name, content in inputs.items():
        (workdir / name).write_bytes(content)
    result, summary = cli.json("ingest", *inputs)
    assert result.exit_code == EXIT_DATA
    assert summary["queued"] == 3
    assert summary["invalid"] == 8
    kept = dead_letters()
    assert len(kept) == 8 and {row[0] for row in kept} == {"invalid"}
    payloads = [row[1] for row in kept]
    assert '{"id": 1, "type": ' in payloads and "42" in payloads and "not json at all" in payloads
    assert "" in payloads  # the empty file is kept too: nothing that arrives is lost


def test_invalid_inputs_tell_the_user_where_to_look(cli, workdir):
    (workdir / "bad.json").write_text("{")
    result = cli("ingest", "bad.json")
    assert result.exit_code == EXIT_DATA
    assert "bad.json" in result.stderr and "dead-letters list --reason invalid" in result.stderr


def test_a_missing_file_is_one_line_and_nothing_is_written(cli, workdir):
    (workdir / "ok.json").write_text(json.dumps({"id": 1, "type": "payment", "data": {"id": "1"}}))
    result = cli("ingest", "ok.json", "typo.json")
    assert result.exit_code == EXIT_NO_INPUT
    assert "typo.json" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (workdir / "mpcheckout.db").exists() or queue_rows() == []


def test_a_database_in_a_missing_folder(cli):
    result = cli("--db", "no/such/folder/x.db", "ingest", str(notification_fixtures()[0]))
    assert result.exit_code == EXIT_IO
    assert "no/such/folder" in result.stderr and "Traceback" not in result.stderr


def test_a_database_that_is_not_sqlite(cli, workdir):
    (workdir / "mpcheckout.db").write_text("hello " * 1000)
    result = cli("ingest", str(notification_fixtures()[0]))
    assert result.exit_code == EXIT_IO
    assert "not a mpcheckout database" in result.stderr


def test_a_database_newer_than_the_code(cli):
    cli("db", "upgrade")
    with sqlite3.connect("mpcheckout.db") as conn:
        conn.execute("UPDATE meta SET value = '42' WHERE key = 'schema_version'")
    result, document = cli.json("ingest", str(notification_fixtures()[0]))
    assert result.exit_code == EXIT_IO
    assert document["error"]["code"] == "storage_error"
    assert "42" in document["error"]["message"]


def test_verify_signature_checks_captures_with_headers(cli, workdir, monkeypatch):
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__WEBHOOK_SECRETS", "s3cret")
    body = json.dumps(
        {"id": 5, "type": "payment", "action": "payment.updated", "data": {"id": "123"}}
    )
    signed = sign("s3cret", "123", "req-1", "1742505638683")
    capture = (
        f"POST /hook?data.id=123&type=payment HTTP/1.1\nX-Request-Id: req-1\n"
        f"X-Signature: {signed}\n\n{body}\n"
    )
    (workdir / "good.http").write_text(capture)
    (workdir / "forged.http").write_text(
        capture.replace("data.id=123", "data.id=124").replace('"123"', '"124"')
    )
    result, summary = cli.json("ingest", "--verify-signature", "good.http", "forged.http")
    assert result.exit_code == EXIT_DATA
    assert (summary["queued"], summary["rejected_signature"]) == (1, 1)
    assert dead_letters()[0][2] == "signature: mismatch"


def test_verify_signature_without_a_secret_is_a_configuration_error(cli):
    result = cli("ingest", "--verify-signature", str(http_fixtures()[0]))
    assert result.exit_code == 78
    assert "webhook_secrets" in result.stderr


def test_messages_are_spanish_by_default(cli, monkeypatch):
    monkeypatch.delenv("MPCHECKOUT_LOCALE")
    monkeypatch.setenv("LANG", "C.UTF-8")
    result = cli("ingest", "absent.json")
    assert "no existe" in result.stderr
    result = cli("--lang", "pt", "ingest", "absent.json")
    assert "não existe" in result.stderr
