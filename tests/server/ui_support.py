"""A small shop for the status page tests: orders (one paid with its payment and the event that
brought it), and dead letters to look at and replay. Written through the store, as the pipeline
writes them; hostile strings can be put where a caller controls the text."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import httpx

from mpcheckout.models import Order, Payment
from mpcheckout.notifications import RawRequest, parse_notification
from mpcheckout.payments import decide, order_id_for
from mpcheckout.store.base import DeadLetterFilter, EventOutcome, PaymentRules

RULES = PaymentRules(order_id_for=order_id_for, decide=decide)
UI_TOKEN = "ui-token-for-tests-5c4b3a"


@dataclass(slots=True)
class Shop:
    paid_order: str
    pending_order: str
    dead_letters: list[int]
    dead_queue_ids: list[int]


def notification(n: int, payment_id: str, extra: dict | None = None):
    body = {"id": n, "type": "payment", "action": "payment.updated", "data": {"id": payment_id}}
    return parse_notification(RawRequest(body=json.dumps({**body, **(extra or {})}).encode()))


def seed_shop(store, now: datetime, title: str = "Mate y bombilla", dead: int = 2) -> Shop:
    for order_id, amount in (("order-paid-1", "4500.00"), ("order-wait-2", "1234.50")):
        store.create_order(
            Order(order_id, "pending", Decimal(amount), "ARS", now, now, title=title)
        )
    store.enqueue_many([notification(1, "777001")], "http", now)
    (event,) = store.claim_due_events("seed", 1, 60, now)
    payment = Payment(
        "777001",
        "approved",
        "accredited",
        "order-paid-1",
        Decimal("4500.00"),
        "ARS",
        now,
        now,
        raw={"id": 777001, "status": "approved", "live_mode": True},
    )
    store.commit_outcomes(
        "seed", [EventOutcome(event.id, "completed", payments=(payment,))], RULES, now
    )
    store.enqueue_many([notification(100 + n, f"88800{n}") for n in range(dead)], "http", now)
    claimed = store.claim_due_events("seed", dead, 60, now)
    error = "mercadopago_not_found: HTTP 404; payment not found"
    outcomes = [EventOutcome(e.id, "dead", error=error, dead_reason="permanent") for e in claimed]
    store.commit_outcomes("seed", outcomes, RULES, now)
    letters = sorted(store.list_dead_letters(DeadLetterFilter()), key=lambda d: d.id)
    return Shop(
        "order-paid-1", "order-wait-2", [d.id for d in letters], [d.queue_id for d in letters]
    )


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def sign_in(client: httpx.Client, url: str, token: str = UI_TOKEN, lang: str = "en"):
    form = client.get(f"{url}/ui/login")
    return client.post(
        f"{url}/ui/login",
        data={"csrf": csrf_of(form.text), "token": token, "lang": lang},
        headers={"origin": url},
    )
