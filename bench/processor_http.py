"""The processor against the sandbox over real HTTP with added latency: how close it gets to the
ideal `concurrency / latency` events per second. The sandbox runs in its own process (as the
real API would be elsewhere), started with `mpcheckout sandbox serve --latency-ms`.

    python -m bench.processor_http [--events 3000] [--latency-ms 50] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from mpcheckout.clock import SystemClock
from mpcheckout.config import MercadoPagoSettings, QueueSettings
from mpcheckout.gateway import build_gateway
from mpcheckout.notifications import RawRequest, parse_notification
from mpcheckout.processor import build_processor
from mpcheckout.store import open_store

TOKEN = "TEST-bench"


def start_sandbox(latency_ms: int) -> tuple[subprocess.Popen, str]:
    command = [
        sys.executable,
        "-m",
        "mpcheckout",
        "sandbox",
        "serve",
        "--port",
        "0",
        "--access-token",
        TOKEN,
        "--latency-ms",
        str(latency_ms),
        "--json",
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "MPCHECKOUT_LOCALE": "en"},
    )
    url = json.loads(process.stdout.readline())["url"]
    return process, url


def seed(path: Path, url: str, events: int) -> None:
    created = httpx.post(
        f"{url}/_sandbox/payments/bulk",
        timeout=30,
        json={
            "count": events,
            "status": "approved",
            "external_reference_prefix": "order-",
            "transaction_amount": "10.00",
            "currency_id": "ARS",
        },
    ).json()
    store = open_store(str(path))
    notifications = [
        parse_notification(
            RawRequest(
                body=json.dumps(
                    {
                        "id": index,
                        "type": "payment",
                        "action": "payment.created",
                        "data": {"id": str(payment_id)},
                    }
                ).encode()
            )
        )
        for index, payment_id in enumerate(range(created["first_id"], created["last_id"] + 1))
    ]
    store.enqueue_many(notifications, "http", datetime.now(UTC))
    store.close()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) another process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(path: Path, url: str, concurrency: int) -> tuple[float, int]:
    store = open_store(str(path))
    settings = MercadoPagoSettings(access_token=TOKEN, api_base=url, max_retries=0)
    gateway = build_gateway(settings)
    processor = build_processor(
        store,
        gateway,
        SystemClock(),
        QueueSettings(),
        "bench:http",
        concurrency=concurrency,
        batch_size=50,
    )
    started = time.perf_counter()
    summary = processor.run_once()
    elapsed = time.perf_counter() - started
    gateway.close()
    store.close()
    return elapsed, summary.completed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()
    ideal = args.concurrency / (args.latency_ms / 1000)
    sandbox, url = start_sandbox(args.latency_ms)
    rates, worker_cpu, sandbox_cpu = [], [], []
    try:
        with tempfile.TemporaryDirectory() as folder:
            for repetition in range(args.repetitions):
                path = Path(folder) / f"http{repetition}.db"
                seed(path, url, args.events)
                cpu_before, sandbox_before = time.process_time(), cpu_seconds(sandbox.pid)
                elapsed, done = run(path, url, args.concurrency)
                assert done == args.events, done
                rates.append(done / elapsed)
                worker_cpu.append((time.process_time() - cpu_before) / done)
                sandbox_cpu.append((cpu_seconds(sandbox.pid) - sandbox_before) / done)
    finally:
        sandbox.terminate()
        sandbox.wait()
    median = statistics.median(rates)
    print(
        f"{args.events:,} events over HTTP to the sandbox (own process), "
        f"{args.latency_ms} ms latency, concurrency {args.concurrency}"
    )
    print(
        f"ideal {ideal:,.0f} events/s; measured median {median:,.0f} events/s "
        f"[{min(rates):,.0f}-{max(rates):,.0f}] = {median / ideal:.0%} of ideal "
        f"(per repetition: {', '.join(f'{r / ideal:.0%}' for r in rates)})"
    )
    worker, api = statistics.median(worker_cpu) * 1000, statistics.median(sandbox_cpu) * 1000
    print(
        f"CPU per event (median): processor {worker:.2f} ms, sandbox {api:.2f} ms; "
        f"on {os.cpu_count()} cores the CPU alone caps this at "
        f"{os.cpu_count() / ((worker + api) / 1000):,.0f} events/s, and one processor "
        f"(one interpreter) at {1000 / worker:,.0f} events/s"
    )


if __name__ == "__main__":
    main()
