"""The sandbox's in-memory model: preferences, payments (with their refunds), merchant orders and
chargebacks, and the few ways they change. Touched only from the server's event loop (and before
it starts, by the seed loader), so it needs no lock. JSON shapes live in render.py; input
parsing in inputs.py; Mercado Pago's rules for writes in payment_writes.py and chargebacks.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from . import mp_errors
from .dates import to_millis

# Payment and merchant order ids exceed 2^31, as real ones do (SOURCES.md).
FIRST_PAYMENT_ID = 1_320_000_000_001
FIRST_MERCHANT_ORDER_ID = 24_000_000_001
# Refund ids are 10 digits (a real one: 1576182673); chargeback ids 18 digits, above 2**53, so a
# client that reads one as a float rounds it (Mercado Pago's own docs print them ending in 000).
FIRST_REFUND_ID = 1_576_182_673
FIRST_CHARGEBACK_ID = 234_000_062_890_459_137
# The sandbox seller: `user_id` in notifications, `collector_id` in payments and preferences
# (the value of Mercado Pago's own payment.updated example).
COLLECTOR_ID = 724484980
DEFAULT_CURRENCY = "ARS"
DEFAULT_AMOUNT = Decimal(100)

PAYMENT_STATUSES = (
    "pending",
    "approved",
    "authorized",
    "in_process",
    "in_mediation",
    "rejected",
    "cancelled",
    "refunded",
    "charged_back",
)
# The status_detail Mercado Pago pairs with each status when nothing more specific applies.
DEFAULT_STATUS_DETAIL = {
    "pending": "pending_waiting_payment",
    "approved": "accredited",
    "authorized": "pending_capture",
    "in_process": "pending_contingency",
    "in_mediation": "in_process",
    "rejected": "cc_rejected_other_reason",
    "cancelled": "by_collector",
    "refunded": "refunded",
    "charged_back": "settled",
}
# Statuses a payment only reaches after it was approved, so it carries a date_approved.
_APPROVED_BEFORE = frozenset({"refunded", "charged_back", "in_mediation"})


@dataclass(slots=True)
class Preference:
    id: str
    items: list[dict[str, Any]]
    total: Decimal
    currency_id: str
    date_created: datetime
    fields: dict[str, Any]  # what the request set (external_reference, back_urls, payer, ...)

    @property
    def external_reference(self) -> str | None:
        return self.fields.get("external_reference")

    @property
    def notification_url(self) -> str | None:
        return self.fields.get("notification_url")


@dataclass(slots=True)
class Payment:
    id: int
    status: str
    status_detail: str
    external_reference: str | None
    transaction_amount: Decimal
    currency_id: str
    date_created: datetime
    date_last_updated: datetime
    date_approved: datetime | None
    merchant_order_id: int
    preference_id: str | None = None
    description: str | None = None
    payment_method_id: str = "master"
    payment_type_id: str = "credit_card"
    payer_email: str = "test_user_80507629@testuser.com"
    metadata: dict[str, Any] = field(default_factory=dict)
    notification_url: str | None = None
    date_refunded: datetime | None = None
    captured: bool = True  # False while an authorization waits for its capture
    refunds: list[Refund] = field(default_factory=list)
    # Test payments say false; a test may make one say true (Mercado Pago was seen to send
    # true for a sandbox payment, so clients must not trust it alone).
    live_mode: bool = False

    @property
    def refunded_amount(self) -> Decimal:
        """What `transaction_amount_refunded` says: the sum of the approved refunds."""
        return sum((r.amount for r in self.refunds if r.status == "approved"), Decimal(0))


@dataclass(slots=True)
class Refund:
    id: int
    payment_id: int
    amount: Decimal
    date_created: datetime
    status: str = "approved"
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Chargeback:
    """Mercado Pago's documented chargeback (GET /v1/chargebacks/{id}), for one payment."""

    id: str  # 18 digits: kept as text so that no step can round it through a float
    payment_id: int
    amount: Decimal
    currency_id: str
    date_created: datetime
    date_last_updated: datetime
    date_documentation_deadline: datetime | None
    reason: str = "general"
    documentation_required: bool = True
    documentation_status: str = "pending"
    coverage_applied: bool | None = None  # None until decided; True: Mercado Pago covered it
    coverage_elegible: bool = True  # sic: Mercado Pago's spelling


@dataclass(slots=True)
class MerchantOrder:
    id: int
    preference_id: str | None
    external_reference: str | None
    date_created: datetime
    notification_url: str | None
    payment_ids: list[int] = field(default_factory=list)


@dataclass(slots=True)
class PaymentDraft:
    """A payment to create, as the control API or a seed file describes it."""

    external_reference: str | None = None
    preference_id: str | None = None
    status: str = "approved"
    status_detail: str | None = None
    transaction_amount: Decimal | None = None
    currency_id: str | None = None
    date_last_updated: datetime | None = None
    description: str | None = None
    payment_method_id: str | None = None
    payment_type_id: str | None = None
    payer_email: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    id: int | None = None  # seed files may pin ids
    date_created: datetime | None = None
    date_approved: datetime | None = None
    captured: bool | None = None  # False: an authorization (capture=false); None: by status
    live_mode: bool = False


