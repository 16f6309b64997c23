"""Security against the running server and the CLI: forged and replayed signatures, monitoring
tokens, the IP allowlist behind (and not behind) a proxy, rate limits shared by workers, secrets
that must never be shown, logged or stored, and the database file's mode."""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import typer.main
import typer.testing
from hypothesis import given, settings
from hypothesis import strategies as st

import mpcheckout.cli as mpcheckout_cli
from mpcheckout.config import mask_secret
from mpcheckout.signature import sign
from mpcheckout.store.base import EventFilter
from tests.reliability.conftest import scale
from tests.sandbox_support import SANDBOX_TOKEN, WebhookReceiver
from tests.server import conftest as server_fixtures
from tests.server.conftest import MONITOR, SECRET

start_server = server_fixtures.start_server  # the fixture tests/server uses
http = server_fixtures.http

BODY = {"id": 9001, "type": "payment", "action": "payment.updated", "data": {"id": "1234567"}}
WEBHOOK = "/webhooks/mercadopago"
MONITORING = [("GET", "/api/webhooks/status"), ("POST", "/api/webhooks/process-queue")]
MONITORING += [("POST", "/api/webhooks/reconcile")]


def now_ms() -> int:
    return int(time.time() * 1000)


def signature(data_id="1234567", request_id="req-1", secret=SECRET, ts=None) -> str:
    return sign(secret, data_id, request_id, now_ms() if ts is None else ts)


def digest_of(header: str) -> str:
    return header.split("v1=")[1]


def deliver(http, url, headers, data_id="1234567", body_id="1234567", notification_id=9001):
    body = {**BODY, "id": notification_id, "data": {"id": body_id}}
    return http.post(
        f"{url}{WEBHOOK}?data.id={data_id}&type=payment",
        content=json.dumps(body),
        headers=[("content-type", "application/json"), *headers],
    )


def queued(ctx) -> int:
    return ctx.store.info().row_counts["webhook_queue"]


# -- signatures -------------------------------------------------------------------------------


def forgeries() -> dict[str, list[tuple[str, str]]]:
    """Requests for data.id 1234567 that must all be refused, each named for its trick."""
    good = signature()
    digest, ts = digest_of(good), str(now_ms())
    rid = [("x-request-id", "req-1")]
    return {
        "no x-signature": rid,
        "empty x-signature": [("x-signature", ""), *rid],
        "ts only": [("x-signature", f"ts={ts}"), *rid],
        "v1 only": [("x-signature", f"v1={digest}"), *rid],
        "v1 twice, forged first": [("x-signature", f"ts={ts},v1={'0' * 64},v1={digest}"), *rid],
        "v1 twice, forged last": [("x-signature", f"ts={ts},v1={digest},v1={'0' * 64}"), *rid],
        "ts twice": [("x-signature", f"ts={ts},ts=1,v1={digest}"), *rid],
        "two x-signature headers": [("x-signature", good), ("x-signature", "ts=1,v1=0"), *rid],
        "v2 instead of v1": [("x-signature", f"ts={ts},v2={digest}"), *rid],
        "v0 instead of v1": [("x-signature", f"ts={ts},v0={digest}"), *rid],
        "v1 and an unknown v2": [("x-signature", f"{good},v2={digest}"), *rid],
        "an extra part": [("x-signature", f"{good},alg=none"), *rid],
        "V1 shadowing a forged v1": [("x-signature", f"ts={ts},v1={'0' * 64},V1={digest}"), *rid],
        "TS shadowing the ts": [("x-signature", f"{good},TS=1"), *rid],
        "upper-case hex": [("x-signature", f"ts={ts},v1={digest.upper()}"), *rid],
        "truncated hex": [("x-signature", f"ts={ts},v1={digest[:-1]}"), *rid],
        "non-ASCII hex": [("x-signature", f"ts={ts},v1=" + "\xe9" * 64), *rid],
        "non-ASCII digits in ts": [("x-signature", f"ts=\xb2\xb3,v1={digest}"), *rid],
        "stale ts": [("x-signature", signature(ts=now_ms() - 3_600_000)), *rid],
        "future ts": [("x-signature", signature(ts=now_ms() + 3_600_000)), *rid],
        "stale ts in seconds": [("x-signature", signature(ts=int(time.time()) - 3600)), *rid],
        "replayed with another request id": [("x-signature", good), ("x-request-id", "req-2")],
        "replayed without the request id": [("x-signature", good)],
        "signed by another secret": [("x-signature", signature(secret="not-ours")), *rid],
        "signed with an empty secret": [("x-signature", signature(secret="")), *rid],
        "signed for another data.id": [("x-signature", signature(data_id="7654321")), *rid],
        "signed for the upper-cased id": [("x-signature", signature(data_id="1234567A")), *rid],
    }


