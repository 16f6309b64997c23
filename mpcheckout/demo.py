"""`mpcheckout demo`: the whole job end to end against the built-in sandbox, with no account.

Ten orders, ten stories a shop meets in its first weeks: a plain approval, a rejection, a
cash payment that stays pending before it is approved, a refund, a notification Mercado Pago
delivers three times plus its legacy IPN twin, a payment for the wrong amount, a payment
whose lookups keep failing until the retry schedule gives up and a person replays it, a
partial refund and then the rest (made from the tool, keyed and stored), a chargeback that
Mercado Pago covers, and a Checkout Pro order of the Orders API, paid (a `type: order`
notification) and then refunded in part by the shop. Plus one malformed notification, kept as
a dead letter. The demo checks
its own outcome.

Time: a clock that starts two hours ago and is fast-forwarded through the retry schedule, so
the real schedule (1, 2, 4, ... 32 minutes) runs in a second and no timestamp lands in the
future.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from .actions import ActionRequest, execute_action, prepare_action
from .checkout import CartItem, CheckoutApi, create_checkout
from .clock import ManualClock
from .config import MercadoPagoSettings, QueueSettings, ReportSettings, SecretStr
from .dead_letters import replay
from .gateway import MercadoPagoGateway, build_gateway
from .ingest import SignaturePolicy, receive_request
from .models import DeadLetter, EventStatus, Order
from .money import MoneyReport, money_report
from .notifications import InvalidNotificationError, RawRequest
from .processor import ProcessSummary, build_processor
from .sandbox.client import SandboxControl
from .store.base import DeadLetterFilter, EventFilter, Store

DEMO_TOKEN = "TEST-demo"
DEMO_SECRET = "demo-webhook-secret"

Step = Callable[[str, dict[str, Any]], None]


@dataclass(slots=True, frozen=True)
class Story:
    name: str
    title: str
    price: str
    expected: str


STORIES = (
    Story("approved", "Mate gourd", "4500.00", "paid"),
    Story("rejected", "Yerba mate 1 kg", "3200.00", "rejected"),
    Story("pending_then_approved", "Thermos", "28000.00", "paid"),
    Story("refunded", "Bombilla", "1900.00", "refunded"),
    Story("redelivered", "Alfajores x12", "6000.00", "paid"),
    Story("wrong_amount", "Poncho", "52000.00", "amount_mismatch"),
    Story("api_failing", "Dulce de leche", "2500.00", "paid"),
    Story("refunded_in_two", "Mate set", "9000.00", "refunded"),
    Story("chargeback_covered", "Leather bag", "15000.00", "chargeback_covered"),
    Story("orders_api", "Yerba sampler", "8000.00", "partially_refunded"),
)
ORDERS_API_STORY = "orders_api"  # created through the Orders API, not a preference
ORDERS_API_REFUND = Decimal("2000.00")


@dataclass(slots=True)
class DemoReport:
    sandbox_url: str = ""
    orders: list[Order] = field(default_factory=list)
    expected: dict[str, str] = field(default_factory=dict)
    queue: dict[str, int] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    seconds: float = 0.0
    money: MoneyReport | None = None  # the settlement report matched to the demo's orders

    @property
    def as_expected(self) -> bool:
        found = all(order.status == self.expected[order.id] for order in self.orders)
        return found and len(self.orders) == len(self.expected)


class _Demo:
    def __init__(self, store: Store, sandbox_url: str, step: Step) -> None:
        self.store, self.step = store, step
        self.clock = ManualClock(datetime.now(UTC) - timedelta(hours=2))
        self.run = os.urandom(3).hex()
        self.control = SandboxControl(sandbox_url)
        self.gateway: MercadoPagoGateway = build_gateway(
            MercadoPagoSettings(
                access_token=SecretStr(DEMO_TOKEN),
                api_base=sandbox_url,
                max_retries=0,
                read_timeout=3.0,
            )
        )
        self.processor = build_processor(
            store, self.gateway, self.clock, QueueSettings(), f"demo:{os.getpid()}", concurrency=4
        )
        self.policy = SignaturePolicy(secrets=(DEMO_SECRET,), now=time.time)
        self.payments: dict[str, dict[str, Any]] = {}
        self.mp_order_id = ""

    def close(self) -> None:
        self.gateway.close()
        self.control.close()

    def reference(self, story: Story) -> str:
        return f"demo-{self.run}-{story.name}"

    def story(self, name: str) -> Story:
        return next(story for story in STORIES if story.name == name)

    # -- acts ----------------------------------------------------------------------------------
    def open_checkouts(self) -> None:
        for story in STORIES:
            item = CartItem(story.title, 1, Decimal(story.price), "ARS")
            api: CheckoutApi = "orders" if story.name == ORDERS_API_STORY else "preferences"
            result = create_checkout(
                self.store,
                self.gateway,
                self.clock,
                [item],
                reference=self.reference(story),
                api=api,
            )
            if result.mp_order_id is not None:
                self.mp_order_id = result.mp_order_id
        self.step("demo.checkouts", {"count": len(STORIES)})

    def buyers_pay(self) -> None:
        self._pay("approved", "approved")
        self._pay("rejected", "rejected", status_detail="cc_rejected_insufficient_amount")
        self._pay("pending_then_approved", "pending", status_detail="pending_waiting_payment")
        self._pay("refunded", "approved")
        self._pay("redelivered", "approved", notify={"duplicates": 2, "ipn": True})
        self._pay("wrong_amount", "approved", transaction_amount="5200.00")
        self._pay("refunded_in_two", "approved")
        self._pay("chargeback_covered", "approved")
        self.control.pay_order(self.mp_order_id)  # notified as type=order
        self.step("demo.buyers", {})

    def _pay(self, name: str, status: str, **fields: Any) -> None:
        story = self.story(name)
        fields.setdefault("transaction_amount", story.price)
        self.payments[name] = self.control.create_payment(
            external_reference=self.reference(story), status=status, currency_id="ARS", **fields
        )

    def later_changes(self) -> None:
        self.control.move_payment(self.payments["pending_then_approved"]["id"], "approved")
        self.control.move_payment(self.payments["refunded"]["id"], "refunded")
        self.step("demo.later", {})
        request = ActionRequest("refund", self.mp_order_id, ORDERS_API_REFUND)
        prepared = prepare_action(self.store, self.gateway, request, self.clock.now())
        execute_action(self.store, self.gateway, prepared, self.clock.now())
        amount = f"{ORDERS_API_REFUND} ARS"
        self.step("demo.orders_refund", {"amount": amount, "order_id": self.mp_order_id})

    def money_back(self) -> None:
        """A partial refund and then the rest, made as `payments refund` makes them (keyed,
        stored, re-fetched); then a chargeback that Mercado Pago decides for the shop."""
        payment_id = str(self.payments["refunded_in_two"]["id"])
        for amount in (Decimal("2500.00"), None):
            request = ActionRequest("refund", payment_id, amount)
            prepared = prepare_action(self.store, self.gateway, request, self.clock.now())
            execute_action(self.store, self.gateway, prepared, self.clock.now())
        self.step("demo.refunds", {"partial": "2500.00", "rest": "6500.00"})
        case = self.control.open_chargeback(self.payments["chargeback_covered"]["id"])
        self.control.resolve_chargeback(case["id"], "reimbursed")
        self.step("demo.chargeback", {"chargeback_id": case["id"]})

    def receive(self) -> None:
        queued = duplicates = 0
        for request in self.control.take_outbox():
            result = receive_request(self.store, request, self.clock, self.policy)
            queued += result.queued
            duplicates += not result.queued
        self.step("demo.received", {"queued": queued, "duplicates": duplicates})

    def receive_malformed(self) -> None:
        garbage = RawRequest(query="type=payment", body=b'{"type": "payment", "data": {"id": ')
        try:
            receive_request(self.store, garbage, self.clock, None)
        except InvalidNotificationError:
            self.step("demo.malformed", {})

    def process(self) -> ProcessSummary:
        summary = self.processor.run_once()
        self.step(
            "demo.processed",
            {
                "completed": summary.completed,
                "retried": summary.retried,
                "dead": summary.dead_lettered,
                "applied": sum(v for k, v in summary.payments.items() if k != "duplicate"),
                "duplicates": summary.payments.get("duplicate", 0),
            },
        )
        return summary

    def outage_until_exhausted(self) -> None:
        self.control.add_fault(endpoint="payments.get", error_rate=1.0, error_statuses=[503])
        self.step("demo.outage", {})
        self._pay("api_failing", "approved")
        self.receive()
        for _attempt in range(self.processor.policy.max_attempts):
            summary = self.processor.run_once()
            if summary.dead_lettered:
                break
            due = self.store.list_events(EventFilter(status=EventStatus.PENDING, limit=1))
            waited = due[0].next_attempt_at - self.clock.now()
            self.clock.set(due[0].next_attempt_at)
            self.step("demo.retry", {"minutes": int(waited.total_seconds() // 60)})
        self.step("demo.exhausted", {"attempts": self.processor.policy.max_attempts})

    def recover_and_replay(self) -> None:
        self.control.clear_faults()
        letters = self.store.list_dead_letters(DeadLetterFilter(reason="exhausted"))
        replay(self.store, self.clock, letters, dry_run=False)
        self.step("demo.replay", {"count": len(letters)})
        self.process()

    def settle(self) -> MoneyReport:
        """Mercado Pago's settlement report of the last day: fetched, imported and matched.
        The sandbox dates its report by the real clock, so the money is read at real time."""
        from .report_fetch import FetchRequest, fetch_reports

        now = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
        request = FetchRequest("settlement", now - timedelta(days=1), now)
        fetched = fetch_reports(
            self.store, self.gateway, self.clock, request, ReportSettings(),
            sleep=self._skip,
        )  # fmt: skip
        self.step("demo.settled", {"rows": fetched.rows_added})
        return money_report(self.store, ManualClock(now), since="1d", by="order")

    def _skip(self, seconds: float) -> None:
        """A wait the demo's clock fast-forwards instead of sleeping."""
        self.clock.advance(seconds=seconds)

    def report(self, sandbox_url: str) -> DemoReport:
        report = DemoReport(sandbox_url=sandbox_url)
        for story in STORIES:
            order = self.store.get_order(self.reference(story))
            if order is not None:  # a missing order fails the report (`ok`)
                report.orders.append(order)
            report.expected[self.reference(story)] = story.expected
        now = self.clock.now()
        snapshot = self.store.queue_snapshot(now, now - timedelta(days=1), now - timedelta(hours=3))
        report.queue = {
            "pending": snapshot.pending_due + snapshot.pending_later,
            "processing": snapshot.processing,
            "completed": snapshot.completed_since,
            "dead": snapshot.dead_unresolved,
        }
        report.dead_letters = self.store.list_dead_letters(
            DeadLetterFilter(
                unresolved_only=False, since=self.clock.now() - timedelta(hours=3), limit=20
            )
        )
        return report


def run_demo(store: Store, step: Step) -> DemoReport:
    """Run every act against a fresh in-process sandbox; `step(key, params)` narrates."""
    from .sandbox.server import SandboxServer, time_based_id_offset  # uvicorn: only when asked

    started = time.monotonic()
    with SandboxServer(DEMO_TOKEN, DEMO_SECRET, id_offset=time_based_id_offset()) as sandbox:
        step("demo.sandbox", {"url": sandbox.url})
        with closing(_Demo(store, sandbox.url, step)) as demo:
            demo.open_checkouts()
            demo.buyers_pay()
            demo.receive()
            demo.receive_malformed()
            demo.process()
            demo.later_changes()
            demo.money_back()
            demo.receive()
            demo.process()
            demo.outage_until_exhausted()
            demo.recover_and_replay()
            money = demo.settle()
            report = demo.report(sandbox.url)
            report.money = money
    report.seconds = time.monotonic() - started
    return report
