"""Orders API resources (`/v1/orders`) and Mercado Pago's rules for changing them. Pure: no HTTP
here (orders.py serves it), no Payments-API state (orders.py links a QR order's payment).

Sources (research mp-wave2 §5, the Orders reference pages):
- ids are `ORD` + 26 characters (the QR reference's `invalid_path_param`); transactions `PAY…`,
  refunds `REF…`; real ids are ULIDs (`ORD01JQ4S4KY8HWQ6NA5PXB65B3D3`), so the sandbox makes
  ULIDs from its clock and a counter: sortable, and `ORD01…` like the real ones.
- amounts are strings with two decimals (`"100.00"`); `canceled` has one "l".
- statuses: created/created, processed/accredited, processed/partially_refunded, a fully
  refunded online (Checkout Pro) order stays `processed` with detail `refunded` while a QR or
  Point order becomes `refunded`; action_required/waiting_payment|waiting_capture;
  failed/<reason>; canceled/canceled; expired/expired.
- cancel only from created or action_required (409 cannot_cancel_order, order_already_canceled);
  refund only a processed order (409 cannot_refund_order, order_already_refunded; 400
  refund_amount_exceeds; 404 transaction_not_found).
- `version` grows by one with every change, `last_updated_date` moves with it.
Capture and process answer 409 `cannot_capture_order` / `cannot_process_order` out of turn: the
reference lists no code for that, so the sandbox names them as the cancel error is named.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from .dates import to_millis
from .mp_errors import ApiError, Cause

ORDER_TYPES = ("online", "qr", "point")
OrderType = Literal["online", "qr", "point"]
PAY_OUTCOMES = ("processed", "failed", "action_required")
DEFAULT_FAILURE = "rejected_by_issuer"  # one of Checkout Pro's documented failed details
CANCELLABLE = frozenset({"created", "action_required"})
ID_PATTERN = re.compile(r"^ORD[0-9A-Z]{26}$")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CENT = Decimal("0.01")
_AMOUNT = re.compile(r"^\d{1,12}(\.\d{1,2})?$")


class OrdersApiError(ApiError):
    """An Orders API error: `{"errors": [{"code", "message", "details"}]}`. The Orders pages
    name every error by a string code (`order_not_found`, `idempotency_key_already_used`) and
    say errors "come back as a list" (research mp-wave2 §5.1); the exact body is not shown
    there, so the sandbox uses the list shape that integrations parse (`errors[].code`)."""

    def body(self) -> dict[str, Any]:
        details = [cause.description for cause in self.causes]
        return {"errors": [{"code": self.error, "message": self.message, "details": details}]}


def orders_error(status: int, code: str, message: str, *details: str) -> OrdersApiError:
    return OrdersApiError(status, code, message, [Cause(code, detail) for detail in details])


def order_not_found() -> OrdersApiError:
    return orders_error(404, "order_not_found", "Order not found.")


def invalid_path_param() -> OrdersApiError:
    message = "The order_id must begin with the prefix ORD and be followed by 26 characters."
    return orders_error(400, "invalid_path_param", message)


def property_value(name: str, expected: str) -> OrdersApiError:
    return orders_error(400, "property_value", f"{name} invalid.", f"{name} must be {expected}")


def format_amount(amount: Decimal) -> str:
    """`Decimal("100")` -> `"100.00"`: the Orders API writes every amount with two decimals."""
    return str(amount.quantize(_CENT))


def parse_amount(value: Any, name: str) -> Decimal:
    """A positive amount given as the API wants it, a string with at most two decimals; a JSON
    number is the documented `property_type` error."""
    if not isinstance(value, str):
        raise orders_error(400, "property_type", f"{name} must be a string.", f"{name}: string")
    if not _AMOUNT.match(value.strip()) or Decimal(value) <= 0:
        raise property_value(name, 'a positive amount such as "100.00"')
    return Decimal(value.strip())


@dataclass(slots=True)
class OrderPayment:
    """One payment transaction of an order (`transactions.payments[]`)."""

    id: str
    amount: Decimal
    status: str = "created"
    status_detail: str = "created"
    payment_method: dict[str, Any] = field(default_factory=dict)
    reference_id: str | None = None  # the Payments-API payment behind it (QR orders)
    refunded: Decimal = Decimal(0)

    @property
    def paid_amount(self) -> Decimal:
        return self.amount if self.status in ("processed", "refunded") else Decimal(0)


@dataclass(slots=True)
class OrderRefund:
    id: str
    transaction_id: str
    amount: Decimal
    reference_id: str | None = None  # the Payments-API refund behind it (QR orders)
    status: str = "processed"


@dataclass(slots=True)
class SandboxOrder:
    id: str
    type: OrderType
    external_reference: str | None
    total_amount: Decimal
    currency: str
    created_date: datetime
    last_updated_date: datetime
    checkout_url: str
    fields: dict[str, Any]  # what the request set that the answer echoes (items, payer, ...)
    processing_mode: str = "automatic"
    capture_mode: str = "automatic"
    notification_url: str | None = None
    status: str = "created"
    status_detail: str = "created"
    version: int = 1
    payments: list[OrderPayment] = field(default_factory=list)
    refunds: list[OrderRefund] = field(default_factory=list)

    @property
    def total_paid_amount(self) -> Decimal:
        return sum((payment.paid_amount for payment in self.payments), Decimal(0))

    def payment(self, transaction_id: str) -> OrderPayment:
        for payment in self.payments:
            if payment.id == transaction_id:
                return payment
        raise orders_error(404, "transaction_not_found", "Transaction not found in the order.")


@dataclass(slots=True)
class OrderDraft:
    type: OrderType
    total_amount: Decimal
    external_reference: str | None
    currency: str
    processing_mode: str
    capture_mode: str
    notification_url: str | None
    payments: list[tuple[Decimal, dict[str, Any]]]  # (amount, payment_method) per transaction
    fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OrderQuery:
    begin: datetime
    end: datetime
    external_reference: str | None = None
    status: str | None = None
    type: str | None = None
    sort_by: str = "created_date"
    descending: bool = True
    offset: int = 0
    limit: int = 30


@dataclass(frozen=True, slots=True)
class RefundWanted:
    """One transaction to refund; amount None: everything left of it."""

    transaction_id: str
    amount: Decimal | None


class OrdersBook:
    """Every order of one sandbox. `id_offset` keeps ids apart across restarts, as the
    Payments-API ids are kept apart."""

    def __init__(self, id_offset: int = 0) -> None:
        self.orders: dict[str, SandboxOrder] = {}
        self._counter = id_offset
        self._random = random.Random(id_offset)  # ids that look random, the same every run

    def order(self, order_id: str) -> SandboxOrder:
        if not ID_PATTERN.match(order_id):
            raise invalid_path_param()
        try:
            return self.orders[order_id]
        except KeyError:
            raise order_not_found() from None

    def new_id(self, prefix: str, now: datetime) -> str:
        """`prefix` + a ULID: 10 characters of milliseconds, 16 of "randomness" whose high 40
        bits count (a monotonic ULID), so ids of one sandbox never repeat and sort in the order
        they were made, even under a frozen clock."""
        self._counter += 1
        millis = int(now.timestamp() * 1000)
        entropy = (self._counter % 2**40) << 40 | self._random.getrandbits(40)
        return prefix + _crockford(millis, 10) + _crockford(entropy, 16)

    def create(self, draft: OrderDraft, now: datetime, checkout_base: str) -> SandboxOrder:
        now = to_millis(now)
        order_id = self.new_id("ORD", now)
        order = SandboxOrder(
            id=order_id,
            type=draft.type,
            external_reference=draft.external_reference,
            total_amount=draft.total_amount,
            currency=draft.currency,
            created_date=now,
            last_updated_date=now,
            checkout_url=f"{checkout_base.rstrip('/')}/_sandbox/orders/{order_id}/checkout",
            fields=draft.fields,
            processing_mode=draft.processing_mode,
            capture_mode=draft.capture_mode,
            notification_url=draft.notification_url,
        )
        for amount, method in draft.payments:
            transaction = OrderPayment(self.new_id("PAY", now), amount, payment_method=method)
            order.payments.append(transaction)
        self.orders[order_id] = order
        return order

    def search(self, query: OrderQuery) -> tuple[int, list[SandboxOrder]]:
        """Orders created in [begin, end] (the reference: "filter orders by creation date"),
        filtered, sorted by `sort_by` (ties by id), one page of them."""
        matching = [order for order in self.orders.values() if _matches(order, query)]
        matching.sort(
            key=lambda order: (getattr(order, query.sort_by), order.id), reverse=query.descending
        )
        return len(matching), matching[query.offset : query.offset + query.limit]


def _matches(order: SandboxOrder, query: OrderQuery) -> bool:
    return (
        query.begin <= order.created_date <= query.end
        and query.external_reference in (None, order.external_reference)
        and query.status in (None, order.status)
        and query.type in (None, order.type)
    )


def _crockford(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 32)
        digits.append(_CROCKFORD[digit])
    return "".join(reversed(digits))


def touch(order: SandboxOrder, now: datetime) -> None:
    """Every change: one more version, a later last_updated_date."""
    order.version += 1
    order.last_updated_date = max(to_millis(now), order.last_updated_date)


def pay(
    book: OrdersBook, order: SandboxOrder, outcome: str, detail: str | None, now: datetime
) -> None:
    """The buyer acts at the checkout: the order is processed (paid), failed, or waits for an
    action (a ticket to pay, a capture). An order without a transaction gets the buyer's."""
    if order.status not in CANCELLABLE:
        message = f"The order is {order.status}; only a created or action_required one is paid."
        raise orders_error(409, "cannot_process_order", message)
    if not order.payments:
        paying = OrderPayment(book.new_id("PAY", now), order.total_amount)
        order.payments.append(paying)
    status, detail = _pay_state(order, outcome, detail)
    for payment in order.payments:
        payment.status, payment.status_detail = status, detail
    order.status, order.status_detail = status, detail
    touch(order, now)


