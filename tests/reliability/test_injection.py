"""Hostile input through the CLI and the server: SQL-injection and path-traversal strings, NUL
bytes, very long strings and Unicode look-alikes in every filter and id that reaches the store or
an API URL, and oversized or deeply nested JSON. Each gives a clean error with a documented exit
code (or an empty result), never a traceback; the database is intact afterwards; and the API
only ever sees the resource paths a lookup is for."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import typer.main
import typer.testing

import mpcheckout.cli as mpcheckout_cli
from mpcheckout.errors import EXIT_DATA, EXIT_NO_INPUT, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE
from mpcheckout.models import InvalidInput, Order
from mpcheckout.notifications import RawRequest, parse_notification
from mpcheckout.signature import sign
from mpcheckout.store import open_store
from tests.mp_fixtures import notification_fixtures
from tests.reliability.conftest import LONG
from tests.sandbox_support import SANDBOX_TOKEN
from tests.server import conftest as server_fixtures
from tests.server.conftest import SECRET

start_server = server_fixtures.start_server  # the fixture tests/server uses

HOSTILE_BOUNDED = [
    "' OR 1=1 --",
    '"; DROP TABLE orders; --',
    "../../etc/passwd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..",
    "a\x00b",
    "x" * 100_000,
    "ｐａｙｍｅｎｔ",  # full-width look-alike of "payment"
    "１２３",  # full-width digits
]
HOSTILE_MORE = [
    "1; DELETE FROM webhook_queue",
    "раyment",  # Cyrillic р and а
    "' UNION SELECT name FROM sqlite_master --",
    "%' OR '%'='",
    "*",
    "%",
    "_",
    "\\",
    ".",
    "/",
    "..\\..\\windows\\win.ini",
    "%00",
    "\u202epayment",
    "payment\u200b",
    "ǅ",
    "\r\n\r\nGET / HTTP/1.1",
    "1" * 5000,
    "🙂" * 1000,
]
# The status page tests take all 27; the CLI tests take HOSTILE_MORE only in the long form.
HOSTILE = HOSTILE_BOUNDED + (HOSTILE_MORE if LONG else [])
# A hostile --since made only of digits ("１２３") is a duration in seconds all the same; and
# an id past 2**63 has its own test further down (numbers too big for an integer column).
SINCE_HOSTILE = [value for value in HOSTILE if not value.isdigit()]
ID_HOSTILE = [value for value in HOSTILE if not (value.isdigit() and len(value) > 18)]
# Exit codes a hostile value may end in (README's table): never 70, an internal error.
CLEAN_EXITS = {EXIT_OK, EXIT_USAGE, EXIT_DATA, EXIT_NO_INPUT}
API_DOWN = frozenset({EXIT_UNAVAILABLE})
DB = "mpcheckout.db"
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}")
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")


# -- arrangement: a shop database with something in every table a command reads -------------


@pytest.fixture
def cli(cli, monkeypatch):
    """tests/conftest.py's CLI, with Typer's command tree built once instead of per call (it
    is 90% of an in-process invocation, and these tests make hundreds)."""
    command = typer.main.get_command(mpcheckout_cli.app)
    monkeypatch.setattr(typer.testing, "_get_command", lambda app: command)
    return cli


@pytest.fixture(scope="module")
def shop_template(tmp_path_factory) -> Path:
    """A database with queued events, an invalid dead letter and an order, built once."""
    path = tmp_path_factory.mktemp("template") / DB
    store = open_store(str(path))
    now = datetime.now(UTC)
    requests = [RawRequest(body=source.read_bytes()) for source in notification_fixtures()[:3]]
    store.enqueue_many([parse_notification(r) for r in requests], "file", now)
    broken = InvalidInput('{"type": "payment", "data": {', "malformed JSON", {}, "stdin")
    store.record_invalid_many([broken], now)
    store.create_order(Order("ord-1", "pending", Decimal("10.00"), "ARS", now, now))
    store.close()
    return path


@pytest.fixture
def shop(shop_template: Path, workdir: Path, monkeypatch, api_paths) -> Path:
    """A copy of the template as the CLI's database, and the CLI configured for the sandbox
    behind a recorder of request paths."""
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN", SANDBOX_TOKEN)
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__API_BASE", api_paths.url)
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__MAX_RETRIES", "0")
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{shop_template}{suffix}").exists():
            shutil.copy(f"{shop_template}{suffix}", workdir / f"{DB}{suffix}")
    return workdir / DB


def snapshot(path: Path) -> dict[str, tuple[int, str]]:
    """Every table with its row count and a digest of its rows; and the file is sound."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = [
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        result = {}
        for table in sorted(tables):
            # Sorted here, not by rowid: the money summaries are WITHOUT ROWID tables.
            rows = sorted(conn.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)
            result[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
        return result
    finally:
        conn.close()


class PathRecorder:
    """A reverse proxy in front of the sandbox that records every request target it forwards,
    exactly as it arrived on the wire."""

    def __init__(self, upstream: str) -> None:
        self.paths: list[str] = []
        self.upstream = upstream
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                recorder.paths.append(self.path)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                answer = httpx.request(
                    self.command, recorder.upstream + self.path, headers=headers, content=body
                )
                self.send_response(answer.status_code)
                for name in ("content-type", "retry-after", "x-request-id"):
                    if name in answer.headers:
                        self.send_header(name, answer.headers[name])
                self.send_header("content-length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_PUT = _forward

            def log_message(self, format, *args) -> None:
                pass

        return Handler


@pytest.fixture
def api_paths(sandbox) -> Iterator[PathRecorder]:
    recorder = PathRecorder(sandbox.url)
    yield recorder
    recorder.close()


def run_clean(cli, *args: str, input: str | None = None, also: frozenset[int] = frozenset()):
    """Run a command; it must end cleanly: a documented exit code, no traceback, and with --json
    either a JSON result or a JSON error document."""
    result = cli(*args, input=input)
    shown = result.stdout + result.stderr
    allowed = CLEAN_EXITS | also
    assert result.exit_code in allowed, (args[:3], result.exit_code, shown[-400:])
    assert "Traceback" not in shown
    if "--json" in args and result.exit_code not in (EXIT_USAGE,):
        document = json.loads(result.stdout)
        if result.exit_code != EXIT_OK and "error" in document:
            assert document["error"]["code"] and document["error"]["message"]
        return result, document
    return result, None


def empty_or_refused(cli, *args: str) -> None:
    result, document = run_clean(cli, *args, "--json")
    if result.exit_code == EXIT_OK:
        (items,) = document.values()  # {"events": [...]} and the like
        assert items == [], (args, items)


# -- filters and ids into the store -----------------------------------------------------------

FILTER_COMMANDS = [
    ("events", "list", "--status"),
    ("events", "list", "--topic"),
    ("events", "list", "--since"),
    ("dead-letters", "list", "--reason"),
    ("dead-letters", "list", "--topic"),
    ("dead-letters", "list", "--since"),
    ("orders", "list", "--status"),
    ("orders", "list", "--since"),
]


@pytest.mark.parametrize("command", FILTER_COMMANDS, ids=" ".join)
def test_hostile_filters_give_an_empty_result_or_a_clean_error(shop, cli, command):
    before = snapshot(shop)
    for value in SINCE_HOSTILE if command[-1] == "--since" else HOSTILE:
        empty_or_refused(cli, *command, value)
    assert snapshot(shop) == before


ID_COMMANDS = [
    ("events", "show"),
    ("dead-letters", "show"),
    ("orders", "show"),
    ("dead-letters", "replay"),
    ("dead-letters", "discard", "--note", "hostile"),
]


@pytest.mark.parametrize("command", ID_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_hostile_ids_are_refused_cleanly(shop, cli, command):
    before = snapshot(shop)
    group, verb, *options = command
    for value in ID_HOSTILE:
        result, _ = run_clean(cli, group, verb, value, *options, "--json")
        assert result.exit_code != EXIT_OK, (command, value)
    assert snapshot(shop) == before


def test_replay_all_with_hostile_filters_touches_nothing(shop, cli):
    before = snapshot(shop)
    for option in ("--topic", "--reason", "--since"):
        for value in SINCE_HOSTILE if option == "--since" else HOSTILE:
            result, document = run_clean(
                cli, "dead-letters", "replay", "--all", option, value, "--yes", "--json"
            )
            if result.exit_code == EXIT_OK:
                assert document["results"] == [], (option, value)
    assert snapshot(shop) == before


def test_a_hostile_discard_note_is_stored_as_text(shop, cli):
    before = snapshot(shop)
    note = "'); DROP TABLE webhook_dead_letter; --\x00" + "ñ" * 1000
    result, document = run_clean(cli, "dead-letters", "discard", "1", "--note", note, "--json")
    assert result.exit_code == EXIT_OK and document["note"] == note.strip()
    after = snapshot(shop)
    assert {t: c for t, (c, _) in after.items()} == {t: c for t, (c, _) in before.items()}


@pytest.mark.parametrize(
    "args",
    [
        ("events", "list", "--since", "9" * 30),
        ("dead-letters", "list", "--since", "99999999999d"),
        ("orders", "list", "--since", "9" * 30),
        ("events", "show", "9" * 30),
        ("dead-letters", "show", "9" * 30),
        ("dead-letters", "replay", "9" * 30),
        ("dead-letters", "discard", "9" * 30, "--note", "n"),
    ],
    ids=lambda a: " ".join(a[:3])[:40],
)
def test_numbers_too_big_for_a_date_or_an_integer_column_are_clean_errors(shop, cli, args):
    run_clean(cli, *args, "--json")


# -- ids into API URLs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "prefix"), [("payment", "/v1/payments/"), ("merchant-order", "/merchant_orders/")]
)
def test_mp_lookups_never_leave_their_resource_path(shop, cli, api_paths, command, prefix):
    for value in HOSTILE:
        if value in ("..", ".") or len(value) > 60_000:
            continue  # dot segments and a huge id have their own tests below
        # 69: the API answered 5xx (the sandbox does for a 5,000-digit id: int() refuses it)
        result, _ = run_clean(cli, "mp", command, value, "--json", also=API_DOWN)
        assert result.exit_code != EXIT_OK, value
    run_clean(cli, "mp", command, "123456789", "--json", also=API_DOWN)  # a real id goes out
    assert api_paths.paths, "the lookups never reached the API"
    for path in api_paths.paths:
        assert path.startswith(prefix) and "/" not in path[len(prefix) :], path


@pytest.mark.parametrize(
    ("command", "prefix"), [("payment", "/v1/payments/"), ("merchant-order", "/merchant_orders/")]
)
def test_mp_lookups_of_dot_segments_stay_in_their_resource_path(
    shop, cli, api_paths, command, prefix
):
    for value in ("..", "."):
        run_clean(cli, "mp", command, value, "--json")
    assert all(path.startswith(prefix) for path in api_paths.paths), api_paths.paths


@pytest.mark.parametrize("command", ["payment", "merchant-order"])
def test_mp_lookups_of_a_huge_id_are_a_clean_error(shop, cli, command):
    run_clean(cli, "mp", command, "x" * 100_000, "--json")


def test_mp_search_refuses_a_hostile_since(shop, cli, api_paths):
    for value in SINCE_HOSTILE:
        result, _ = run_clean(cli, "mp", "search", "--since", value, "--json")
        assert result.exit_code == EXIT_DATA, value
    assert api_paths.paths == []


def test_checkout_link_refuses_a_hostile_reference_before_calling_the_api(shop, cli, api_paths):
    before = snapshot(shop)
    for value in HOSTILE:
        result, _ = run_clean(
            cli, "checkout", "link", "--title", "Mate", "--amount", "10", "--currency", "ARS",
            "--reference", value, "--json",
        )  # fmt: skip
        assert result.exit_code == EXIT_DATA, value
    assert api_paths.paths == [] and snapshot(shop) == before


def test_a_hostile_title_is_kept_as_text(shop, cli):
    title = '"; DROP TABLE orders; -- ' + "ñ" * 200
    result, document = run_clean(
        cli, "checkout", "link", "--title", title, "--amount", "10", "--currency", "ARS", "--json"
    )
    assert result.exit_code == EXIT_OK
    store = open_store(DB)
    try:
        assert store.get_order(document["order_id"]).title == title
        assert store.info().row_counts["orders"] == 2
    finally:
        store.close()


def test_a_reference_with_a_trailing_newline_is_refused(shop, cli):
    result, _ = run_clean(
        cli, "checkout", "link", "--title", "Mate", "--amount", "10", "--currency", "ARS",
        "--reference", "ord-2\n", "--json",
    )  # fmt: skip
    assert result.exit_code == EXIT_DATA


@pytest.mark.parametrize("expires", ["99999999999999d", "3000000d"])
def test_checkout_link_refuses_an_expiry_past_what_a_date_holds(shop, cli, expires):
    result, _ = run_clean(
        cli, "checkout", "link", "--title", "Mate", "--amount", "10", "--currency", "ARS",
        "--expires", expires, "--json",
    )  # fmt: skip
    assert result.exit_code == EXIT_DATA


# -- hostile notifications into ingest --------------------------------------------------------

NOTIFICATION_FIELDS = ["id", "data.id", "type", "action", "user_id", "resource", "topic"]


def hostile_notification(field: str, value: str) -> dict:
    if field in ("resource", "topic"):
        base = {"topic": "merchant_order", "resource": "12345"}
    else:
        base = {"id": 77, "type": "payment", "action": "payment.updated", "data": {"id": "1"}}
    if field == "data.id":
        base["data"] = {"id": value}
    else:
        base[field] = value
    return base


def ingested(cli, shop: Path, source: Path) -> dict:
    """Ingest `source`; every input is either kept as an invalid dead letter or queued with a
    safe topic and id, and nothing else in the database moves."""
    before = snapshot(shop)
    result, summary = run_clean(cli, "ingest", str(source), "--json")
    assert summary["invalid"] + summary["queued"] + summary["duplicates"] == summary["received"]
    assert result.exit_code == (EXIT_DATA if summary["invalid"] else EXIT_OK)
    _, listed = run_clean(cli, "events", "list", "--limit", "10000", "--json")
    for event in listed["events"]:
        assert SAFE_NAME.fullmatch(event["topic"]), event
        assert event["resource_id"] is None or SAFE_ID.fullmatch(event["resource_id"]), event
    after = snapshot(shop)
    grown = {"webhook_dead_letter": summary["invalid"], "webhook_queue": summary["queued"]}
    for table, (count, digest) in after.items():
        if table == "sqlite_sequence":
            continue  # SQLite's own id bookkeeping: it moves with every insert
        if grown.get(table):
            assert count == before[table][0] + grown[table], table
        else:
            assert (count, digest) == before[table], table
    return summary


def test_ingest_keeps_notifications_carrying_hostile_ids_as_invalid(shop, cli, tmp_path):
    lines = [
        json.dumps(hostile_notification(field, value), ensure_ascii=False)
        for field in NOTIFICATION_FIELDS
        for value in HOSTILE
    ]
    source = tmp_path / "hostile.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = ingested(cli, shop, source)
    assert summary["received"] == len(lines)
    # Only an IPN resource URL ending in a plain id ("../../etc/passwd" -> "passwd") gets in.
    assert summary["invalid"] >= len(lines) - 2


def test_ingest_refuses_hostile_http_captures(shop, cli, tmp_path):
    values = [value for value in HOSTILE if not any(c.isspace() for c in value)]
    for index, value in enumerate(values):
        capture = (
            f"POST /webhooks/mercadopago?data.id={value}&type=payment HTTP/1.1\n"
            "Content-Type: application/json\n\n"
            + json.dumps({"id": index, "type": "payment", "data": {"id": value}})
        )
        (tmp_path / f"c{index}.http").write_text(capture)
    summary = ingested(cli, shop, tmp_path)
    assert summary["received"] == summary["invalid"] == len(values)


def test_ingest_of_oversized_and_deeply_nested_documents_keeps_them_as_invalid(shop, cli, tmp_path):
    pad = {"type": "payment", "data": {"id": "1"}, "pad": "x" * (300 * 1024)}
    (tmp_path / "big.json").write_text(json.dumps(pad))
    deep_lines = [
        '{"hello": "world"}',
        '{"type":"payment","data":' + "[" * 100_000 + "]" * 100_000 + "}",
        "[" * 100_000 + "]" * 100_000,
        '{"type":"payment","data":{"id":"1"},"x":' + '{"a":' * 50_000 + "1" + "}" * 50_000 + "}",
    ]
    (tmp_path / "deep.jsonl").write_text("\n".join(deep_lines) + "\n")
    pretty = '{\n  "type": "payment",\n  "data": ' + "[" * 100_000 + "]" * 100_000 + "\n}\n"
    (tmp_path / "deep-pretty.json").write_text(pretty)
    huge_id = '{"type":"payment","data":{"id":"1"},"id":' + "1" * 5000 + "}"
    (tmp_path / "huge-id.json").write_text(huge_id)
    summary = ingested(cli, shop, tmp_path)
    assert summary["queued"] == 0 and summary["invalid"] == summary["received"] >= 6


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_ingest_of_a_one_line_deeply_nested_document_keeps_it_as_invalid(
    shop, cli, tmp_path, opener
):
    closer = "]" if opener == "[" else "}"
    middle = "" if opener == "[" else "1"
    (tmp_path / "deep.json").write_text(
        '{"type":"payment","data":' + opener * 100_000 + middle + closer * 100_000 + "}"
    )
    result, summary = run_clean(cli, "ingest", str(tmp_path / "deep.json"), "--json")
    assert result.exit_code == EXIT_DATA and summary["invalid"] == 1


# -- hostile input into the server ------------------------------------------------------------


def signed_headers(data_id: str) -> dict[str, str]:
    return {
        "x-signature": sign(SECRET, data_id, "req-1", int(time.time() * 1000)),
        "x-request-id": "req-1",
    }


def test_the_server_refuses_oversized_and_deeply_nested_json_and_stays_up(start_server):
    url, ctx = start_server()
    path = ctx.settings.database.url
    with httpx.Client(timeout=10) as http:
        assert http.get(f"{url}/readyz").status_code == 200  # the store exists from here on
        post = lambda body, **kw: http.post(  # noqa: E731
            f"{url}/webhooks/mercadopago?data.id=1&type=payment",
            content=body,
            headers={"content-type": "application/json", **signed_headers("1"), **kw},
        )
        before = snapshot(Path(path))
        oversized = post(json.dumps({"type": "payment", "pad": "x" * (300 * 1024)}).encode())
        assert oversized.status_code == 413
        streamed = http.post(
            f"{url}/webhooks/mercadopago", content=iter([b"{" + b" " * 65536] * 8)
        )  # no content-length: the limit holds while reading
        assert streamed.status_code == 413
        kept = 0
        for body in (
            b'{"type":"payment","data":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            b'{"type":"payment","data":{"id":"1"},"x":'
            + b'{"a":' * 20_000
            + b"1"
            + b"}" * 20_000
            + b"}",
            b'{"type":"payment","data":{"id":"1"},"id":' + b"1" * 5000 + b"}",
            b'{"type":"payment","data":{"id":"1\'; DROP TABLE orders; --"}}',
        ):
            answer = post(body)
            assert answer.status_code == 400 and answer.json()["error"]["code"], body[:40]
            kept += 1
        cart = b'{"items":' + b"[" * 30_000 + b"]" * 30_000 + b"}"
        refused = http.post(f"{url}/api/checkout/create-preference", content=cart)
        assert refused.status_code == 400
        assert http.get(f"{url}/readyz").status_code == 200
    after = snapshot(Path(path))
    assert after.pop("webhook_dead_letter")[0] == before.pop("webhook_dead_letter")[0] + kept
    for table in ("orders", "webhook_queue", "payment_logs"):
        assert after[table] == before[table]
