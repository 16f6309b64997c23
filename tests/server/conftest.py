from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from mpcheckout.clock import Clock
from mpcheckout.config import load_settings
from mpcheckout.server.context import ServerContext
from mpcheckout.server.runner import start_in_background
from tests.sandbox_support import SANDBOX_TOKEN

SECRET = "whsec-test-0001"
MONITOR = "monitor-token-for-tests-9f8e7d"


@pytest.fixture
def start_server(tmp_path, sandbox) -> Callable[..., tuple[str, ServerContext]]:
    """Start `serve` in a background thread on a free port; every server shares tmp_path's
    database unless told otherwise (so two calls are two workers of one shop)."""
    running = []

    def start(
        run_processor: bool = False, clock: Clock | None = None, **overrides
    ) -> tuple[str, ServerContext]:
        values = {
            "database.url": str(tmp_path / "shop.db"),
            "mercadopago.access_token": SANDBOX_TOKEN,
            "mercadopago.api_base": sandbox.url,
            "mercadopago.webhook_secrets": [SECRET],
            "mercadopago.max_retries": 0,
            "server.monitor_token": MONITOR,
            # Tests scrape, act and scrape again at once: each request reads its own report.
            "server.status_cache_seconds": 0,
            "locale": "en",
            **overrides,
        }
        ctx = ServerContext(
            load_settings(environ={}, overrides=values), clock, run_processor=run_processor
        )
        runner, url = start_in_background(ctx)
        running.append(runner)
        return url, ctx

    yield start
    for runner in running:
        runner.stop()


@pytest.fixture
def http():
    with httpx.Client(timeout=10) as client:
        yield client
