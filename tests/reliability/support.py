"""Real worker processes against a SQLite file and the sandbox, for the reliability suite."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from mpcheckout.notifications import RawRequest, parse_notification
from tests.sandbox_support import SANDBOX_TOKEN

WAIT_LIMIT_SECONDS = 120


def env_for(sandbox, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "MPCHECKOUT_LOCALE": "en",
        "MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN": SANDBOX_TOKEN,
        "MPCHECKOUT_MERCADOPAGO__API_BASE": sandbox.url,
        "MPCHECKOUT_MERCADOPAGO__MAX_RETRIES": "1",
        **extra,
    }


def mpcheckout(database: Path, env: dict[str, str], *args: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "mpcheckout", "--db", str(database), *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def count(database: Path, sql: str, *params) -> int:
    with sqlite3.connect(database, timeout=30) as conn:
        return conn.execute(sql, params).fetchone()[0]


def count_when_ready(database: Path, sql: str) -> int:
    """As `count`, 0 while the database is still being created by another process."""
    try:
        return count(database, sql) if database.exists() else 0
    except sqlite3.OperationalError:
        return 0


def wait_for(condition, limit: float = WAIT_LIMIT_SECONDS) -> None:
    """Wait for a state another process reaches (not for time to pass), bounded."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def seed_payments(http, store, count_: int, now, first_notification: int = 1) -> list[str]:
    """`count_` approved payments in the sandbox, one queued notification for each."""
    created = http.post(
        "/_sandbox/payments/bulk",
        json={
            "count": count_,
            "status": "approved",
            "external_reference_prefix": "order-",
            "transaction_amount": "10.00",
            "currency_id": "ARS",
        },
    ).json()
    ids = [str(n) for n in range(created["first_id"], created["last_id"] + 1)]
    notifications = [
        parse_notification(
            RawRequest(
                body=json.dumps(
                    {
                        "id": first_notification + index,
                        "type": "payment",
                        "action": "payment.created",
                        "data": {"id": payment_id},
                    }
                ).encode()
            )
        )
        for index, payment_id in enumerate(ids)
    ]
    for start in range(0, len(notifications), 5000):
        store.enqueue_many(notifications[start : start + 5000], "http", now)
    return ids
