"""Running an ASGI app with uvicorn on a socket we bind ourselves: the sandbox and `serve` both
need port 0 (a free port, known before the first request) and a clean stop from a thread."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

START_TIMEOUT_SECONDS = 10.0


def bind_socket(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """Raises OSError when the address cannot be had."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto
    # says TCP, and without it every answer (headers, then body) waits 40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


def url_for(host: str, port: int) -> str:
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


class BackgroundServer:
    """uvicorn serving `config` on an already bound socket, in a daemon thread."""

    def __init__(self, config: uvicorn.Config, sock: socket.socket, name: str) -> None:
        self._server = uvicorn.Server(config)
        self._socket = sock
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=name, daemon=True
        )

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> bool:
        """Start and wait until it accepts connections; False if it did not come up."""
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                return False
            time.sleep(0.005)
        return True

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=START_TIMEOUT_SECONDS)
        self._socket.close()