def _pay_state(order: SandboxOrder, outcome: str, detail: str | None) -> tuple[str, str]:
    if outcome == "processed":
        return "processed", detail or "accredited"
    if outcome == "failed":
        return "failed", detail or DEFAULT_FAILURE
    waiting = "waiting_capture" if order.capture_mode == "manual" else "waiting_payment"
    return "action_required", detail or waiting


def process(order: SandboxOrder, now: datetime) -> None:
    """POST /process: a created order with its transactions is carried out (manual capture:
    authorized, waiting for the capture)."""
    if order.status != "created":
        raise orders_error(409, "cannot_process_order", "Only a created order can be processed.")
    if not order.payments:
        message = "The order has no transactions to process."
        raise orders_error(400, "required_properties", message, "transactions.payments")
    if order.capture_mode == "manual":
        state = ("action_required", "waiting_capture")
    else:
        state = ("processed", "accredited")
    _move(order, *state, now)


def capture(order: SandboxOrder, now: datetime) -> None:
    if (order.status, order.status_detail) != ("action_required", "waiting_capture"):
        message = "Only an order waiting for its capture can be captured."
        raise orders_error(409, "cannot_capture_order", message)
    _move(order, "processed", "accredited", now)


def cancel(order: SandboxOrder, now: datetime) -> None:
    if order.status == "canceled":
        raise orders_error(409, "order_already_canceled", "The order has already been canceled.")
    if order.status not in CANCELLABLE:
        message = "Only orders with status action_required or created can be canceled."
        raise orders_error(409, "cannot_cancel_order", message)
    _move(order, "canceled", "canceled", now)


