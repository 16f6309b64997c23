"""Draining a queue of payment notifications with the gateway answering instantly, the same
work for every contender: take an item, fetch its payment (pre-parsed, in process), record a
payment_logs row and update the order in SQLite, mark the item done. Used by benchmark 3 (one
worker) and 4 (two worker processes on one file).

- mpcheckout: its processor (claim 50 + apply + ack in one transaction per batch).
- raw: hand-written SQL doing the same per batch of 50 (the floor).
- huey: SqliteStorage.dequeue (which deletes: huey has no ack), then the work in the app's
  database, one transaction per item.
- persist-queue: SQLiteAckQueue.get, the work, then ack, one transaction per step.
The peers keep their queue in a file of their own and the app's tables (orders, payment_logs,
mpcheckout's schema) in another, as a webhook handler glued to them would; mpcheckout and the
raw baseline hold both in one file. A worker's drain returns the payment ids it handled, so that
duplicates and lost items can be counted.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from bench import peers
from bench.payloads import payment_id_of
from mpcheckout.clock import SystemClock, utc_iso
from mpcheckout.config import QueueSettings
from mpcheckout.gateway import parse_payment
from mpcheckout.models import MerchantOrder, Payment
from mpcheckout.notifications import RawRequest, parse_notification
from mpcheckout.processor import build_processor
from mpcheckout.store import open_store

ORDERS = 1000
BATCH = 50
# persist-queue keeps acked rows until told to delete them (its issue #77: callers are expected
# to call clear_acked_data), and its get scans them from the first id on: left alone, every get
# costs more than the last (measured: 174 events/s at 20,000 events). Clearing as we go is how
# it is meant to be used.
PERSIST_QUEUE_CLEAR_EVERY = 1000
_LOG_SQL = (
    "INSERT INTO payment_logs (payment_id, status, status_detail, external_reference, amount, "
    "currency, date_last_updated, source, raw, recorded_at, refunded_amount, state_key) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, 'webhook', ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
_ORDER_SQL = (
    "UPDATE orders SET status = 'paid', payment_id = ?, payment_status = ?, updated_at = ?, "
    "paid_at = ? WHERE id = ?"
)
_RAW_CLAIM_SQL = (
    "UPDATE webhook_queue SET status = 'processing', locked_by = ?, attempts = attempts + 1 "
    "WHERE id IN (SELECT id FROM webhook_queue WHERE status = 'pending' "
    "ORDER BY next_attempt_at LIMIT ?) RETURNING id, resource_id"
)


def payment_body(payment_id: str) -> bytes:
    """What Mercado Pago's API answers for the payment (approved, for one of ORDERS orders)."""
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

    def __init__(self, payment_ids: Iterable[str]) -> None:
        self.payments = {pid: parse_payment(json.loads(payment_body(pid))) for pid in payment_ids}

    def get_payment(self, payment_id: str) -> Payment:
        return self.payments[payment_id]

    def get_merchant_order(self, merchant_order_id: str) -> MerchantOrder:
        raise NotImplementedError


class Recording:
    """A gateway that remembers every payment asked for: what a worker handled."""

    def __init__(self, gateway: Any) -> None:
        self.gateway, self.handled = gateway, []

    def get_payment(self, payment_id: str) -> Payment:
        self.handled.append(payment_id)
        return self.gateway.get_payment(payment_id)

    def get_merchant_order(self, merchant_order_id: str) -> MerchantOrder:
        return self.gateway.get_merchant_order(merchant_order_id)


@dataclass(slots=True, frozen=True)
class Files:
    queue: Path
    app: Path  # where payments are applied: the queue's own file for mpcheckout and raw


# -- files: built once per benchmark, copied for every repetition ----------------------------


def build_templates(folder: Path, lines: list[str]) -> dict[str, Files]:
    """One set of seeded files per kind of queue (not timed; copies are cheap)."""
    ours = folder / "template-mpcheckout.db"
    _seed_mpcheckout(ours, lines)
    app = folder / "template-app.db"
    _create_app(app)
    templates = {"mpcheckout": Files(ours, ours), "raw": Files(ours, ours)}
    bodies = [line.encode() for line in lines]
    if peers.HUEY in peers.installed_peers():
        huey_file = folder / "template-huey.db"
        _seed(peers.open_huey(huey_file, normal_sync=True), "enqueue", bodies)
        templates["huey"] = Files(huey_file, app)
    if peers.PERSIST_QUEUE in peers.installed_peers():
        queue_file = folder / "template-pq.db"
        _seed(peers.open_persist_queue(queue_file, normal_sync=True), "put", bodies)
        templates["persist_queue"] = Files(queue_file, app)
    return templates


def copy_files(template: Files, folder: Path, tag: str) -> Files:
    queue = folder / f"{tag}-queue.db"
    shutil.copyfile(template.queue, queue)
    if template.app == template.queue:
        return Files(queue, queue)
    app = folder / f"{tag}-app.db"
    shutil.copyfile(template.app, app)
    return Files(queue, app)


def _seed_mpcheckout(path: Path, lines: list[str]) -> None:
    store = open_store(str(path))
    now = datetime.now(UTC)
    notifications = [parse_notification(RawRequest(body=line.encode())) for line in lines]
    for start in range(0, len(notifications), 5000):
        store.enqueue_many(notifications[start : start + 5000], "http", now)
    store.close()
    _add_orders(path)


