"""Builds what the services need (store, gateway, clock) from settings. The CLI and the server
both start here, so neither knows how a store or a gateway is made."""

from __future__ import annotations

import os
from functools import cached_property
from typing import TYPE_CHECKING

from .clock import Clock, SystemClock
from .config import LoadedSettings, Settings
from .store import open_store

if TYPE_CHECKING:
    from .gateway import MercadoPagoGateway
    from .store.base import Store


def worker_id() -> str:
    """`host:pid`, as stamped on every lease."""
    import socket  # here: a command that leases nothing does not import it

    return f"{socket.gethostname()}:{os.getpid()}"


class Runtime:
    def __init__(self, loaded: LoadedSettings, clock: Clock | None = None) -> None:
        self.loaded = loaded
        self.clock = clock or SystemClock()

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    def open_store(self, migrate: bool = True) -> Store:
        database = self.settings.database
        return open_store(
            database.url,
            busy_timeout_ms=database.busy_timeout_ms,
            pool_size=database.pool_size,
            migrate=migrate,
        )

    @cached_property
    def store(self) -> Store:
        return self.open_store()

    @cached_property
    def gateway(self) -> MercadoPagoGateway:
        from .gateway import build_gateway

        return build_gateway(self.settings.mercadopago)

    def close(self) -> None:
        for name in ("store", "gateway"):
            if name in self.__dict__:
                self.__dict__.pop(name).close()
