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
    Raises InvalidFaultSpec or ConfigurationError before anything starts."""

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
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        """`http://127.0.0.1:54321` once started."""
        if self._socket is None:
            raise RuntimeError("the sandbox is not running")
        return f"http://{_url_host(self.host)}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> SandboxServer:
        self._socket = _bind(self.host, self.port)
        self.port = self._socket.getsockname()[1]
        self._server = uvicorn.Server(_uvicorn_config(self.context))
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"mpcheckout-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        self._wait_until_started()
        return self

    def _wait_until_started(self) -> None:
        assert self._server is not None and self._thread is not None
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ConfigurationError(
                    "error.sandbox_cannot_listen",
                    host=self.host,
                    port=self.port,
                    reason="the server did not start",
                )
            time.sleep(0.005)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=START_TIMEOUT_SECONDS)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

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
    )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto
    # says TCP, and without it every answer (headers, then body) waits 40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ConfigurationError(
            "error.sandbox_cannot_listen", host=host, port=port, reason=exc.strerror or str(exc)
        ) from None
    return sock


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
