"""Typed records shared by every layer. Plain dataclasses: cheap on the hot path, easy to dump."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from .records import record


class EventStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    DEAD = "dead"


class DeadLetterReason(StrEnum):
    EXHAUSTED = "exhausted"
    PERMANENT = "permanent"
    INVALID = "invalid"


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    DISPUTED = "disputed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # an Orders-API order nobody paid before it expired
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    CHARGEBACK_OPEN = "chargeback_open"  # the buyer disowned the payment; the case is open
    CHARGEBACK_LOST = "chargeback_lost"  # charged_back/settled: the money went back to the buyer
    CHARGEBACK_COVERED = "chargeback_covered"  # charged_back/reimbursed: Mercado Pago covered it
    CHARGED_BACK = "charged_back"  # wave 1's state, before the outcome was told apart
    AMOUNT_MISMATCH = "amount_mismatch"


class ReceivedVia(StrEnum):
    HTTP = "http"
    FILE = "file"
    STDIN = "stdin"
    REPLAY = "replay"


# Kinds stored as text and read back as plain strings: Literal, so a row is its type as it is.
NotificationKind = Literal["webhook", "ipn"]
OrderSource = Literal["local", "mercadopago"]
PaymentSource = Literal["webhook", "reconcile", "replay", "action"]
Resolution = Literal["replayed", "discarded"]
RunStatus = Literal["ok", "partial", "failed"]


@record(slots=True, frozen=True)
class Notification:
    """One parsed Mercado Pago notification, before it is queued.

    `kind` is "webhook" (modern Webhooks) or "ipn" (legacy IPN). `payload` is the body as
    received; `headers` are the request headers with secrets removed.
    """

    kind: NotificationKind
    topic: str
    action: str | None
    resource_id: str | None
    notification_id: str | None
    live_mode: bool | None
    user_id: str | None
    dedupe_key: str
    payload: str
    headers: dict[str, str] = field(default_factory=dict)


@record(slots=True, frozen=True)
class InvalidInput:
    """Something that arrived and could not be parsed: kept whole, with the reason."""

    payload: str
    error: str
    headers: dict[str, str] = field(default_factory=dict)
    received_via: str = ReceivedVia.FILE


@record(slots=True)
class QueueEvent:
    id: int
    dedupe_key: str
    topic: str
    action: str | None
    resource_id: str | None
    live_mode: bool | None
    payload: str
    headers: dict[str, str]
    received_via: str
    status: str
    attempts: int
    next_attempt_at: datetime
    locked_by: str | None
    locked_until: datetime | None
    last_error: str | None
    errors: list[dict[str, Any]]
    note: str | None
    received_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    user_id: str | None = None  # the account the notification names (its `user_id`)


@record(slots=True, frozen=True)
class ClaimedEvent:
    """What a worker needs of an event it holds a lease on (the payload stays in the store)."""

    id: int
    topic: str
    action: str | None
    resource_id: str | None
    attempts: int
    received_via: str


@record(slots=True, frozen=True)
class Payment:
    """The parts of a Mercado Pago payment mpcheckout acts on; `raw` keeps the whole answer."""

    id: str
    status: str
    status_detail: str | None
    external_reference: str | None
    amount: Decimal | None
    currency: str | None
    date_last_updated: datetime | None
    date_approved: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)
    refunded_amount: Decimal | None = None  # transaction_amount_refunded, as Mercado Pago says
    refunds: tuple[Refund, ...] = ()
    # Set when the state was read from an Orders-API order (order_payments.py): its `ORD…` id
    # and `version`, so an older version of the same order is told apart from a newer one.
    mp_order_id: str | None = None
    mp_order_version: int | None = None


@record(slots=True, frozen=True)
class MerchantOrder:
    id: str
    status: str | None
    external_reference: str | None
    preference_id: str | None
    payment_ids: tuple[str, ...]
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)


@record(slots=True, frozen=True)
class Preference:
    id: str
    init_point: str | None
    sandbox_init_point: str | None
    external_reference: str | None
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)


@record(slots=True)
class Order:
    id: str
    status: str
    amount: Decimal | None
    currency: str | None
    created_at: datetime
    updated_at: datetime
    source: OrderSource = "local"
    title: str | None = None
    preference_id: str | None = None
    payment_id: str | None = None
    payment_status: str | None = None
    payment_updated_at: datetime | None = None
    paid_at: datetime | None = None
    mp_order_id: str | None = None  # the Orders-API order (`ORD…`) behind it, if any
    mp_order_version: int | None = None  # the version of that order last applied


@record(slots=True, frozen=True)
class PaymentLog:
    id: int
    payment_id: str
    status: str
    status_detail: str | None
    external_reference: str | None
    amount: Decimal | None
    currency: str | None
    date_last_updated: datetime | None
    source: PaymentSource
    recorded_at: datetime
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)
    refunded_amount: Decimal | None = None


@record(slots=True)
class DeadLetter:
    id: int
    queue_id: int | None
    dedupe_key: str | None
    topic: str | None
    payload: str
    headers: dict[str, str]
    reason: str
    last_error: str | None
    errors: list[dict[str, Any]]
    attempts: int
    received_via: str | None
    dead_at: datetime
    resolved_at: datetime | None = None
    resolution: Resolution | None = None
    note: str | None = None


@record(slots=True)
class ReconcileRun:
    id: int | None
    started_at: datetime
    finished_at: datetime | None
    status: RunStatus
    leases_recovered: int = 0
    retried: int = 0
    swept: int = 0
    drift_fixed: int = 0
    archived: int = 0
    dead_lettered: int = 0
    errors: int = 0
    details: dict[str, Any] = field(default_factory=dict)


def to_jsonable(value: Any) -> Any:
    """Dataclasses, enums, Decimals and datetimes -> plain JSON types (money as strings)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    if isinstance(value, datetime):
        from .clock import utc_iso

        return utc_iso(value)
    if isinstance(value, Decimal):
        return str(value)
    return value