def encoded(headers: list[tuple[str, str]]) -> list[tuple[str, bytes]]:
    return [(name, value.encode("latin-1")) for name, value in headers]


NO_BAD_SIGNATURE_LIMIT = {"bad_signature": {"limit": 100_000, "window_seconds": 60}}


def test_signature_bypass_attempts_are_refused_and_nothing_is_queued(start_server, http):
    url, ctx = start_server(
        **{
            "mercadopago.signature_tolerance_seconds": 300,
            "server.rate_limits": NO_BAD_SIGNATURE_LIMIT,  # every attempt meets the verifier
        }
    )
    answers = {
        trick: deliver(http, url, encoded(headers)) for trick, headers in forgeries().items()
    }
    wrong = {trick: a.status_code for trick, a in answers.items() if a.status_code != 401}
    assert wrong == {}
    assert all(a.json()["error"]["code"] == "invalid_signature" for a in answers.values())
    assert queued(ctx) == 0
    # the same server does accept the real thing, in ms and in seconds
    assert deliver(http, url, [("x-signature", signature()), ("x-request-id", "req-1")]).is_success
    seconds = signature(ts=int(time.time()), request_id="req-s")
    assert deliver(http, url, [("x-signature", seconds), ("x-request-id", "req-s")]).is_success
    assert queued(ctx) == 1  # the second is the same notification: a duplicate


def test_a_valid_signature_moved_to_another_resource_is_refused(start_server, http):
    url, ctx = start_server()
    headers = [("x-signature", signature("1234567")), ("x-request-id", "req-1")]
    # signed for the body's data.id, another one in the (signed) query string
    assert deliver(http, url, headers, data_id="7654321").status_code in (400, 401)
    # a second data.id appended to a signed query string
    appended = deliver(http, url, headers, data_id="1234567&data.id=7654321", body_id="7654321")
    assert appended.status_code == 400 and queued(ctx) == 0
    # signed for the query's data.id, another resource in the body: only the signed one counts
    moved = deliver(http, url, headers, data_id="1234567", body_id="7654321")
    assert moved.status_code == 200 and queued(ctx) == 1
    assert [e.resource_id for e in ctx.store.list_events(EventFilter(limit=5))] == ["1234567"]
    # a lower-case data.id signed upper-case is another id
    upper = [("x-signature", signature("ORD01ABC")), ("x-request-id", "req-1")]
    assert deliver(http, url, upper, data_id="ord01abc", body_id="ord01abc").status_code == 401
    assert queued(ctx) == 1
    # (the other way round is Mercado Pago's documented lower-cased manifest: accepted)
    lower = [("x-signature", signature("ord01abc")), ("x-request-id", "req-1")]
    assert deliver(http, url, lower, data_id="ORD01ABC", body_id="ORD01ABC").status_code == 200


