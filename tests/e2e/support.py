"""A shop for end-to-end tests: a real SQLite file, the gateway over HTTP to the sandbox, the
ingest and processor services, and a clock the test moves."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from mpcheckout.clock import ManualClock
from mpcheckout.config import MercadoPagoSettings, QueueSettings
from mpcheckout.gateway import build_gateway
from mpcheckout.ingest import SignaturePolicy, receive_request
from mpcheckout.models import Order
from mpcheckout.notifications import RawRequest
from mpcheckout.processor import ProcessSummary, build_processor
from mpcheckout.store import open_store
from tests.sandbox_support import SANDBOX_SECRET, SANDBOX_TOKEN


def gateway_settings(sandbox, **overrides: Any) -> MercadoPagoSettings:
    values = {
        "access_token": SANDBOX_TOKEN,
        "api_base": sandbox.url,
        "max_retries": 0,
        "read_timeout": 2.0,
        "connect_timeout": 1.0,
        **overrides,
    }
    return MercadoPagoSettings(**values)


class Shop:
    def __init__(self, sandbox, path: Path, clock: ManualClock, **queue: Any) -> None:
        self.sandbox, self.path, self.clock = sandbox, path, clock
        self.store = open_store(str(path))
        self.gateway = build_gateway(gateway_settings(sandbox), sleep=lambda seconds: None)
        self.queue = QueueSettings(**queue)
        self.http = httpx.Client(base_url=sandbox.url, timeout=10)

    def close(self) -> None:
        self.store.close()
        self.gateway.close()
        self.http.close()

    # -- the sandbox's control API ------------------------------------------------------------
    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"/_sandbox{path}", json=body)
        response.raise_for_status()
        return response.json()

    def pay(self, reference: str, status: str = "approved", **fields: Any) -> dict:
        """A payment of 100.50 ARS (what `order` creates) unless fields say otherwise."""
        body = {
            "external_reference": reference,
            "status": status,
            "transaction_amount": "100.50",
            "currency_id": "ARS",
            **fields,
        }
        return self.control("POST", "/payments", body)

    def move(self, payment_id: int, status: str, **fields: Any) -> dict:
        return self.control("POST", f"/payments/{payment_id}/status", {"status": status, **fields})

    def fault(self, **rule: Any) -> None:
        self.control("POST", "/faults", rule)

    # -- the shop ------------------------------------------------------------------------------
    def order(self, order_id: str, amount: str = "100.50", currency: str = "ARS") -> None:
        now = self.clock.now()
        self.store.create_order(
            Order(
                id=order_id,
                status="pending",
                amount=Decimal(amount),
                currency=currency,
                created_at=now,
                updated_at=now,
            )
        )

    def deliver_outbox(self) -> list[bool]:
        """Receive every notification the sandbox produced, as the HTTP receiver would:
        signature checked with the sandbox's secret. Returns queued (True) / duplicate."""
        policy = SignaturePolicy(secrets=(SANDBOX_SECRET,), now=time.time)
        results = []
        for record in self.control("GET", "/outbox"):
            request = RawRequest(
                query=record["query"], headers=record["headers"], body=record["body"].encode()
            )
            results.append(receive_request(self.store, request, self.clock, policy).queued)
        self.control("DELETE", "/outbox")
        return results

    def process(self, **options: Any) -> ProcessSummary:
        processor = build_processor(
            self.store,
            self.gateway,
            self.clock,
            self.queue,
            "test:1",
            concurrency=options.pop("concurrency", 4),
        )
        return processor.run_once(**options)

    def status_of(self, order_id: str) -> str:
        return self.store.get_order(order_id).status

    def count(self, sql: str, *params: Any) -> int:
        import sqlite3

        with sqlite3.connect(self.path) as conn:
            return conn.execute(sql, params).fetchone()[0]
