"""Queue overhead of the processor: claim + fetch + apply + ack with the gateway answering
instantly, against a raw-SQL baseline doing the same work (claim 50, insert a payment log,
update the order, ack 50, one transaction), measured in the same run. Two instant gateways:
- `fake`: an in-process object returning the payment (the queue's own overhead: the target);
- `sdk`: the real SDK and gateway over an in-process httpx transport (what the client stack
  itself costs per call, which no queue can go below).

    python -m bench.processor [--events 20000] [--repetitions 3]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import mercadopago
from mercadopago.config import RequestOptions

from mpcheckout.clock import SystemClock
from mpcheckout.config import QueueSettings
from mpcheckout.gateway import MercadoPagoGateway, _NoCookies, parse_payment, sdk_transport
from mpcheckout.models import Payment
from mpcheckout.notifications import RawRequest, parse_notification
from mpcheckout.processor import build_processor
from mpcheckout.store import open_store

ORDERS = 1000


def payment_body(payment_id: str) -> bytes:
    number = int(payment_id)
    return json.dumps(
        {
            "id": number,
            "status": "approved",
            "status_detail": "accredited",
            "external_reference": f"order-{number % ORDERS}",
            "transaction_amount": 100.5,
            "currency_id": "ARS",
            "date_last_updated": "2026-11-28T10:30:02.000-04:00",
            "date_approved": "2026-11-28T10:30:02.000-04:00",
        }
    ).encode()


class FakeGateway:
    """Answers at once with the payment the SDK path would parse (parsed ahead of the run)."""

    def __init__(self, payment_ids) -> None:
        self.payments = {pid: parse_payment(json.loads(payment_body(pid))) for pid in payment_ids}

    def get_payment(self, payment_id: str) -> Payment:
        return self.payments[payment_id]

    def get_merchant_order(self, merchant_order_id: str):
        raise NotImplementedError


def instant_gateway() -> MercadoPagoGateway:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            content=payment_body(request.url.path.rsplit("/", 1)[-1]),
            headers={"content-type": "application/json"},
        )

    client = httpx.Client(transport=httpx.MockTransport(answer))
    client._cookies = _NoCookies()
    transport = sdk_transport(lambda: client, "http://instant.invalid")
    sdk = mercadopago.SDK(
        "TEST-bench", http_client=transport, request_options=RequestOptions(max_retries=0)
    )
    return MercadoPagoGateway(sdk, client)


def seed(path: Path, events: int) -> None:
    store = open_store(str(path))
    now = datetime.now(UTC)
    notifications = [
        parse_notification(
            RawRequest(
                body=json.dumps(
                    {
                        "id": n,
                        "type": "payment",
                        "action": "payment.created",
                        "data": {"id": str(5_000_000_000 + n)},
                    }
                ).encode()
            )
        )
        for n in range(events)
    ]
    for start in range(0, events, 5000):
        store.enqueue_many(notifications[start : start + 5000], "file", now)
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO orders (id, status, amount, currency, created_at, updated_at) "
            "VALUES (?, 'pending', '100.5', 'ARS', ?, ?)",
            [(f"order-{n}", "2026-01-01", "2026-01-01") for n in range(ORDERS)],
        )
    store.close()


def run_mpcheckout(path: Path, concurrency: int, gateway) -> tuple[float, int]:
    store = open_store(str(path))
    processor = build_processor(
        store,
        gateway,
        SystemClock(),
        QueueSettings(),
        "bench:1",
        concurrency=concurrency,
        batch_size=50,
    )
    started = time.perf_counter()
    summary = processor.run_once()
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed, summary.completed


def run_raw(path: Path) -> tuple[float, int]:
    """The floor: the same rows touched with hand-written SQL, 50 events per transaction."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = NORMAL")
    done, started = 0, time.perf_counter()
    while True:
        conn.execute("BEGIN IMMEDIATE")
        rows = conn.execute(
            "UPDATE webhook_queue SET status = 'processing', locked_by = 'raw', "
            "attempts = attempts + 1 WHERE id IN (SELECT id FROM webhook_queue "
            "WHERE status = 'pending' ORDER BY next_attempt_at LIMIT 50) "
            "RETURNING id, resource_id"
        ).fetchall()
        if not rows:
            conn.execute("COMMIT")
            break
        for _event_id, resource_id in rows:
            body = json.loads(payment_body(resource_id))
            conn.execute(
                "INSERT INTO payment_logs (payment_id, status, external_reference, amount, "
                "currency, source, raw, recorded_at) VALUES (?, ?, ?, ?, ?, 'webhook', ?, ?) "
                "ON CONFLICT DO NOTHING",
                (
                    resource_id,
                    body["status"],
                    body["external_reference"],
                    str(body["transaction_amount"]),
                    body["currency_id"],
                    json.dumps(body),
                    "now",
                ),
            )
            conn.execute(
                "UPDATE orders SET status = 'paid', payment_id = ? WHERE id = ?",
                (resource_id, body["external_reference"]),
            )
        conn.executemany(
            "UPDATE webhook_queue SET status = 'completed', completed_at = 'now' WHERE id = ?",
            [(row[0],) for row in rows],
        )
        conn.execute("COMMIT")
        done += len(rows)
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    runners = {
        "raw": run_raw,
        "fake": lambda path: run_mpcheckout(path, args.concurrency, FakeGateway(payment_ids)),
        "sdk": lambda path: run_mpcheckout(path, args.concurrency, instant_gateway()),
    }
    payment_ids = [str(5_000_000_000 + n) for n in range(args.events)]
    rates: dict[str, list[float]] = {name: [] for name in runners}
    with tempfile.TemporaryDirectory() as folder:
        for repetition in range(args.repetitions):
            for name, runner in runners.items():  # alternating, same run
                path = Path(folder) / f"{name}{repetition}.db"
                seed(path, args.events)
                elapsed, done = runner(path)
                assert done == args.events, (name, done)
                rates[name].append(args.events / elapsed)
    print(
        f"{args.events:,} events, gateway answering instantly, concurrency {args.concurrency}, "
        f"{args.repetitions} repetitions"
    )
    labels = {
        "raw": "raw SQL baseline",
        "fake": "mpcheckout, fake gateway",
        "sdk": "mpcheckout, SDK + httpx",
    }
    for name, values in rates.items():
        ratios = [a / b for a, b in zip(values, rates["raw"], strict=True)]
        print(
            f"{labels[name]:<26} median {statistics.median(values):>8,.0f} events/s "
            f"[{min(values):,.0f}-{max(values):,.0f}]  ratio to raw "
            f"{statistics.median(ratios):.2f}x ({', '.join(f'{r:.2f}' for r in ratios)})"
        )


if __name__ == "__main__":
    main()