@pytest.mark.parametrize("blank", ["", " "])
def test_a_blank_configured_secret_lets_nothing_in(start_server, http, blank):
    url, ctx = start_server(**{"mercadopago.webhook_secrets": [blank]})
    signed_by_anyone = [("x-signature", signature(secret=blank)), ("x-request-id", "req-1")]
    assert deliver(http, url, signed_by_anyone).status_code == 401
    assert deliver(http, url, [("x-request-id", "req-1")]).status_code == 401
    assert queued(ctx) == 0


# -- monitoring -------------------------------------------------------------------------------


def call(http, url, method, path, headers=None):
    return http.request(method, f"{url}{path}", headers=headers or {})


@pytest.mark.parametrize(("method", "path"), MONITORING, ids=[p for _, p in MONITORING])
def test_monitoring_needs_exactly_the_right_bearer_token(start_server, http, method, path):
    url, _ = start_server()
    refused = [
        {},
        {"authorization": "Bearer"},
        {"authorization": "Bearer wrong"},
        {"authorization": f"Bearer {MONITOR[:-1]}"},
        {"authorization": f"Bearer {MONITOR}x"},
        {"authorization": f"Bearer {MONITOR.upper()}"},
        {"authorization": f"Basic {MONITOR}"},
        {"authorization": MONITOR},
        {"x-api-key": MONITOR},
        {"cookie": f"token={MONITOR}"},
    ]
    for headers in refused:
        answer = call(http, url, method, path, headers)
        assert answer.status_code == 401, headers
        assert answer.headers["www-authenticate"] == "Bearer"
        assert MONITOR not in answer.text
    leaked = call(http, url, method, f"{path}?token={MONITOR}&access_token={MONITOR}")
    assert leaked.status_code == 401
    for scheme in ("Bearer", "bearer", "BEARER"):
        right = call(http, url, method, path, {"authorization": f"{scheme} {MONITOR}"})
        assert right.status_code == 200, scheme


@pytest.mark.parametrize("token", [None, "", "   "], ids=["unset", "empty", "blank"])
def test_monitoring_is_absent_without_a_token(start_server, http, token):
    url, _ = start_server(**{"server.monitor_token": token})
    for method, path in MONITORING:
        for headers in ({}, {"authorization": "Bearer"}, {"authorization": f"Bearer {MONITOR}"}):
            assert call(http, url, method, path, headers).status_code == 404, (path, headers)
    assert call(http, url, "GET", "/healthz").status_code == 200  # probes need no token


# -- the IP allowlist -------------------------------------------------------------------------

SIGNED = [("x-signature", signature()), ("x-request-id", "req-1")]


def test_the_allowlist_ignores_forwarding_headers_from_an_untrusted_peer(start_server, http):
    url, ctx = start_server(**{"server.ip_allowlist": ["10.0.0.0/8"]})
    spoofs = [
        [("x-forwarded-for", "10.1.2.3")],
        [("x-forwarded-for", "10.1.2.3, 10.4.5.6")],
        [("x-forwarded-for", "127.0.0.1"), ("x-forwarded-for", "10.1.2.3")],
        [("x-real-ip", "10.1.2.3")],
        [("forwarded", "for=10.1.2.3")],
        [("x-client-ip", "10.1.2.3"), ("true-client-ip", "10.1.2.3")],
    ]
    for spoof in spoofs:
        answer = deliver(http, url, SIGNED + spoof)
        assert answer.status_code == 403, spoof
        assert answer.json()["error"]["code"] == "forbidden"
    assert queued(ctx) == 0