def expire(order: SandboxOrder, now: datetime) -> None:
    """What Mercado Pago does to an unpaid order past its expiration (QR: 15 minutes)."""
    if order.status not in CANCELLABLE:
        message = "Only an unpaid (created or action_required) order expires."
        raise orders_error(409, "cannot_expire_order", message)
    _move(order, "expired", "expired", now)


def _move(order: SandboxOrder, status: str, detail: str, now: datetime) -> None:
    for payment in order.payments:
        payment.status, payment.status_detail = status, detail
    order.status, order.status_detail = status, detail
    touch(order, now)


def check_refundable(order: SandboxOrder, wanted: list[RefundWanted] | None) -> list[RefundWanted]:
    """The refunds to make, each with its amount; raises the documented errors. None: the
    whole order (every transaction's remaining amount)."""
    if order.status == "refunded" or order.status_detail == "refunded":
        raise orders_error(409, "order_already_refunded", "The order has already been refunded.")
    if order.status != "processed":
        message = "The status of the order does not allow its refund: it must be processed."
        raise orders_error(409, "cannot_refund_order", message)
    if wanted is None:
        wanted = [RefundWanted(p.id, None) for p in order.payments if p.amount > p.refunded]
    resolved: list[RefundWanted] = []
    asked: dict[str, Decimal] = {}
    for item in wanted:
        payment = order.payment(item.transaction_id)
        left = payment.amount - payment.refunded - asked.get(payment.id, Decimal(0))
        amount = left if item.amount is None else item.amount
        if amount > left or amount <= 0:
            message = "The requested refund amount is greater than the available amount."
            raise orders_error(400, "refund_amount_exceeds", message)
        asked[payment.id] = asked.get(payment.id, Decimal(0)) + amount
        resolved.append(RefundWanted(payment.id, amount))
    return resolved


def refund(
    book: OrdersBook,
    order: SandboxOrder,
    wanted: list[RefundWanted],
    now: datetime,
    references: list[str | None],
) -> list[OrderRefund]:
    """Record checked refunds (`check_refundable`), `references[i]` the Payments-API refund
    made for the i-th, and move the order: partially_refunded while money is left; then
    processed/refunded online, refunded/refunded for QR and Point."""
    made = []
    for item, reference in zip(wanted, references, strict=True):
        assert item.amount is not None  # check_refundable resolved every amount
        payment = order.payment(item.transaction_id)
        payment.refunded += item.amount
        made.append(OrderRefund(book.new_id("REF", now), payment.id, item.amount, reference))
    order.refunds.extend(made)
    everything_back = all(p.refunded >= p.amount for p in order.payments)
    detail = "refunded" if everything_back else "partially_refunded"
    status = "refunded" if everything_back and order.type != "online" else "processed"
    for payment in order.payments:
        back = payment.refunded >= payment.amount
        payment.status_detail = "refunded" if back else payment.status_detail
        if payment.refunded and not back:
            payment.status_detail = "partially_refunded"
        if back and order.type != "online":
            payment.status = "refunded"
    order.status, order.status_detail = status, detail
    touch(order, now)
    return made
