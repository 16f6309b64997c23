"""Dropping a connection without an HTTP answer, which ASGI cannot express.

An ASGI app never sees its socket, and uvicorn answers 500 for an app that returns without a
response. So the sandbox runs uvicorn with this h11 protocol, which publishes each connection's
transport in a context variable before it starts the request's task (tasks copy the context
they are created in); the fault middleware closes that transport to simulate a dropped
connection.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar

from uvicorn.protocols.http.h11_impl import H11Protocol

_transport: ContextVar[asyncio.BaseTransport | None] = ContextVar("sandbox_transport", default=None)


class DroppableH11Protocol(H11Protocol):
    def handle_events(self) -> None:
        _transport.set(self.transport)
        super().handle_events()


def close_connection() -> bool:
    """Close the current request's TCP connection; False when the server cannot (no transport
    published, e.g. under a test client)."""
    transport = _transport.get()
    if transport is None or transport.is_closing():
        return False
    transport.close()
    return True