def test_the_allowlist_behind_a_trusted_proxy_reads_the_proxys_hop(start_server, http):
    url, ctx = start_server(
        **{"server.ip_allowlist": ["10.0.0.0/8"], "server.trusted_proxies": ["127.0.0.1/32"]}
    )
    cases = {
        "10.1.2.3": 200,  # the proxy saw an allowed client
        "203.0.113.5, 10.1.2.3": 200,  # the client's own claim (left) is ignored either way
        "10.1.2.3, 203.0.113.5": 403,  # the proxy saw an outsider who claimed to be inside
        "10.1.2.3, 127.0.0.1": 200,  # a second trusted hop
        "not-an-address": 403,  # a mangled chain proves nothing: the peer (127.0.0.1) it is
        "10.1.2.3, not-an-address": 403,
        "::ffff:10.1.2.3": 403,  # IPv4-mapped IPv6 is another address, not 10.1.2.3
    }
    got = {}
    for number, (chain, _) in enumerate(cases.items()):
        got[chain] = deliver(
            http, url, [*SIGNED, ("x-forwarded-for", chain)], notification_id=number
        ).status_code
    assert got == cases
    assert queued(ctx) == sum(1 for code in cases.values() if code == 200)


# -- rate limits across workers ---------------------------------------------------------------

CART = {"items": [{"title": "Mate", "unit_price": "10.00", "currency": "ARS"}]}


def test_two_workers_share_one_create_preference_budget_whatever_the_client_claims(
    start_server, http
):
    limits = {"server.rate_limits": {"create_preference": {"limit": 3, "window_seconds": 900}}}
    first, _ = start_server(**limits)
    second, _ = start_server(**limits)
    codes = [
        http.post(
            f"{url}/api/checkout/create-preference",
            json=CART,
            headers={"x-forwarded-for": f"198.51.100.{n}", "x-real-ip": f"192.0.2.{n}"},
        ).status_code
        for n, url in enumerate([first, second] * 3)
    ]
    assert codes == [200, 200, 200, 429, 429, 429]


def test_two_workers_share_one_bad_signature_budget_whatever_the_client_claims(start_server, http):
    limits = {"server.rate_limits": {"bad_signature": {"limit": 3, "window_seconds": 60}}}
    first, first_ctx = start_server(**limits)
    second, _ = start_server(**limits)
    forged = [("x-signature", signature(secret="guess")), ("x-request-id", "req-1")]
    codes = [
        deliver(http, url, [*forged, ("x-forwarded-for", f"203.0.113.{n}")]).status_code
        for n, url in enumerate([first, second] * 3)
    ]
    assert codes == [401, 401, 401, 429, 429, 429]
    # and the budget is for bad signatures only: a real notification still gets in
    assert deliver(http, second, SIGNED).status_code == 200 and queued(first_ctx) == 1


def test_behind_a_trusted_proxy_rotating_the_claimed_client_gets_no_fresh_budget(
    start_server, http
):
    overrides = {
        "server.trusted_proxies": ["127.0.0.1/32"],
        "server.rate_limits": {"create_preference": {"limit": 2, "window_seconds": 900}},
    }
    first, _ = start_server(**overrides)
    second, _ = start_server(**overrides)
    codes = [
        http.post(
            f"{url}/api/checkout/create-preference",
            json=CART,
            headers={"x-forwarded-for": f"10.0.0.{n}, 198.51.100.7"},  # the proxy's hop: .7
        ).status_code
        for n, url in enumerate([first, second, first, second])
    ]
    assert codes == [200, 200, 429, 429]


# -- secrets ----------------------------------------------------------------------------------

ALERT_PATH = "/hooks/T0000/B0000/alert-path-secret-5e6f7a8b"


@pytest.fixture
def alert_receiver():
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


def secrets_of(alert_url: str) -> dict[str, str]:
    return {
        "access token": SANDBOX_TOKEN,
        "webhook secret": SECRET,
        "monitor token": MONITOR,
        "alert webhook url": alert_url,
        "alert url path": ALERT_PATH,
    }


def assert_no_secret(text: str, secrets: dict[str, str], where: str) -> None:
    found = [name for name, secret in secrets.items() if secret in text]
    assert not found, f"{found} in {where}"


