"""12. The processor on Orders-API events (`type: order`) against payment events, same run.

The same drain as benchmark 3 (claim 50 + fetch + apply + ack, one worker, concurrency 1, the
gateway answering instantly), on two queues of the same size: one of `payment` notifications
(the baseline), one of `order` notifications. An order event costs what a payment event does
plus reading the order (string amounts, transactions, refunds) and turning it into the payment
state the ledger applies (mpcheckout/order_payments.py). Two gateways each:
- `fake`: pre-parsed answers (the queue's and the ledger's own cost);
- `sdk`: the real SDK and gateway over an in-process httpx transport (JSON parsed per call,
  what a real answer costs on top).

    python -m bench.orders [--quick] [--json FILE]    (same as python -m bench --only orders)
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import mercadopago
from mercadopago.config import RequestOptions

from bench.drain import ORDERS, FakeGateway, Files, _add_orders, copy_files, payment_body
from bench.harness import BenchResult, Comparison, Contender, Sample, Scale, TargetCheck, compare
from bench.payloads import payment_id_of, payment_notification_lines
from mpcheckout.clock import SystemClock
from mpcheckout.config import QueueSettings
from mpcheckout.gateway import MercadoPagoGateway, _NoCookies, parse_mp_order, sdk_transport
from mpcheckout.models import MpOrder, Payment
from mpcheckout.notifications import RawRequest, parse_notification
from mpcheckout.processor import build_processor
from mpcheckout.store import open_store

NAME = "orders"
TITLE = "12. Processor: Orders-API events against payment events"
BATCH = 50
_LABELS = {
    "payments": "payment events, fake gateway (baseline)",
    "orders": "order events, fake gateway",
    "payments_sdk": "payment events, SDK + httpx",
    "orders_sdk": "order events, SDK + httpx",
}


def order_id_of(index: int) -> str:
    return f"ORD{index:026d}"


def order_body(order_id: str) -> bytes:
    """GET /v1/orders/{id} as the sandbox answers it: a paid Checkout Pro order."""
    index = int(order_id[3:])
    return json.dumps(
        {
            "id": order_id,
            "type": "online",
            "external_reference": f"order-{index % ORDERS}",
            "total_amount": "100.50",
            "total_paid_amount": "100.50",
            "currency": "ARS",
            "status": "processed",
            "status_detail": "accredited",
            "version": 2,
            "created_date": "2026-11-28T14:30:00.000Z",
            "last_updated_date": "2026-11-28T14:30:02.000Z",
            "transactions": {
                "payments": [
                    {
                        "id": f"PAY{index:026d}",
                        "amount": "100.50",
                        "paid_amount": "100.50",
                        "status": "processed",
                        "status_detail": "accredited",
                    }
                ]
            },
        }
    ).encode()


def order_notification_lines(count: int) -> list[str]:
    """`type: order` notifications as Mercado Pago sends them (research mp-wave2 §5.5)."""
    return [
        json.dumps(
            {
                "action": "order.processed",
                "api_version": "v1",
                "application_id": "1234567890",
                "data": {"id": order_id_of(index), "status": "processed", "version": 2},
                "date_created": "2026-11-28T14:30:02.164000000Z",
                "id": str(130_000_000_000 + index),
                "live_mode": True,
                "type": "order",
                "user_id": "724484980",
            }
        )
        for index in range(count)
    ]


class FakeOrders:
    def __init__(self, order_ids: list[str]) -> None:
        self.orders = {oid: parse_mp_order(json.loads(order_body(oid))) for oid in order_ids}

    def get_order(self, order_id: str) -> MpOrder:
        return self.orders[order_id]


class Recording:
    """Remembers what the worker fetched: each event must be handled once."""

    def __init__(self, gateway: Any) -> None:
        self.gateway, self.handled = gateway, []

    def get_payment(self, payment_id: str) -> Payment:
        self.handled.append(payment_id)
        return self.gateway.get_payment(payment_id)

    def get_order(self, order_id: str) -> MpOrder:
        self.handled.append(order_id)
        return self.gateway.get_order(order_id)


def instant_gateway() -> MercadoPagoGateway:
    """The real SDK and gateway; the transport answers each path from memory at once."""

    def answer(request: httpx.Request) -> httpx.Response:
        resource = request.url.path.rsplit("/", 1)[-1]
        body = order_body(resource) if resource.startswith("ORD") else payment_body(resource)
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    client = httpx.Client(transport=httpx.MockTransport(answer))
    client._cookies = _NoCookies()
    transport = sdk_transport(lambda: client, "http://instant.invalid")
    sdk = mercadopago.SDK(
        "TEST-bench", http_client=transport, request_options=RequestOptions(max_retries=0)
    )
    return MercadoPagoGateway(sdk, client)


def run(scale: Scale) -> BenchResult:
    events = scale.pick(full=20_000, quick=500)
    payment_lines = payment_notification_lines(events)
    order_lines = order_notification_lines(events)
    fakes = {
        "payments": FakeGateway(payment_id_of(line) for line in payment_lines),
        "orders": FakeOrders([order_id_of(index) for index in range(events)]),
    }
    with tempfile.TemporaryDirectory(prefix="bench-orders-") as name:
        folder = Path(name)
        templates = {
            "payments": _template(folder / "template-payments.db", payment_lines),
            "orders": _template(folder / "template-orders.db", order_lines),
        }
        contenders = [
            _contender(kind, templates[kind], folder, events, fakes[kind])
            for kind in ("payments", "orders")
        ] + [_contender(f"{kind}_sdk", templates[kind], folder, events) for kind in templates]
        comparison = compare(
            f"{events:,} events of each kind, one worker", "events/s", contenders, scale
        )
    return BenchResult(NAME, TITLE, [comparison], _targets(comparison))


def _template(path: Path, lines: list[str]) -> Files:
    store = open_store(str(path))
    notifications = [parse_notification(RawRequest(body=line.encode())) for line in lines]
    for start in range(0, len(notifications), 5000):
        store.enqueue_many(notifications[start : start + 5000], "http", datetime.now(UTC))
    store.close()
    _add_orders(path)
    return Files(path, path)


def _contender(
    name: str, template: Files, folder: Path, events: int, fake: Any | None = None
) -> Contender:
    def measure(repetition: int) -> Sample:
        files = copy_files(template, folder, f"{name}-{repetition}")
        gateway = fake if fake is not None else instant_gateway()
        try:
            return _drain_timed(name, files, events, gateway)
        finally:
            if fake is None:
                gateway.close()

    return Contender(name, _LABELS[name], measure)


def _drain_timed(name: str, files: Files, events: int, gateway: Any) -> Sample:
    store = open_store(str(files.queue))
    recording = Recording(gateway)
    processor = build_processor(
        store,
        recording,
        SystemClock(),
        QueueSettings(),
        f"bench:{name}",
        concurrency=1,
        batch_size=BATCH,
    )
    started, cpu = time.perf_counter(), time.process_time()
    processor.run_once()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    store.close()
    _check_complete(name, recording.handled, files, events)
    # CPU time is this process's own: less moved by other load on a shared machine.
    return Sample(events / elapsed, {"cpu µs/event": round(cpu / events * 1e6, 1)})


def _check_complete(name: str, handled: list[str], files: Files, events: int) -> None:
    with contextlib.closing(sqlite3.connect(files.queue)) as conn:
        logged = conn.execute("SELECT count(*) FROM payment_logs").fetchone()[0]
        paid = conn.execute("SELECT count(*) FROM orders WHERE status = 'paid'").fetchone()[0]
    if len(set(handled)) != events or len(handled) != events or logged != events:
        raise RuntimeError(f"{name}: handled {len(handled)}, logged {logged} of {events}")
    if paid != min(events, ORDERS):
        raise RuntimeError(f"{name}: {paid} orders paid")


def _targets(comparison: Comparison) -> list[TargetCheck]:
    """An order event may cost more than a payment event (one more parse and adapter), but
    not a different order of magnitude: ≥ 0.7× the payment events of the same gateway."""
    checks = []
    for fake, orders in (("payments", "orders"), ("payments_sdk", "orders_sdk")):
        ratio = comparison.get(orders).median / comparison.get(fake).median
        target = f"{orders} ≥ 0.7× {fake}"
        checks.append(TargetCheck(target, f"{ratio:.2f}×", ratio >= 0.7))
    return checks


if __name__ == "__main__":
    from bench.__main__ import main

    main(["--only", NAME, *sys.argv[1:]])