def dump_json(value: Any, **kwargs: Any) -> str:
    return json.dumps(to_jsonable(value), ensure_ascii=False, **kwargs)


@record(slots=True, frozen=True)
class Refund:
    """One refund of a payment, recorded once under Mercado Pago's refund id."""

    id: str
    payment_id: str
    amount: Decimal
    status: str  # approved | in_process | rejected
    source_type: str | None  # who asked: collector, operator, admin...
    date_created: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)


@record(slots=True, frozen=True)
class Chargeback:
    """A chargeback as GET /v1/chargebacks/{id} documents it (`payments` is a list; amounts
    and booleans sometimes arrive as strings); the id is 18 digits and stays a string."""

    id: str
    payment_ids: tuple[str, ...]
    amount: Decimal | None
    currency: str | None
    coverage_applied: bool | None  # None until resolved; True: decided for the seller
    coverage_eligible: bool | None
    documentation_required: bool
    documentation_status: str | None
    documentation_deadline: datetime | None
    date_created: datetime | None
    date_last_updated: datetime | None
    live_mode: bool | None
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)


ActionKind = Literal["refund", "cancel", "capture", "create_order"]


@record(slots=True, frozen=True)
class Refusal:
    """Why a write is not sent: a catalog key and its parameters (nothing was written)."""

    message_key: str
    params: dict[str, Any]


@record(slots=True, frozen=True)
class ActionPlan:
    """One write, decided and keyed, ready to be stored and sent."""

    kind: ActionKind
    payment_id: str
    order_id: str | None
    amount: Decimal | None  # what the operator asked for; None = the whole (remaining) amount
    effective_amount: Decimal | None  # what moves: the amount, or the remainder for a full refund
    currency: str | None
    body: dict[str, Any] | None  # None: no body at all (a full refund)
    key: str
    warning: Refusal | None = None


ChargebackOutcome = Literal["open", "lost", "covered"]


@record(slots=True, frozen=True)
class LedgerRefund:
    """A refund as the ledger holds it: once per Mercado Pago refund id, with its order."""

    id: str
    payment_id: str
    order_id: str | None
    amount: Decimal
    status: str
    source_type: str | None
    date_created: datetime | None
    first_seen_at: datetime


@record(slots=True, frozen=True)
class LedgerChargeback:
    """A chargeback as the ledger holds it: once per chargeback id, with its order and how it
    ended (open until Mercado Pago decides; covered: decided for the shop; lost: against it)."""

    id: str
    payment_id: str | None
    order_id: str | None
    amount: Decimal | None
    currency: str | None
    outcome: ChargebackOutcome
    coverage_applied: bool | None
    documentation_required: bool
    documentation_status: str | None
    documentation_deadline: datetime | None
    date_created: datetime | None
    date_last_updated: datetime | None
    first_seen_at: datetime
    updated_at: datetime
    alerted_at: datetime | None


MpOrderType = Literal["online", "qr", "point"]


@record(slots=True, frozen=True)
class MpOrderPayment:
    """One payment transaction of an Orders-API order (`PAY01…`); `reference_id` is the
    Payments-API payment behind it when Mercado Pago names one (QR orders do)."""

    id: str
    amount: Decimal
    paid_amount: Decimal | None
    status: str | None
    status_detail: str | None
    reference_id: str | None


@record(slots=True, frozen=True)
class MpOrderRefund:
    """One refund of an Orders-API order (`REF01…`), of the transaction it names."""

    id: str
    transaction_id: str | None
    amount: Decimal
    status: str | None
    reference_id: str | None


@record(slots=True, frozen=True)
class MpOrder:
    """An Orders-API order (`ORD…`) as GET /v1/orders/{id} answers it. Amounts arrive as
    strings ("100.00") and are read as exact Decimals; `version` grows with every change
    (0 when the answer carries none)."""

    id: str
    status: str
    status_detail: str | None
    external_reference: str | None
    total_amount: Decimal
    total_paid_amount: Decimal | None
    currency: str | None
    type: str  # online | qr | point (MpOrderType), kept as sent should a new one appear
    version: int
    last_updated_date: datetime | None
    created_date: datetime | None  # what the Orders search's date window filters on
    transactions: tuple[MpOrderPayment, ...] = ()  # transactions.payments
    refunds: tuple[MpOrderRefund, ...] = ()  # transactions.refunds
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def refunded_amount(self) -> Decimal:
        """What went back to the buyer: the refunds Mercado Pago reports as processed."""
        done = (r.amount for r in self.refunds if r.status in (None, "processed"))
        return sum(done, Decimal(0))