def hostile_traffic(http, url: str) -> None:
    """Requests that put the secrets where a careless server would log or store them."""
    carriers = [
        ("authorization", f"Bearer {SANDBOX_TOKEN}"),
        ("proxy-authorization", f"Basic {MONITOR}"),
        ("cookie", f"session={MONITOR}"),
        ("x-api-key", SECRET),
    ]
    deliver(http, url, [*SIGNED, *carriers])  # queued, headers kept
    http.post(f"{url}{WEBHOOK}", content=b'{"type": "payment", "data": {', headers=carriers)
    deliver(http, url, [("x-signature", signature(secret="guess")), *carriers])  # refused
    for method, path in MONITORING:
        call(http, url, method, path, {"authorization": f"Bearer {MONITOR}"})
        call(http, url, method, path, {"authorization": f"Bearer {SECRET}"})
    http.post(f"{url}/api/checkout/create-preference", json=CART)
    http.post(f"{url}/api/checkout/create-preference", content=b"{nope")


def stored_text(database: Path) -> str:
    """Every value of every row, and the raw bytes of the files, as text."""
    conn = sqlite3.connect(database)
    try:
        rows = [
            repr(conn.execute(f'SELECT * FROM "{table}"').fetchall())
            for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        headers = [
            value
            for sql in (
                "SELECT headers FROM webhook_queue",
                "SELECT headers FROM webhook_dead_letter",
            )
            for (value,) in conn.execute(sql)
        ]
    finally:
        conn.close()
    assert len(headers) >= 2  # the queued notification and the kept invalid one
    files = "".join(
        Path(f"{database}{suffix}").read_bytes().decode("latin-1")
        for suffix in ("", "-wal")
        if Path(f"{database}{suffix}").exists()
    )
    return "\n".join([*rows, *headers, files])


@pytest.fixture
def cli(cli, monkeypatch):
    """tests/conftest.py's CLI, with Typer's command tree built once instead of per call."""
    command = typer.main.get_command(mpcheckout_cli.app)
    monkeypatch.setattr(typer.testing, "_get_command", lambda app: command)
    return cli


def test_secrets_never_reach_logs_stored_headers_or_answers(start_server, http, caplog):
    caplog.set_level(logging.DEBUG)
    # Alerts fire on the monitoring reconcile and cannot be delivered (nothing listens on port
    # 9): the failure is logged, the URL must not be. (A delivered one: the test below.)
    alert_url = f"http://127.0.0.1:9{ALERT_PATH}"
    secrets = secrets_of(alert_url)
    url, ctx = start_server(**{"alerts.webhook_url": alert_url})
    answers = []
    original = http.request

    def recording(*args, **kwargs):
        answers.append(original(*args, **kwargs))
        return answers[-1]

    http.request = recording
    hostile_traffic(http, url)
    assert len(answers) >= 10 and {401, 400, 200} <= {a.status_code for a in answers}
    for answer in answers:
        assert_no_secret(answer.text + str(answer.headers), secrets, f"answer {answer.url}")
    assert_no_secret(stored_text(Path(ctx.settings.database.url)), secrets, "the database")
    assert any(r.name == "mpcheckout.alerts" for r in caplog.records)  # an alert was tried
    assert_no_secret(caplog.text, secrets, "the log")
    for record in caplog.records:
        assert_no_secret(record.getMessage() + repr(record.args), secrets, "a log record")


def test_the_alert_webhook_url_never_reaches_the_log(
    workdir, cli, caplog, alert_receiver, monkeypatch
):
    caplog.set_level(logging.DEBUG)
    alert_url = alert_receiver.url.replace("/webhooks/mercadopago", ALERT_PATH)
    monkeypatch.setenv("MPCHECKOUT_ALERTS__WEBHOOK_URL", alert_url)
    result = cli("alerts", "test", "--json")
    assert result.exit_code == 0 and len(alert_receiver.requests) == 1
    assert ALERT_PATH not in caplog.text


def test_an_unparseable_http_capture_keeps_no_authorization_header(workdir, cli, tmp_path):
    capture = (
        "POST /webhooks/mercadopago?data.id=1&type=payment HTTP/1.1\n"
        f"Authorization: Bearer {SANDBOX_TOKEN}\n"
        f"Cookie: session={MONITOR}\n"
        "Content-Type: application/json\n\n"
        '{"type": "payment", "data": {"id": "not an id"}}'
    )
    (tmp_path / "capture.http").write_text(capture)
    assert cli("ingest", str(tmp_path / "capture.http")).exit_code == 65
    shown = cli("dead-letters", "show", "1", "--json").stdout
    assert SANDBOX_TOKEN not in shown and MONITOR not in shown


def test_a_parseable_http_capture_keeps_no_authorization_header(workdir, cli, tmp_path):
    capture = (
        "POST /webhooks/mercadopago?data.id=1&type=payment HTTP/1.1\n"
        f"Authorization: Bearer {SANDBOX_TOKEN}\n"
        f"Cookie: session={MONITOR}\n"
        "Content-Type: application/json\n\n"
        '{"id": 5, "type": "payment", "data": {"id": "1"}}'
    )
    (tmp_path / "capture.http").write_text(capture)
    assert cli("ingest", str(tmp_path / "capture.http")).exit_code == 0
    shown = cli("events", "show", "1", "--json")
    assert shown.exit_code == 0 and json.loads(shown.stdout)["headers"][":query"]
    assert SANDBOX_TOKEN not in shown.stdout and MONITOR not in shown.stdout


def secret_env(monkeypatch, api_base: str, alert_url: str) -> None:
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN", SANDBOX_TOKEN)
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__API_BASE", api_base)
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__MAX_RETRIES", "0")
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__WEBHOOK_SECRETS", f"{SECRET},s3cr3t-t0k3n")
    monkeypatch.setenv("MPCHECKOUT_SERVER__MONITOR_TOKEN", MONITOR)
    monkeypatch.setenv("MPCHECKOUT_ALERTS__WEBHOOK_URL", alert_url)


def test_config_show_masks_every_secret(workdir, cli, monkeypatch, sandbox):
    alert_url = f"https://hooks.example.com{ALERT_PATH}"
    secret_env(monkeypatch, sandbox.url, alert_url)
    monkeypatch.setenv("MPCHECKOUT_DATABASE__URL", "postgresql://shop:pg-pass-4d5e6f@db/shop")
    secrets = {**secrets_of(alert_url), "second webhook secret": "s3cr3t-t0k3n"}
    secrets["database password"] = "pg-pass-4d5e6f"
    table = cli("config", "show")
    as_json = cli("config", "show", "--json")
    assert table.exit_code == as_json.exit_code == 0
    assert_no_secret(table.stdout + table.stderr, secrets, "config show")
    assert_no_secret(as_json.stdout + as_json.stderr, secrets, "config show --json")
    shown = {row["key"]: row["value"] for row in json.loads(as_json.stdout)["settings"]}
    masked = [
        (SANDBOX_TOKEN, shown["mercadopago.access_token"]),
        (SECRET, shown["mercadopago.webhook_secrets"][0]),
        ("s3cr3t-t0k3n", shown["mercadopago.webhook_secrets"][1]),
        (MONITOR, shown["server.monitor_token"]),
        (alert_url, shown["alerts.webhook_url"]),
    ]
    for secret, display in masked:
        revealed = display.replace("…", "")
        assert len(revealed) < len(secret) / 2, (display, secret)


@settings(max_examples=scale(200, 5000), deadline=None, database=None)
@given(st.text(min_size=1, max_size=80))
def test_a_masked_secret_reveals_less_than_half_of_it(secret):
    shown = mask_secret(secret)
    assert "…" in shown
    assert len(shown.replace("…", "")) < len(secret) / 2 or len(shown.replace("…", "")) == 0
    if len(secret) >= 4:
        assert secret not in shown


def test_debug_output_shows_no_secret(workdir, cli, monkeypatch, sandbox, alert_receiver, caplog):
    caplog.set_level(logging.DEBUG)
    alert_url = alert_receiver.url.replace("/webhooks/mercadopago", ALERT_PATH)
    secret_env(monkeypatch, sandbox.url, alert_url)
    secrets = secrets_of(alert_url)
    outputs = []
    commands = [
        ("config", "show"),
        ("mp", "payment", "999999"),  # 404 from the API
        ("mp", "search", "--since", "1h"),
        ("events", "list", "--since", "9" * 30),  # an internal error: a traceback
        ("reconcile", "--json"),
        ("process", "--once"),
        ("status", "--json"),
    ]
    for command in commands:
        result = cli("--debug", *command)
        outputs.append((command, result.exit_code, result.stdout + result.stderr))
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN", "TEST-wrong-token-0000")
    denied = cli("--debug", "mp", "payment", "1")  # 401 from the API: an error about the token
    outputs.append((("mp", "payment", "wrong token"), denied.exit_code, denied.stderr))
    monkeypatch.setenv("MPCHECKOUT_ALERTS__WEBHOOK_URL", alert_url.replace("127.0.0.1", "[::1]"))
    unreachable = cli("--debug", "alerts", "test")
    shown = unreachable.stdout + unreachable.stderr
    outputs.append((("alerts", "test"), unreachable.exit_code, shown))
    assert any("Traceback" in text for _, _, text in outputs)  # --debug did show tracebacks
    assert {code for _, code, _ in outputs} - {0}, outputs  # and errors were exercised
    for command, _, text in outputs:
        assert_no_secret(text, {**secrets, "wrong token": "TEST-wrong-token-0000"}, str(command))
    # httpx's own records: test_the_alert_webhook_url_never_reaches_the_log; the rest must be clean
    log = "\n".join(r.getMessage() for r in caplog.records if r.name != "httpx")
    assert_no_secret(log, {**secrets, "wrong token": "TEST-wrong-token-0000"}, "the log")


def test_the_server_process_stderr_shows_no_secret(workdir, sandbox, tmp_path):
    alert_url = f"https://hooks.example.com{ALERT_PATH}"
    env = {
        **os.environ,
        "MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN": SANDBOX_TOKEN,
        "MPCHECKOUT_MERCADOPAGO__API_BASE": sandbox.url,
        "MPCHECKOUT_MERCADOPAGO__WEBHOOK_SECRETS": SECRET,
        "MPCHECKOUT_SERVER__MONITOR_TOKEN": MONITOR,
        "MPCHECKOUT_ALERTS__WEBHOOK_URL": alert_url,
        "MPCHECKOUT_DATABASE__URL": str(tmp_path / "served.db"),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "mpcheckout", "--debug", "serve", "--port", "0", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = json.loads(process.stdout.readline())["url"]
        with httpx.Client(timeout=10) as client:
            hostile_traffic(client, url)
            assert client.get(f"{url}/readyz").status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "webhook refused" in stderr  # the refusals were logged, and that log is clean
    assert_no_secret(stdout + stderr, secrets_of(alert_url), "serve's output")


# -- the database file ------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask():
    """A umask that would leave files world-readable, so that 0600 is the code's doing."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_the_database_and_its_wal_files_are_private(
    permissive_umask, start_server, http, tmp_path, workdir, cli
):
    url, ctx = start_server()
    assert deliver(http, url, SIGNED).status_code == 200
    database = Path(ctx.settings.database.url)
    files = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
    assert all(path.exists() for path in files)  # the server holds the database open
    assert {str(path): mode(path) for path in files} == {str(path): 0o600 for path in files}
    assert cli("db", "upgrade").exit_code == 0  # the CLI creates its own database
    assert mode(workdir / "mpcheckout.db") == 0o600
    for suffix in ("-wal", "-shm"):
        sidecar = workdir / f"mpcheckout.db{suffix}"
        assert not sidecar.exists() or mode(sidecar) == 0o600
