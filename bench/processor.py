"""3. Claim + apply + ack with the gateway answering instantly, one worker: the queue's own
overhead. mpcheckout's processor vs the raw SQL baseline (claim 50, insert the payment logs,
update the orders, ack 50, one transaction), huey and persist-queue doing get + the same work +
ack (see bench/drain.py for exactly what each does). Two instant gateways for mpcheckout:
- `fake`: an in-process object returning the pre-parsed payment (the target's contender);
- `sdk`: the real SDK and gateway over an in-process httpx transport (what the client stack
  costs per call, which no queue can go below).
The processor runs with concurrency 1: an instant gateway gains nothing from fetch threads.

    python -m bench.processor [--quick] [--json FILE]    (same as python -m bench --only processor)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import mercadopago
from mercadopago.config import RequestOptions

from bench import peers
from bench.drain import (
    ORDERS,
    WORKERS,
    FakeGateway,
    Files,
    applied_payments,
    build_templates,
    copy_files,
    payment_body,
)
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
from bench.payloads import payment_id_of, payment_notification_lines
from mpcheckout.gateway import MercadoPagoGateway, _NoCookies, sdk_transport

NAME = "processor"
TITLE = "3. Claim + apply + ack, gateway answering instantly"
__all__ = ["ORDERS", "FakeGateway", "instant_gateway", "payment_body", "run"]  # bench users
_LABELS = {
    "raw": "raw SQL baseline (batches of 50)",
    "mpcheckout": "mpcheckout processor, fake gateway",
    "mpcheckout_sdk": "mpcheckout processor, SDK + httpx",
    "huey": "huey dequeue + work",
    "persist_queue": "persist-queue get + work + ack",
}


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


def run(scale: Scale) -> BenchResult:
    events = scale.pick(full=20_000, quick=500)
    lines = payment_notification_lines(events)
    gateway = FakeGateway(payment_id_of(line) for line in lines)
    with tempfile.TemporaryDirectory(prefix="bench-processor-") as folder:
        templates = build_templates(Path(folder), lines)
        contenders = [
            _contender(name, templates[name], Path(folder), events, gateway)
            for name in ("raw", "mpcheckout", "huey", "persist_queue")
            if name in templates
        ]
        contenders.insert(2, _sdk_contender(templates["mpcheckout"], Path(folder), events))
        comparison = compare(
            f"{events:,} payment events, one worker", "events/s", contenders, scale
        )
    return BenchResult(NAME, TITLE, [comparison], _targets(comparison), peers.missing_peers_note())


def _contender(name: str, template: Files, folder: Path, events: int, gateway: Any) -> Contender:
    def measure(repetition: int) -> Sample:
        files = copy_files(template, folder, f"{name}-{repetition}")
        return _drain_timed(name, name, files, events, gateway)

    return Contender(name, _LABELS[name], measure)


def _sdk_contender(template: Files, folder: Path, events: int) -> Contender:
    def measure(repetition: int) -> Sample:
        files = copy_files(template, folder, f"sdk-{repetition}")
        gateway = instant_gateway()
        sample = _drain_timed("mpcheckout_sdk", "mpcheckout", files, events, gateway)
        gateway.close()
        return sample

    return Contender("mpcheckout_sdk", _LABELS["mpcheckout_sdk"], measure)


def _drain_timed(name: str, kind: str, files: Files, events: int, gateway: Any) -> Sample:
    worker = WORKERS[kind](files, f"bench:{name}", gateway)
    started = time.perf_counter()
    handled = worker.drain()
    elapsed = time.perf_counter() - started
    worker.close()
    _check_complete(name, handled, files, events)
    return Sample(events / elapsed)


def _check_complete(name: str, handled: list[str], files: Files, events: int) -> None:
    """One worker alone must handle every event once; anything else is a broken benchmark."""
    applied = applied_payments(files)
    if len(handled) != events or len(set(handled)) != events or applied != events:
        raise RuntimeError(f"{name}: handled {len(handled)}, applied {applied} of {events}")


def _targets(comparison: Comparison) -> list[TargetCheck]:
    ours = comparison.get("mpcheckout")
    checks = [
        TargetCheck("≥ 0.2× raw baseline", f"{ours.median_ratio:.2f}×", ours.median_ratio >= 0.2)
    ]
    names = {result.name for result in comparison.contenders}
    for peer in ("huey", "persist_queue"):
        label = peer.replace("_", "-")
        if peer not in names:
            checks.append(not_measured(f"≥ 2× {label}", label))
            continue
        ratio = ours.median / comparison.get(peer).median
        checks.append(TargetCheck(f"≥ 2× {label}", f"{ratio:.2f}×", ratio >= 2))
    return checks


if __name__ == "__main__":
    from bench.__main__ import main

    main(["--only", NAME, *sys.argv[1:]])
