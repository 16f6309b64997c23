"""Running the sandbox: uvicorn in a background thread on 127.0.0.1 (tests, the demo), or in the
foreground until Ctrl-C / SIGTERM (`mpcheckout sandbox serve`).

The runner binds the socket itself, so port 0 gets a free port and `.url` is known before the
first request. uvicorn's access log stays off: it is the one place a request line could leak,
and a sandbox serving thousands of search pages has nothing to say per request.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from ..errors import ConfigurationError
from ..http_runner import BackgroundServer, bind_socket, url_for
from .app import build_app
from .connection import DroppableH11Protocol
from .context import SandboxContext
from .faults import parse_fault_rule
from .seed import load_seed_file

DEFAULT_ACCESS_TOKEN = "TEST-sandbox"
DEFAULT_WEBHOOK_SECRET = "sandbox-webhook-secret"
START_TIMEOUT_SECONDS = 10.0
# A request hung by a timeout fault must not hold up stop() for its full hang.
GRACEFUL_SHUTDOWN_SECONDS = 1


def time_based_id_offset() -> int:
    """Ids that do not repeat across restarts: the start time in microseconds, so a run would
    need over a million payments per second between two starts to meet the next one's ids.
    (Still below 2**53, so JavaScript clients read them exactly.)"""
    return int(time.time() * 1_000_000)


class SandboxServer:
    """A sandbox on `host:port` (port 0: any free port), usable as a context manager.

    `faults` takes rules in the POST /_sandbox/faults shape; `seed_file` a JSON seed (seed.py).
    Raises InvalidFaultSpecError or ConfigurationError before anything starts."""

    def __init__(
        self,
        access_token: str = DEFAULT_ACCESS_TOKEN,
        webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed_file: str | Path | None = None,
        faults: Iterable[Mapping[str, Any]] = (),
        id_offset: int = 0,
    ) -> None:
        self.context = SandboxContext(access_token, webhook_secret, id_offset)
        for spec in faults:
            self.context.faults.add(parse_fault_rule(spec))
        if seed_file is not None:
            load_seed_file(Path(seed_file), self.context)
        self.host = host
        self.port = port
        self._runner: BackgroundServer | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        """`http://127.0.0.1:54321` once started."""
        if self._socket is None:
            raise RuntimeError("the sandbox is not running")
        return url_for(self.host, self.port)

    @property
    def running(self) -> bool:
        return self._runner is not None and self._runner.running

    def start(self) -> SandboxServer:
        try:
            self._socket = bind_socket(self.host, self.port, backlog=128)
        except OSError as exc:
            raise ConfigurationError(
                "error.sandbox_cannot_listen",
                host=self.host,
                port=self.port,
                reason=exc.strerror or str(exc),
            ) from None
        self.port = self._socket.getsockname()[1]
        self._runner = BackgroundServer(
            _uvicorn_config(self.context), self._socket, f"mpcheckout-sandbox-{self.port}"
        )
        if not self._runner.start():
            self._socket = self._runner = None
            raise ConfigurationError(
                "error.sandbox_cannot_listen",
                host=self.host,
                port=self.port,
                reason="the server did not start",
            )
        return self

    def stop(self) -> None:
        if self._runner is not None:
            self._runner.stop()
        self._runner = self._socket = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve_until_stopped(server: SandboxServer, on_ready: Callable[[str], None]) -> None:
    """Run in the foreground: start, call `on_ready(url)`, stop cleanly on SIGINT or SIGTERM.
    Must run in the main thread (only it can receive signals)."""
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop_requested.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with server:
            on_ready(server.url)
            stop_requested.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _uvicorn_config(context: SandboxContext) -> uvicorn.Config:
    return uvicorn.Config(
        build_app(context),
        http=DroppableH11Protocol,
        ws="none",
        lifespan="off",
        access_log=False,
        log_config=None,  # leave the host process's logging alone
        log_level="warning",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        date_header=False,  # account.with_clock_date sends the sandbox clock's
    )
