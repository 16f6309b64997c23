"""Serving the app: in the foreground with N worker processes (`mpcheckout serve`), or in a
background thread (tests, benchmarks). uvicorn with uvloop and httptools when installed."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.supervisors import Multiprocess

from ..errors import ConfigurationError
from ..http_runner import BackgroundServer, bind_socket, url_for
from .app import build_app
from .context import CONTEXT_ENV, ServeOptions, ServerContext

GRACEFUL_SHUTDOWN_SECONDS = 20


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """uvicorn re-raises SIGINT/SIGTERM once its graceful shutdown is done, so the process
        would end "killed by signal"; a clean stop exits 0 for cron, systemd and scripts."""
        signals = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in signals}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _fast(module: str, fallback: str) -> str:
    return module if importlib.util.find_spec(module) else fallback


def _config(app: str | Starlette, **options: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        loop=_fast("uvloop", "asyncio"),
        http=_fast("httptools", "h11"),
        ws="none",
        access_log=False,  # request lines carry query strings; refusals are logged by us
        # uvicorn would believe X-Forwarded-For from any loopback peer; server.trusted_proxies
        # decides that instead (clientip.py), so a caller cannot choose its own address.
        proxy_headers=False,
        server_header=False,
        log_config=None,
        log_level="warning",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        **options,
    )


def listen(host: str, port: int) -> socket.socket:
    try:
        return bind_socket(host, port)
    except OSError as exc:
        raise ConfigurationError(
            "error.cannot_listen", host=host, port=port, reason=exc.strerror or str(exc)
        ) from None


def serve_forever(
    options: ServeOptions, host: str, port: int, workers: int, on_ready: Callable[[str], None]
) -> None:
    """Run until SIGINT/SIGTERM; uvicorn finishes in-flight requests (and the processor
    thread its events) before exiting."""
    sock = listen(host, port)
    os.environ[CONTEXT_ENV] = options.to_env()  # read by each worker's create_app()
    config = _config("mpcheckout.server.app:create_app", factory=True, workers=workers)
    on_ready(url_for(host, sock.getsockname()[1]))
    server = _Server(config)
    if workers > 1:
        Multiprocess(config, sockets=[sock]).run()
    else:
        server.run(sockets=[sock])


def start_in_background(
    ctx: ServerContext, host: str = "127.0.0.1", port: int = 0
) -> tuple[BackgroundServer, str]:
    sock = listen(host, port)
    runner = BackgroundServer(_config(build_app(ctx), lifespan="on"), sock, "mpcheckout-serve")
    if not runner.start():
        raise ConfigurationError(
            "error.cannot_listen", host=host, port=port, reason="the server did not start"
        )
    return runner, url_for(host, sock.getsockname()[1])
