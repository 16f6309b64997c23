"""What every request handler needs, built once per worker process from settings."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..clock import Clock
from ..config import LoadedSettings, Settings, load_settings
from ..i18n import Translator, resolve_locale
from ..ingest import GroupCommitter, SignaturePolicy
from ..runtime import Runtime
from ..status import StatusReport, build_status
from .clientip import ClientResolver, parse_networks
from .status_cache import StatusCache

if TYPE_CHECKING:
    from ..store.base import Store

# How `serve` hands its command-line choices to uvicorn worker processes (they import the app
# by name and cannot be given Python objects).
CONTEXT_ENV = "MPCHECKOUT_SERVE_CONTEXT"


@dataclass(slots=True, frozen=True)
class ServeOptions:
    config_path: str | None = None
    overrides: dict[str, Any] | None = None
    run_processor: bool = False

    def to_env(self) -> str:
        return json.dumps(
            {
                "config_path": self.config_path,
                "overrides": self.overrides or {},
                "run_processor": self.run_processor,
            }
        )

    @classmethod
    def from_env(cls) -> ServeOptions:
        raw = os.environ.get(CONTEXT_ENV)
        return cls(**json.loads(raw)) if raw else cls()


class ServerContext:
    def __init__(
        self, loaded: LoadedSettings, clock: Clock | None = None, run_processor: bool = False
    ) -> None:
        self.runtime = Runtime(loaded, clock)
        self.run_processor = run_processor
        server = self.settings.server
        self.resolver = ClientResolver(
            parse_networks(server.trusted_proxies, "server.trusted_proxies"),
            parse_networks(server.ip_allowlist, "server.ip_allowlist"),
        )
        self.policy = _signature_policy(self.settings, self.runtime.clock)
        self.t = Translator(resolve_locale(self.settings.locale))
        token = server.monitor_token.get_secret_value() if server.monitor_token else ""
        # A blank token would let in anyone sending "Authorization: Bearer": monitoring is off.
        self.monitor_token = token if token.strip() else None
        self.status_cache = StatusCache(
            self._build_status, self.runtime.clock, server.status_cache_seconds
        )

    @classmethod
    def from_options(cls, options: ServeOptions) -> ServerContext:
        path = Path(options.config_path) if options.config_path else None
        return cls(
            load_settings(path, options.overrides or {}), run_processor=options.run_processor
        )

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def clock(self) -> Clock:
        return self.runtime.clock

    @property
    def store(self) -> Store:
        return self.runtime.store

    def status_report(self) -> StatusReport:
        """The health report `/ui/` and `/metrics` share (see status_cache.py)."""
        return self.status_cache.report()

    def _build_status(self) -> StatusReport:
        settings = self.settings
        return build_status(self.store, self.clock, settings.health, settings.reconcile)

    @cached_property
    def intake(self) -> GroupCommitter:
        self.store.start_maintenance()  # a long-running process: checkpoints off the hot path
        return GroupCommitter(self.store, self.clock)

    def close(self) -> None:
        if "intake" in self.__dict__:
            self.intake.close()
        self.runtime.close()


def _signature_policy(settings: Settings, clock: Clock) -> SignaturePolicy | None:
    """Signatures are checked when at least one webhook secret is configured."""
    secrets = tuple(s.get_secret_value() for s in settings.mercadopago.webhook_secrets)
    if not secrets:
        return None
    return SignaturePolicy(
        secrets=secrets,
        now=lambda: clock.now().timestamp(),
        tolerance_seconds=settings.mercadopago.signature_tolerance_seconds,
        accept_unsigned_ipn=settings.server.accept_unsigned_ipn,
    )
