"""A real `serve` process takes malformed raw traffic quietly: seeded requests over raw sockets on
127.0.0.1 (truncated bodies under a longer Content-Length, bad chunking, 6 KB signature headers,
random bytes, odd methods). No 5xx, no traceback in its log, and it still answers afterwards; a
client that went away is counted as a refusal of its own kind."""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.server.conftest import MONITOR, SECRET

SEED = 17
HOUR = timedelta(hours=1)
REQUESTS = 420
SOCKET_SECONDS = 3.0
TIME_LIMIT_SECONDS = 90.0
PATHS = [
    "/webhooks/mercadopago?data.id=1&type=payment",
    "/api/checkout/webhook?topic=payment&id=1",
    "/api/checkout/create-preference",
    "/api/webhooks/status",
    "/healthz",
    "/ui/",
    "/metrics",
    "/nowhere",
]
BODY_PATHS = PATHS[:3]
GOES_AWAY = {"truncated", "chunked"}
ODD_METHODS = ["PROPFIND", "BREW", "DELETE", "PATCH", "OPTIONS", "TRACE", "PUT", "HEAD", "M-SEARCH"]


def _raw(rng: random.Random, host: str) -> tuple[str, bytes]:
    """One malformed request: its kind, and the bytes sent before the socket is half-closed."""
    kind = rng.choice(["truncated", "chunked", "big_signature", "random", "odd_method"])
    path = rng.choice(BODY_PATHS if kind in ("truncated", "chunked") else PATHS)
    head = f"Host: {host}\r\nContent-Type: application/json\r\nConnection: close\r\n"
    body = json.dumps({"type": "payment", "data": {"id": str(rng.randrange(10**9))}}).encode()
    if kind == "truncated":
        cut = body[: rng.randrange(len(body))]
        declared = len(body) + rng.randrange(1, 5000)
        return (
            kind,
            f"POST {path} HTTP/1.1\r\n{head}Content-Length: {declared}\r\n\r\n".encode() + cut,
        )
    if kind == "chunked":
        chunks = rng.choice(
            [b"zz\r\nabc\r\n0\r\n\r\n", b"5\r\nab", b"ffffffffffff\r\nx", b"3\r\nabcdef"]
        )
        return (
            kind,
            f"POST {path} HTTP/1.1\r\n{head}Transfer-Encoding: chunked\r\n\r\n".encode() + chunks,
        )
    if kind == "big_signature":
        sig = "ts=1,v1=" + "".join(rng.choices("0123456789abcdef", k=6 * 1024))
        return kind, (
            f"POST {path} HTTP/1.1\r\n{head}x-signature: {sig}\r\nx-request-id: r\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
    if kind == "random":
        return kind, bytes(rng.randrange(256) for _ in range(rng.randrange(1, 2048)))
    method = rng.choice(ODD_METHODS)
    return kind, f"{method} {path} HTTP/1.1\r\n{head}Content-Length: 2\r\n\r\n{{}}".encode()


def _send(address: tuple[str, int], kind: str, payload: bytes) -> int | None:
    """Send one request and read the answer, if any; the HTTP status or None. A truncated body
    never completes: the client sends what it has and goes away, as a scanner does."""
    answer = b""
    with socket.create_connection(address, timeout=SOCKET_SECONDS) as sock:
        try:
            sock.sendall(payload)
            if kind in GOES_AWAY:
                return None
            while chunk := sock.recv(65536):
                answer += chunk
        except (ConnectionResetError, BrokenPipeError, TimeoutError):
            pass
    first = answer.split(b"\r\n", 1)[0].split()
    return int(first[1]) if len(first) > 1 and first[1].isdigit() else None


@pytest.fixture
def serve_process(tmp_path: Path, sandbox) -> Callable[[], tuple[str, subprocess.Popen]]:
    started: list[subprocess.Popen] = []

    def start() -> tuple[str, subprocess.Popen]:
        log = (tmp_path / "serve.log").open("w")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("MPCHECKOUT_")},
            "MPCHECKOUT_LOCALE": "en",
            "MPCHECKOUT_MERCADOPAGO__API_BASE": sandbox.url,
            "MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN": "TEST-sandbox-token-for-tests",
            "MPCHECKOUT_MERCADOPAGO__WEBHOOK_SECRETS": SECRET,
            "MPCHECKOUT_SERVER__MONITOR_TOKEN": MONITOR,
            "MPCHECKOUT_DATABASE__URL": str(tmp_path / "fuzzed.db"),
        }
        command = [sys.executable, "-m", "mpcheckout", "serve", "--host", "127.0.0.1"]
        process = subprocess.Popen(
            [*command, "--port", "0", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,  # a file: a pipe nobody drains would block the server once it fills
            text=True,
        )
        started.append(process)
        return json.loads(process.stdout.readline())["url"], process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_takes_seeded_malformed_raw_traffic_quietly(serve_process, tmp_path):
    url, process = serve_process()
    parts = urlsplit(url)
    address = (parts.hostname, parts.port)
    assert parts.hostname == "127.0.0.1"
    rng = random.Random(SEED)
    statuses: dict[str, list[int | None]] = {}
    deadline = time.monotonic() + TIME_LIMIT_SECONDS
    for _ in range(REQUESTS):
        assert time.monotonic() < deadline, "the fuzz run took too long"
        kind, payload = _raw(rng, parts.netloc)
        statuses.setdefault(kind, []).append(_send(address, kind, payload))
    with httpx.Client(timeout=10) as http:
        assert http.get(f"{url}/healthz").json() == {"status": "ok"}
        report = http.get(
            f"{url}/api/webhooks/status", headers={"authorization": f"Bearer {MONITOR}"}
        ).json()
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    log = (tmp_path / "serve.log").read_text()
    server_errors = {k: [s for s in v if s and s >= 500] for k, v in statuses.items()}
    assert not any(server_errors.values()), server_errors
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log[-3000:]
    assert "unexpected error" not in log, log[-3000:]
    assert report["queue"]["rejected_24h"].get("client_disconnected", 0) > 0, report
    assert sum(len(v) for v in statuses.values()) == REQUESTS
    assert {s for v in statuses.values() for s in v if s}, "no request got an answer at all"


@pytest.mark.parametrize("path", BODY_PATHS)
def test_a_client_hanging_up_mid_body_is_one_info_line_and_a_counted_refusal(
    start_server, caplog, path
):
    url, ctx = start_server()
    parts = urlsplit(url)
    caplog.set_level(logging.INFO, logger="mpcheckout")
    head = f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Length: 5000\r\n\r\n"
    _send((parts.hostname, parts.port), "truncated", head.encode() + b'{"type": "pay')
    deadline = time.monotonic() + 10
    while not _disconnects(ctx):
        assert time.monotonic() < deadline, "the disconnect was never counted"
        time.sleep(0.01)
    records = [r for r in caplog.records if r.name.startswith("mpcheckout")]
    assert [r.levelno for r in records] == [logging.INFO], [r.getMessage() for r in records]
    assert records[0].exc_info is None and path.split("?")[0] in records[0].getMessage()


def _disconnects(ctx) -> int:
    snapshot = ctx.store.queue_snapshot(ctx.clock.now(), ctx.clock.now() - HOUR, ctx.clock.now())
    return snapshot.rejections_since.get("client_disconnected", 0)
