"""2. Durable single enqueue: one event per transaction, as `serve` stores a webhook when no
other request arrives during the commit. mpcheckout's store (`enqueue_many([one])`) vs a raw
single-transaction insert into the same schema (the baseline), huey's SqliteStorage.enqueue and
persist-queue's SQLiteAckQueue.put, each on a new file in one temporary folder.

Notifications are parsed before the clock starts (parsing is the receiver's cost, measured by
benchmark 7): this is the storage alone. huey and persist-queue store the raw body and do not
deduplicate; mpcheckout and the baseline skip the 2 % redeliveries. The peers run twice: with
the settings they ship with (synchronous FULL: an fsync per commit) and with mpcheckout's
(NORMAL); see bench/peers.py.

    python -m bench.enqueue [--quick] [--json FILE]    (same as python -m bench --only enqueue)
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import peers
from bench.harness import (
    BenchResult,
    Comparison,
    Contender,
    Sample,
    Scale,
    TargetCheck,
    compare,
    not_measured,
)
from bench.payloads import notification_lines
from mpcheckout.clock import utc_iso
from mpcheckout.models import Notification
from mpcheckout.notifications import RawRequest, parse_notification
from mpcheckout.store import open_store

NAME = "enqueue"
TITLE = "2. Durable single enqueue (one event per transaction)"
_RAW_INSERT = (
    "INSERT INTO webhook_queue (dedupe_key, topic, action, resource_id, live_mode, payload, "
    "headers, received_via, next_attempt_at, received_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING"
)


@dataclass(slots=True, frozen=True)
class _Opened:
    put: Callable[[int], None]  # store the event of this index, in its own transaction
    close: Callable[[], Any]


def run(scale: Scale) -> BenchResult:
    events = scale.pick(full=5_000, quick=100)
    lines = list(notification_lines(events))
    notifications = [parse_notification(RawRequest(body=line.encode())) for line in lines]
    bodies = [line.encode() for line in lines]
    settings: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-enqueue-") as folder:
        opened = _Openers(Path(folder), notifications, bodies, settings)
        contenders = [
            Contender("raw", "raw single insert", lambda rep: _timed(opened.raw(rep), events)),
            Contender("mpcheckout", "mpcheckout store", lambda r: _timed(opened.ours(r), events)),
            *_peer_contenders(opened, events),
        ]
        comparison = compare(
            f"{events:,} events, one per transaction", "events/s", contenders, scale
        )
    return BenchResult(NAME, TITLE, [comparison], _targets(comparison), _notes(settings))


def _peer_contenders(opened: _Openers, events: int) -> list[Contender]:
    available = peers.installed_peers()
    contenders = []
    for normal, suffix in ((True, "synchronous NORMAL"), (False, "as shipped: FULL")):
        tag = "" if normal else "_default"
        if peers.HUEY in available:
            contenders.append(
                Contender(
                    f"huey{tag}",
                    f"huey SqliteStorage ({suffix})",
                    lambda rep, n=normal: _timed(opened.huey(rep, n), events),
                )
            )
        if peers.PERSIST_QUEUE in available:
            contenders.append(
                Contender(
                    f"persist_queue{tag}",
                    f"persist-queue SQLiteAckQueue ({suffix})",
                    lambda rep, n=normal: _timed(opened.persist_queue(rep, n), events),
                )
            )
    return contenders


def _timed(opened: _Opened, events: int) -> Sample:
    put = opened.put
    started = time.perf_counter()
    for index in range(events):
        put(index)
    elapsed = time.perf_counter() - started
    opened.close()
    return Sample(events / elapsed)


class _Openers:
    """Opens each contender on a new file (not timed) and returns its one-event `put`."""

    def __init__(
        self,
        folder: Path,
        notifications: list[Notification],
        bodies: list[bytes],
        settings: dict[str, str],
    ) -> None:
        self.folder, self.notifications, self.bodies = folder, notifications, bodies
        self.settings = settings  # contender -> journal and synchronous, read back

    def raw(self, repetition: int) -> _Opened:
        path = self.folder / f"raw-{repetition}.db"
        open_store(str(path)).close()
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA synchronous = NORMAL")
        self.settings["raw"] = peers.settings_of(conn)
        stamp = utc_iso(datetime.now(UTC))
        rows = [_row(notification, stamp) for notification in self.notifications]

        def put(index: int) -> None:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(_RAW_INSERT, rows[index])
            conn.execute("COMMIT")

        return _Opened(put, conn.close)

    def ours(self, repetition: int) -> _Opened:
        store: Any = open_store(str(self.folder / f"mpcheckout-{repetition}.db"))
        self.settings["mpcheckout"] = peers.settings_of(store._conn)
        notifications = self.notifications

        def put(index: int) -> None:
            store.enqueue_many([notifications[index]], "http", datetime.now(UTC))

        return _Opened(put, store.close)

    def huey(self, repetition: int, normal_sync: bool) -> _Opened:
        storage = peers.open_huey(self.folder / f"huey-{normal_sync}-{repetition}.db", normal_sync)
        self.settings[f"huey {_sync_label(normal_sync)}"] = peers.settings_of(storage.conn)
        bodies = self.bodies
        return _Opened(lambda index: storage.enqueue(bodies[index]), storage.close)

    def persist_queue(self, repetition: int, normal_sync: bool) -> _Opened:
        path = self.folder / f"pq-{normal_sync}-{repetition}.db"
        queue = peers.open_persist_queue(path, normal_sync)
        connection = peers.persist_queue_connection(queue)
        self.settings[f"persist-queue {_sync_label(normal_sync)}"] = peers.settings_of(connection)
        bodies = self.bodies
        return _Opened(lambda index: queue.put(bodies[index]), queue.close)


def _sync_label(normal_sync: bool) -> str:
    return "(NORMAL run)" if normal_sync else "(as shipped)"


def _row(item: Notification, stamp: str) -> tuple:
    live_mode = None if item.live_mode is None else int(item.live_mode)
    headers = json.dumps(item.headers) if item.headers else None
    return (
        item.dedupe_key,
        item.topic,
        item.action,
        item.resource_id,
        live_mode,
        item.payload,
        headers,
        "http",
        stamp,
        stamp,
        stamp,
    )


def _targets(comparison: Comparison) -> list[TargetCheck]:
    ours = comparison.get("mpcheckout")
    checks = [
        TargetCheck("≥ 0.5× raw", f"{ours.median_ratio:.2f}×", ours.median_ratio >= 0.5),
    ]
    names = {result.name for result in comparison.contenders}
    for peer in ("huey", "persist_queue"):
        for tag, setting in (("", "same settings, NORMAL"), ("_default", "as shipped, FULL")):
            target = f"≥ 3× {peer.replace('_', '-')} ({setting})"
            if f"{peer}{tag}" not in names:
                checks.append(not_measured(target, peer.replace("_", "-")))
                continue
            ratio = ours.median / comparison.get(f"{peer}{tag}").median
            checks.append(TargetCheck(target, f"{ratio:.2f}×", ratio >= 3))
    return checks


def _notes(settings: dict[str, str]) -> list[str]:
    found = "; ".join(f"{name}: {value}" for name, value in settings.items())
    return [f"settings read back from each connection: {found}", *peers.missing_peers_note()]


if __name__ == "__main__":
    from bench.__main__ import main

    main(["--only", NAME, *sys.argv[1:]])