@dataclass(slots=True, frozen=True)
class BulkSpec:
    count: int
    status: str = "approved"
    external_reference_prefix: str = "bulk-"
    transaction_amount: Decimal = DEFAULT_AMOUNT
    currency_id: str = DEFAULT_CURRENCY
    start: datetime | None = None
    step_seconds: float = 1.0


class SandboxState:
    def __init__(self, id_offset: int = 0) -> None:
        self.preferences: dict[str, Preference] = {}
        self.payments: dict[int, Payment] = {}
        self.merchant_orders: dict[int, MerchantOrder] = {}
        self.chargebacks: dict[str, Chargeback] = {}
        self._order_by_key: dict[tuple[str, str], int] = {}
        self._next_payment_id = FIRST_PAYMENT_ID + id_offset
        self._next_order_id = FIRST_MERCHANT_ORDER_ID + id_offset
        self._next_refund_id = FIRST_REFUND_ID + id_offset
        self._next_chargeback_id = FIRST_CHARGEBACK_ID + id_offset
        self.version = 0  # bumped on every change; search caches its sort orders by it

    def add_preference(self, preference: Preference) -> None:
        self.preferences[preference.id] = preference
        self.version += 1

    def preference(self, preference_id: str) -> Preference:
        try:
            return self.preferences[preference_id]
        except KeyError:
            raise mp_errors.preference_not_found() from None

    def payment(self, payment_id: int) -> Payment:
        try:
            return self.payments[payment_id]
        except KeyError:
            raise mp_errors.payment_not_found() from None

    def merchant_order(self, order_id: int) -> MerchantOrder:
        try:
            return self.merchant_orders[order_id]
        except KeyError:
            raise mp_errors.merchant_order_not_found(order_id) from None

    def create_payment(self, draft: PaymentDraft, now: datetime) -> Payment:
        """Raises ApiError for an unknown preference, a missing external_reference or a taken
        id."""
        preference = self.preference(draft.preference_id) if draft.preference_id else None
        external_reference = draft.external_reference or (
            preference.external_reference if preference else None
        )
        if not external_reference:
            raise mp_errors.bad_request("external_reference is required", data="external_reference")
        if draft.id is not None and draft.id in self.payments:
            raise mp_errors.bad_request(f"payment {draft.id} already exists", data="id")
        payment = self._new_payment(draft, preference, external_reference, now)
        self._store(payment)
        return payment

    def _new_payment(
        self,
        draft: PaymentDraft,
        preference: Preference | None,
        external_reference: str,
        now: datetime,
    ) -> Payment:
        now = to_millis(now)
        updated = to_millis(draft.date_last_updated or now)
        created = to_millis(draft.date_created or min(now, updated))
        payment = Payment(
            id=self._take_payment_id(draft.id),
            status=draft.status,
            status_detail=draft.status_detail or DEFAULT_STATUS_DETAIL[draft.status],
            external_reference=external_reference,
            transaction_amount=_amount_of(draft, preference),
            currency_id=draft.currency_id
            or (preference.currency_id if preference else None)
            or DEFAULT_CURRENCY,
            date_created=created,
            date_last_updated=updated,
            date_approved=_approval_of(draft, created, updated),
            merchant_order_id=self._order_for(preference, external_reference, created),
            preference_id=preference.id if preference else None,
            description=draft.description or _description_of(preference),
            metadata=dict(draft.metadata),
            notification_url=preference.notification_url if preference else None,
            captured=draft.captured if draft.captured is not None else draft.status != "authorized",
            live_mode=draft.live_mode,
        )
        _apply_optional_fields(payment, draft)
        if payment.status == "refunded":
            self._refund_the_rest(payment, payment.date_last_updated)
        return payment

    def create_bulk(self, spec: BulkSpec, now: datetime) -> list[Payment]:
        """`count` payments, one merchant order each, date_last_updated = start + i * step."""
        start = spec.start or now
        created = []
        for index in range(spec.count):
            moment = to_millis(start + timedelta(seconds=index * spec.step_seconds))
            reference = f"{spec.external_reference_prefix}{index}"
            payment = Payment(
                id=self._take_payment_id(None),
                status=spec.status,
                status_detail=DEFAULT_STATUS_DETAIL[spec.status],
                external_reference=reference,
                transaction_amount=spec.transaction_amount,
                currency_id=spec.currency_id,
                date_created=moment,
                date_last_updated=moment,
                date_approved=_first_approval(spec.status, moment, moment),
                merchant_order_id=self._order_for(None, reference, moment),
                captured=spec.status != "authorized",
            )
            if payment.status == "refunded":
                self._refund_the_rest(payment, moment)
            self._store(payment)
            created.append(payment)
        return created

    def move_payment(
        self, payment_id: int, status: str, status_detail: str | None, at: datetime
    ) -> Payment:
        """Give a payment a new status, as Mercado Pago's own processing would."""
        payment, at = self.payment(payment_id), to_millis(at)
        newly_approved = status == "approved" and payment.status != "approved"
        if newly_approved or (status in _APPROVED_BEFORE and payment.date_approved is None):
            payment.date_approved = at
        if status == "refunded":
            self._refund_the_rest(payment, at)
        payment.status = status
        payment.status_detail = status_detail or DEFAULT_STATUS_DETAIL[status]
        payment.date_last_updated = at
        self.version += 1
        return payment

    def add_refund(
        self, payment: Payment, amount: Decimal, at: datetime, metadata: dict[str, Any]
    ) -> Refund:
        """Record an approved refund and move the payment as Mercado Pago does: approved /
        partially_refunded while money is left, refunded / refunded once all of it went back.
        The caller has checked the amount against what is left."""
        at = to_millis(at)
        refund = Refund(self._take_refund_id(), payment.id, amount, at, metadata=dict(metadata))
        payment.refunds.append(refund)
        if payment.refunded_amount >= payment.transaction_amount:
            payment.status, payment.status_detail = "refunded", "refunded"
            payment.date_refunded = at
        else:
            payment.status, payment.status_detail = "approved", "partially_refunded"
        payment.date_last_updated = at
        self.version += 1
        return refund

    def touch(self, payment: Payment, at: datetime) -> None:
        """Mark a payment changed (by a cancel, a capture, a chargeback) at `at`."""
        payment.date_last_updated = to_millis(at)
        self.version += 1

    def chargeback(self, chargeback_id: str) -> Chargeback:
        """By its id or, as Mercado Pago allows, by the id of its payment."""
        found = self.chargebacks.get(chargeback_id)
        if found is None and chargeback_id.isdigit():
            found = next(
                (c for c in self.chargebacks.values() if c.payment_id == int(chargeback_id)), None
            )
        if found is None:
            raise mp_errors.chargeback_not_found(chargeback_id)
        return found

    def take_chargeback_id(self) -> str:
        chargeback_id = self._next_chargeback_id
        self._next_chargeback_id += 1
        return str(chargeback_id)

    def _refund_the_rest(self, payment: Payment, at: datetime) -> None:
        """A payment moved to `refunded` by the control API gets the refund that says so."""
        left = payment.transaction_amount - payment.refunded_amount
        if left > 0:
            payment.refunds.append(Refund(self._take_refund_id(), payment.id, left, at))
        payment.date_refunded = at

    def _take_refund_id(self) -> int:
        refund_id = self._next_refund_id
        self._next_refund_id += 1
        return refund_id

    def _store(self, payment: Payment) -> None:
        self.payments[payment.id] = payment
        self.merchant_orders[payment.merchant_order_id].payment_ids.append(payment.id)
        self.version += 1

    def _take_payment_id(self, pinned: int | None) -> int:
        if pinned is not None:
            self._next_payment_id = max(self._next_payment_id, pinned + 1)
            return pinned
        payment_id = self._next_payment_id
        self._next_payment_id += 1
        return payment_id

    def _order_for(
        self, preference: Preference | None, external_reference: str, created: datetime
    ) -> int:
        """Mercado Pago opens one merchant order per preference when its first payment arrives;
        without a preference, the sandbox groups by external_reference."""
        key = ("preference", preference.id) if preference else ("reference", external_reference)
        order_id = self._order_by_key.get(key)
        if order_id is None:
            order_id = self._next_order_id
            self._next_order_id += 1
            self._order_by_key[key] = order_id
            self.merchant_orders[order_id] = MerchantOrder(
                id=order_id,
                preference_id=preference.id if preference else None,
                external_reference=external_reference,
                date_created=created,
                notification_url=preference.notification_url if preference else None,
            )
        return order_id


def _amount_of(draft: PaymentDraft, preference: Preference | None) -> Decimal:
    if draft.transaction_amount is not None:
        return draft.transaction_amount
    return preference.total if preference else DEFAULT_AMOUNT


def _description_of(preference: Preference | None) -> str | None:
    if preference and preference.items:
        return preference.items[0]["title"]
    return None


def _approval_of(draft: PaymentDraft, created: datetime, updated: datetime) -> datetime | None:
    if draft.date_approved is not None:
        return to_millis(draft.date_approved)
    return _first_approval(draft.status, created, updated)


def _first_approval(status: str, created: datetime, updated: datetime) -> datetime | None:
    if status == "approved":
        return updated
    return created if status in _APPROVED_BEFORE else None


def _apply_optional_fields(payment: Payment, draft: PaymentDraft) -> None:
    for name in ("payment_method_id", "payment_type_id", "payer_email"):
        value = getattr(draft, name)
        if value:
            setattr(payment, name, value)
