"""Realistic Mercado Pago notifications for benchmarks: ~600 bytes each, modern Webhooks and
legacy IPN mixed, a share of exact duplicates (Mercado Pago redelivers)."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

FIRST_PAYMENT_ID = 90_000_000_000


def notification_lines(count: int, seed: int = 7, duplicate_share: float = 0.02) -> Iterator[str]:
    rng = random.Random(seed)
    recent: list[str] = []
    for index in range(count):
        if recent and rng.random() < duplicate_share:
            yield rng.choice(recent)
            continue
        line = _modern(index, rng) if rng.random() < 0.8 else _ipn(index, rng)
        recent = [*recent, line][-100:]
        yield line


def payment_notification_lines(count: int, seed: int = 7) -> list[str]:
    """Modern payment notifications, all distinct: what the processor benchmarks drain (every
    one must be fetched and applied once)."""
    rng = random.Random(seed)
    return [_modern(index, rng) for index in range(count)]


def payment_id_of(line: str | bytes) -> str:
    return json.loads(line)["data"]["id"]


def _modern(index: int, rng: random.Random) -> str:
    payment_id = FIRST_PAYMENT_ID + index
    return json.dumps(
        {
            "action": rng.choice(["payment.created", "payment.updated"]),
            "api_version": "v1",
            "data": {"id": str(payment_id)},
            "date_created": "2026-11-28T10:04:58.396-04:00",
            "id": 120_000_000_000 + index,
            "live_mode": True,
            "type": "payment",
            "user_id": 724484980,
            "application_id": "7650643018598312",
            "forwarded": {
                "x-request-id": str(uuid.UUID(int=rng.getrandbits(128))),
                "x-signature": f"ts=1742505638683,v1={rng.getrandbits(256):064x}",
                "user-agent": "restclient-node/4.15.3",
                "x-rest-pool-name": "/services/webhooks.js",
                "traceparent": f"00-{rng.getrandbits(128):032x}-{rng.getrandbits(64):016x}-00",
            },
        },
        separators=(",", ":"),
    )


def _ipn(index: int, rng: random.Random) -> str:
    if rng.random() < 0.5:
        body = {"resource": str(80_000_000_000 + index), "topic": "payment"}
    else:
        url = f"https://api.mercadolibre.com/merchant_orders/{30_000_000_000 + index}"
        body = {"resource": url, "topic": "merchant_order"}
    body["forwarded"] = {
        "user-agent": "MercadoPago Feed v2.0 payment",
        "x-request-id": str(uuid.UUID(int=rng.getrandbits(128))),
        "traceparent": f"00-{rng.getrandbits(128):032x}-{rng.getrandbits(64):016x}-00",
        "padding": "p" * 220,
    }
    return json.dumps(body, separators=(",", ":"))


def write_jsonl(path: Path, count: int, seed: int = 7) -> Path:
    with path.open("w") as handle:
        for line in notification_lines(count, seed):
            handle.write(line + "\n")
    return path
