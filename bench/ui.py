"""10. The status page and /metrics on a big store: 1,000,000 events (as bench 6 builds them:
30 days, a day's worth in the last 24 h) and 100,000 orders. Times the summary page, the
orders page and /metrics over loopback HTTP against a no-op GET /healthz on the same `serve`
process (the baseline), then webhook intake with and without the page and /metrics polled
every second, in the same run.

    python -m bench.ui [--quick] [--json FILE]    (same as python -m bench --only ui)
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.harness import (
    BenchResult,
    Comparison,
    Contender,
    Sample,
    Scale,
    TargetCheck,
    at_least,
    below,
    compare,
)
from bench.serve import LUA, SECRET, _Load
from bench.status import _row
from mpcheckout.clock import utc_iso
from mpcheckout.config import ServerSettings
from mpcheckout.store import open_store

NAME = "ui"
TITLE = "10. status page and /metrics at 1M events"
TOKEN = "bench-ui-token-0123456789"
REQUESTS_PER_SAMPLE = 21
DEFAULT_CACHE_SECONDS = ServerSettings().status_cache_seconds
ORDER_STATES = ("paid", "paid", "paid", "pending", "rejected", "refunded", "paid", "cancelled")


def build(path: Path, events: int, orders: int) -> None:
    open_store(str(path)).close()
    now = datetime.now(UTC)
    span = timedelta(days=30).total_seconds()
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("PRAGMA synchronous = OFF")
        conn.executemany(
            "INSERT INTO webhook_queue (dedupe_key, topic, resource_id, payload, received_via, "
            "status, attempts, next_attempt_at, received_at, updated_at, completed_at) "
            "VALUES (?, 'payment', ?, '{}', 'http', ?, ?, ?, ?, ?, ?)",
            (_row(n, events, now, span) for n in range(events)),
        )
        conn.executemany(
            "INSERT INTO webhook_dead_letter (queue_id, payload, reason, last_error, dead_at) "
            "VALUES (?, '{}', 'exhausted', 'mercadopago_unavailable: HTTP 503', ?)",
            ((n, utc_iso(now - timedelta(hours=n))) for n in range(100)),
        )
        conn.executemany(
            "INSERT INTO orders (id, status, amount, currency, title, created_at, updated_at) "
            "VALUES (?, ?, '4500.00', 'ARS', 'Mate', ?, ?)",
            (_order(n, orders, now, span) for n in range(orders)),
        )
        conn.executemany(
            "INSERT INTO webhook_reconciliation_logs (started_at, finished_at, status, swept) "
            "VALUES (?, ?, 'ok', 12)",
            (
                (utc_iso(now - timedelta(hours=h)), utc_iso(now - timedelta(hours=h)))
                for h in range(48)
            ),
        )


def _order(n: int, orders: int, now: datetime, span: float) -> tuple:
    stamp = utc_iso(now - timedelta(seconds=span * (orders - n) / orders))
    return (f"order-{n:07d}", ORDER_STATES[n % len(ORDER_STATES)], stamp, stamp)


def start_server(database: Path, cache_seconds: float) -> tuple[subprocess.Popen, str]:
    env = {
        **os.environ,
        "MPCHECKOUT_SERVER__STATUS_CACHE_SECONDS": str(cache_seconds),
        "MPCHECKOUT_MERCADOPAGO__WEBHOOK_SECRETS": SECRET,
        "MPCHECKOUT_SERVER__UI_TOKEN": TOKEN,
        "MPCHECKOUT_SERVER__MONITOR_TOKEN": TOKEN,
        "MPCHECKOUT_LOCALE": "en",
        "MPCHECKOUT_DATABASE__URL": str(database),
    }
    command = [sys.executable, "-m", "mpcheckout", "serve", "--port", "0", "--json"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return process, json.loads(process.stdout.readline())["url"]


def signed_in_client(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30, headers={"authorization": f"Bearer {TOKEN}"})
    form = client.get("/ui/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    client.post("/ui/login", data={"csrf": csrf, "token": TOKEN}, headers={"origin": url})
    return client


def timed(client: httpx.Client, path: str) -> Sample:
    """Median of a few GETs, in ms (the first warms caches and is not counted)."""
    client.get(path).raise_for_status()
    times = []
    for _ in range(REQUESTS_PER_SAMPLE):
        started = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
    return Sample(
        statistics.median(times),
        {"p90_ms": sorted(times)[int(len(times) * 0.9)], "bytes": len(answer.content)},
    )


class _Poller:
    """GET /ui/ and /metrics once a second, as an open browser tab and a Prometheus would."""

    def __init__(self, url: str) -> None:
        self.client, self.stop, self.polls = signed_in_client(url), threading.Event(), 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(1.0):
            for path in ("/ui/", "/metrics"):
                self.client.get(path).raise_for_status()
                self.polls += 1

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        self.client.close()


def run(scale: Scale) -> BenchResult:
    events = scale.pick(full=1_000_000, quick=2_000)
    orders = scale.pick(full=100_000, quick=200)
    seconds = scale.pick(full=10, quick=1)
    connections = scale.pick(full=8, quick=4)
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as folder:
        database = Path(folder) / "big.db"
        started = time.perf_counter()
        build(database, events, orders)
        took = time.perf_counter() - started
        built = f"built {events:,} events and {orders:,} orders in {took:.0f} s"
        # Pages are timed with the shared status report off, so each GET pays the whole report
        # (its cost per request, not a cache hit); intake runs on a server with the default.
        server, url = start_server(database, cache_seconds=0)
        try:
            with contextlib.closing(signed_in_client(url)) as client:
                pages = compare(
                    f"server time on loopback, median of {REQUESTS_PER_SAMPLE} GETs per sample",
                    "ms",
                    [
                        Contender(
                            "noop", "GET /healthz (no-op)", lambda _: timed(client, "/healthz")
                        ),
                        Contender("summary", "GET /ui/ (summary)", lambda _: timed(client, "/ui/")),
                        Contender(
                            "orders", "GET /ui/orders", lambda _: timed(client, "/ui/orders")
                        ),
                        Contender("metrics", "GET /metrics", lambda _: timed(client, "/metrics")),
                    ],
                    scale,
                    higher_is_better=False,
                )
        finally:
            server.terminate()
            server.wait()
        server, url = start_server(database, cache_seconds=DEFAULT_CACHE_SECONDS)
        try:
            intake = _intake(url, Path(folder), seconds, connections, scale)
        finally:
            server.terminate()
            server.wait()
    return BenchResult(NAME, TITLE, [pages, intake], _targets(pages, intake), [built, *_NOTES])


def _intake(url: str, folder: Path, seconds: int, connections: int, scale: Scale) -> Comparison:
    use_wrk = shutil.which("wrk") is not None
    (folder / "requests.lua").write_text(LUA)
    load = _Load(url, use_wrk, folder, seconds, connections)

    def polled(_: int) -> Sample:
        with _Poller(url) as poller:
            sample = load.webhooks()
        return Sample(sample.value, {**sample.details, "polls": poller.polls})

    generator = "wrk" if use_wrk else "python http.client"
    return compare(
        f"webhook intake, {connections} connections, {seconds} s per run, {generator}",
        "requests/s",
        [
            Contender("alone", "signed webhooks, nothing else", lambda _: load.webhooks()),
            Contender("polled", "the same, /ui/ and /metrics polled every second", polled),
        ],
        scale,
    )


def _targets(pages: Comparison, intake: Comparison) -> list[TargetCheck]:
    checks = [
        below(f"< 50 ms: {name}", pages.get(name).median, 50, f"{pages.get(name).median:.1f} ms")
        for name in ("summary", "orders", "metrics")
    ]
    ratio = intake.get("polled").median_ratio
    checks.append(at_least("intake polled ≥ 0.9× alone", ratio, 0.9, f"{ratio:.2f}×"))
    return checks


_NOTES = [
    "server time is measured by the client on loopback: it includes HTTP parsing, the same "
    "for the no-op baseline",
    "bytes is the page's size; the intake ratio compares runs alternated in the same process",
    "page times with server.status_cache_seconds = 0 (each GET builds its report); intake on "
    "a fresh server with the default, so /ui/ and /metrics share one report a second",
]


if __name__ == "__main__":
    from bench.__main__ import main

    main(["--only", NAME, *sys.argv[1:]])