def _create_app(path: Path) -> None:
    open_store(str(path)).close()  # the same orders and payment_logs tables
    _add_orders(path)


def _add_orders(path: Path) -> None:
    # Closing the last connection checkpoints the WAL: the template is then one whole file.
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.executemany(
            "INSERT INTO orders (id, status, amount, currency, created_at, updated_at) "
            "VALUES (?, 'pending', '100.5', 'ARS', ?, ?)",
            [(f"order-{n}", "2026-01-01", "2026-01-01") for n in range(ORDERS)],
        )


def _seed(queue: Any, method: str, bodies: list[bytes]) -> None:
    put = getattr(queue, method)
    for body in bodies:
        put(body)
    queue.close()


# -- the workers: opened (not timed), then drained ----------------------------------------


class MpcheckoutWorker:
    def __init__(self, files: Files, worker: str, gateway: Any) -> None:
        self.recording = Recording(gateway)
        self.store = open_store(str(files.queue))
        self.processor = build_processor(
            self.store,
            self.recording,
            SystemClock(),
            QueueSettings(),
            worker,
            concurrency=1,
            batch_size=BATCH,
        )

    def drain(self) -> list[str]:
        self.processor.run_once()
        return self.recording.handled

    def close(self) -> None:
        self.store.close()


class RawWorker:
    def __init__(self, files: Files, worker: str, gateway: Any) -> None:
        self.conn, self.worker, self.gateway = _app_connection(files.queue), worker, gateway

    def drain(self) -> list[str]:
        handled: list[str] = []
        while self._batch(handled):
            pass
        return handled

    def _batch(self, handled: list[str]) -> bool:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        rows = conn.execute(_RAW_CLAIM_SQL, (self.worker, BATCH)).fetchall()
        stamp = utc_iso(datetime.now(UTC))
        for _event_id, payment_id in rows:
            handled.append(payment_id)
            record_payment(conn, self.gateway.get_payment(payment_id), stamp)
        conn.executemany(
            "UPDATE webhook_queue SET status = 'completed', completed_at = ?, locked_by = NULL "
            "WHERE id = ?",
            [(stamp, row[0]) for row in rows],
        )
        conn.execute("COMMIT")
        return bool(rows)

    def close(self) -> None:
        self.conn.close()


class HueyWorker:
    def __init__(self, files: Files, worker: str, gateway: Any) -> None:
        self.storage = peers.open_huey(files.queue, normal_sync=True)
        self.app, self.gateway = _app_connection(files.app), gateway

    def drain(self) -> list[str]:
        handled = []
        while (data := self.storage.dequeue()) is not None:
            payment_id = payment_id_of(bytes(data))
            handled.append(payment_id)
            apply_one(self.app, self.gateway.get_payment(payment_id))
        return handled

    def close(self) -> None:
        self.storage.close()
        self.app.close()


class PersistQueueWorker:
    def __init__(self, files: Files, worker: str, gateway: Any) -> None:
        self.queue = peers.open_persist_queue(files.queue, normal_sync=True)
        self.app, self.gateway = _app_connection(files.app), gateway

    def drain(self) -> list[str]:
        from persistqueue.exceptions import Empty

        handled = []
        while True:
            try:
                item = self.queue.get(block=False, raw=True)
            except Empty:
                return handled
            payment_id = payment_id_of(item["data"])
            handled.append(payment_id)
            apply_one(self.app, self.gateway.get_payment(payment_id))
            self.queue.ack(id=item["pqid"])
            if len(handled) % PERSIST_QUEUE_CLEAR_EVERY == 0:
                self.queue.clear_acked_data(keep_latest=0)

    def close(self) -> None:
        self.queue.close()
        self.app.close()


class Worker(Protocol):
    def drain(self) -> list[str]:
        """Take, work and finish items until the queue is empty; the payment ids handled."""

    def close(self) -> None: ...


WORKERS: dict[str, Callable[[Files, str, Any], Worker]] = {
    "raw": RawWorker,
    "mpcheckout": MpcheckoutWorker,
    "huey": HueyWorker,
    "persist_queue": PersistQueueWorker,
}


# -- the per-item work ----------------------------------------------------------------------


def _app_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def apply_one(conn: sqlite3.Connection, payment: Payment) -> None:
    conn.execute("BEGIN IMMEDIATE")
    record_payment(conn, payment, utc_iso(datetime.now(UTC)))
    conn.execute("COMMIT")


def record_payment(conn: sqlite3.Connection, payment: Payment, stamp: str) -> None:
    """What the processor writes for a new approved payment: its log row and its order."""
    conn.execute(
        _LOG_SQL,
        (
            payment.id,
            payment.status,
            payment.status_detail,
            payment.external_reference,
            str(payment.amount),
            payment.currency,
            utc_iso(payment.date_last_updated) if payment.date_last_updated else None,
            json.dumps(payment.raw, default=str),
            stamp,
            str(payment.refunded_amount) if payment.refunded_amount is not None else None,
            f"{payment.status}|{payment.status_detail or ''}|{payment.refunded_amount or 0:.2f}",
        ),
    )
    conn.execute(_ORDER_SQL, (payment.id, payment.status, stamp, stamp, payment.external_reference))


def applied_payments(files: Files) -> int:
    """payment_logs rows in the app's database: every distinct payment applied once."""
    with contextlib.closing(sqlite3.connect(files.app)) as conn:
        return conn.execute("SELECT count(*) FROM payment_logs").fetchone()[0]
