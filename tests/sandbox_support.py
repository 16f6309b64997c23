"""Test support for anything that talks to the sandbox: a started sandbox, an HTTP client for it,
and a tiny webhook receiver on 127.0.0.1 that records what it gets.

Import the fixtures where they are needed (`from tests.sandbox_support import sandbox`), or
once in tests/conftest.py for every test.
"""

from __future__ import annotations

import functools
import json
import ssl
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from mpcheckout.sandbox.client import SandboxControl
from mpcheckout.sandbox.server import SandboxServer

SANDBOX_TOKEN = "TEST-sandbox-token-for-tests"
SANDBOX_SECRET = "sandbox-secret-for-tests"


def api_client(server: SandboxServer, token: str | None = SANDBOX_TOKEN, **kwargs: Any):
    """An httpx client on the sandbox, sending `Authorization: Bearer <token>` (None: none)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(
        base_url=server.url, headers=headers, timeout=5.0, verify=_tls_context(), **kwargs
    )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # The sandbox speaks plain HTTP, but httpx builds a TLS context per client (~50 ms) unless
    # it is given one.
    return ssl.create_default_context()


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    """A started sandbox (token SANDBOX_TOKEN, webhook secret SANDBOX_SECRET) in its just-started
    state: no payments, preferences, notifications or faults, real time, ids from the start.

    One server serves the whole test session and is reset before each test, because stopping
    uvicorn takes ~0.15 s (it polls for shutdown) and that adds up over hundreds of tests. It is
    stopped when the session ends. A test that needs other start options (token, seed file,
    faults) starts its own `SandboxServer` as a context manager."""
    server = _session_server(request.config)
    urllib.request.urlopen(
        urllib.request.Request(f"{server.url}/_sandbox/reset", method="POST"), timeout=5
    ).close()
    yield server


@pytest.fixture
def sandbox_control(sandbox: SandboxServer) -> Iterator[SandboxControl]:
    """The control API of the `sandbox` fixture's server: payments approved, refunds made
    outside the shop, chargebacks, merchant-order notifications, faults, the request log."""
    control = SandboxControl(sandbox.url, timeout=5.0)
    yield control
    control.close()


_shared: dict[str, SandboxServer] = {}


def _session_server(config: pytest.Config) -> SandboxServer:
    server = _shared.get("server")
    if server is None or not server.running:
        server = SandboxServer(access_token=SANDBOX_TOKEN, webhook_secret=SANDBOX_SECRET).start()
        _shared["server"] = server
        config.add_cleanup(server.stop)
    return server


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-cased names
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """Records every POST and answers `status` (200 unless a test changes it)."""

    def __init__(self) -> None:
        self.requests: list[ReceivedRequest] = []
        self.status = 200
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/webhooks/mercadopago"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                receiver.requests.append(
                    ReceivedRequest(
                        method="POST",
                        path=parts.path,
                        query=parts.query,
                        headers={name.lower(): value for name, value in self.headers.items()},
                        body=self.rfile.read(length).decode(),
                    )
                )
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        return Handler


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()
