"""Creating a payment: a local order plus a Checkout Pro preference whose external_reference is
the order id — or, with `api="orders"`, a Checkout Pro order of the Orders API (`POST
/v1/orders`, `type: online`, amounts as strings), created through the keyed write path of
actions.py: its idempotency key is stored before the request, so a retry after a lost answer
gets the order already made. Used by `checkout link`, the server's create-preference endpoint
and the demo."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from .actions import plan_create_order, send_create_order
from .clock import Clock
from .errors import ValidationError
from .gateway import MercadoPagoGateway, PreferenceRequest
from .models import MpOrder, Order, OrderStatus
from .store.base import Store

# Mercado Pago's currencies (one per site); amounts are decimals, not cents.
CURRENCIES = frozenset({"ARS", "BRL", "CLP", "COP", "MXN", "PEN", "UYU", "USD", "VES"})
MAX_ITEMS = 100
MAX_QUANTITY = 10_000
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")
# The Orders API takes an external_reference of letters, digits, `-` and `_` only.
_ORDERS_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")
CheckoutApi = Literal["preferences", "orders"]
CHECKOUT_APIS: tuple[CheckoutApi, ...] = ("preferences", "orders")


@dataclass(slots=True, frozen=True)
class CartItem:
    title: str
    quantity: int
    unit_price: Decimal
    currency: str


@dataclass(slots=True, frozen=True)
class CheckoutResult:
    order_id: str
    preference_id: str | None  # None for an Orders-API link
    init_point: str | None
    sandbox_init_point: str | None
    amount: Decimal
    currency: str
    expires_at: datetime | None
    api: CheckoutApi = "preferences"
    mp_order_id: str | None = None  # the Orders-API order (`ORD…`) of an orders link
    resent: bool = False  # an earlier create whose answer was lost was sent again


def parse_cart(raw_items: Any) -> list[CartItem]:
    """Validate a cart as it arrives (JSON or CLI flags). Raises ValidationError naming the
    field, so the server answers 400 and the CLI exits 65, both in the user's language."""
    if not isinstance(raw_items, list) or not raw_items:
        raise ValidationError("error.cart_empty")
    if len(raw_items) > MAX_ITEMS:
        raise ValidationError("error.cart_too_large", maximum=MAX_ITEMS)
    items = [_item(index, raw) for index, raw in enumerate(raw_items)]
    if len({item.currency for item in items}) != 1:
        raise ValidationError("error.cart_mixed_currency")
    return items


def _item(index: int, raw: Any) -> CartItem:
    if not isinstance(raw, dict):
        raise ValidationError("error.cart_item", index=index, field="item")
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > 256:
        raise ValidationError("error.cart_item", index=index, field="title")
    quantity = raw.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise ValidationError("error.cart_item", index=index, field="quantity")
    if not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationError("error.cart_item", index=index, field="quantity")
    return CartItem(
        title.strip(),
        quantity,
        _price(raw.get("unit_price"), index),
        _currency(raw.get("currency") or raw.get("currency_id"), index),
    )


def _price(value: Any, index: int) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ValidationError("error.cart_item", index=index, field="unit_price")
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError("error.cart_item", index=index, field="unit_price") from None
    if (
        not price.is_finite()
        or price <= 0
        or price > Decimal("100000000")
        or price != round(price, 2)
    ):
        raise ValidationError("error.cart_item", index=index, field="unit_price")
    return price


def _currency(value: Any, index: int) -> str:
    if not isinstance(value, str) or value.upper() not in CURRENCIES:
        raise ValidationError("error.cart_item", index=index, field="currency")
    return value.upper()


def new_reference() -> str:
    """An order id Mercado Pago will echo back as external_reference."""
    return f"ord-{secrets.token_hex(6)}"


def create_checkout(
    store: Store,
    gateway: MercadoPagoGateway,
    clock: Clock,
    items: Sequence[CartItem],
    *,
    reference: str | None = None,
    notification_url: str | None = None,
    expires_in: timedelta | None = None,
    api: CheckoutApi = "preferences",
) -> CheckoutResult:
    """Create the preference (or the Orders-API order), then the pending order that carries
    its id. In that order: a preference without an order is harmless (nobody has its link),
    an order whose preference failed would be a stale pending order."""
    reference = reference or new_reference()
    pattern = _ORDERS_REFERENCE if api == "orders" else _REFERENCE
    if not pattern.fullmatch(reference):
        raise ValidationError("error.bad_reference", reference=reference)
    now = clock.now()
    expires_at = _expires_at(now, expires_in)
    cart = _Cart(reference, items, notification_url, expires_in, expires_at)
    if api == "orders":
        return _order_checkout(store, gateway, clock, cart)
    if store.get_order(reference) is not None:
        raise ValidationError("error.order_exists", order_id=reference)
    preference = gateway.create_preference(
        PreferenceRequest(
            items=[_preference_item(item) for item in items],
            external_reference=reference,
            notification_url=notification_url,
            expires_at=expires_at,
        )
    )
    store.create_order(cart.order(now, preference_id=preference.id))
    return CheckoutResult(
        reference,
        preference.id,
        preference.init_point,
        preference.sandbox_init_point,
        cart.amount,
        cart.currency,
        expires_at,
    )


def _expires_at(now: datetime, expires_in: timedelta | None) -> datetime | None:
    if expires_in is not None and expires_in <= timedelta(0):
        raise ValidationError("error.bad_duration", value=str(expires_in)[:40])
    try:
        return now + expires_in if expires_in else None
    except OverflowError:
        raise ValidationError("error.bad_duration", value=str(expires_in)[:40]) from None


@dataclass(slots=True, frozen=True)
class _Cart:
    reference: str
    items: Sequence[CartItem]
    notification_url: str | None
    expires_in: timedelta | None
    expires_at: datetime | None

    @property
    def amount(self) -> Decimal:
        return sum((item.unit_price * item.quantity for item in self.items), Decimal(0))

    @property
    def currency(self) -> str:
        return self.items[0].currency

    def order(
        self, now: datetime, preference_id: str | None = None, mp_order_id: str | None = None
    ) -> Order:
        items = self.items
        title = items[0].title if len(items) == 1 else f"{items[0].title} (+{len(items) - 1})"
        return Order(
            id=self.reference,
            status=OrderStatus.PENDING,
            amount=self.amount,
            currency=self.currency,
            created_at=now,
            updated_at=now,
            title=title,
            preference_id=preference_id,
            mp_order_id=mp_order_id,
        )


def _order_checkout(
    store: Store, gateway: MercadoPagoGateway, clock: Clock, cart: _Cart
) -> CheckoutResult:
    """An open create of this reference (its answer was lost) is resent with its stored key
    and body; otherwise a new one is keyed and stored before it is sent."""
    plan = store.find_open_action("create_order", cart.reference, None)
    resent = plan is not None
    if plan is None:
        if store.get_order(cart.reference) is not None:
            raise ValidationError("error.order_exists", order_id=cart.reference)
        plan = plan_create_order(cart.reference, cart.amount, cart.currency, order_body(cart))
    created = send_create_order(store, gateway, plan, clock.now())
    if store.get_order(cart.reference) is None:  # a notification may have created it meanwhile
        store.create_order(cart.order(clock.now(), mp_order_id=created.id))
    url = checkout_url(created)
    return CheckoutResult(
        cart.reference,
        None,
        url,
        url,
        cart.amount,
        cart.currency,
        cart.expires_at,
        api="orders",
        mp_order_id=created.id,
        resent=resent,
    )


def order_body(cart: _Cart) -> dict[str, Any]:
    """POST /v1/orders for Checkout Pro (research mp-wave2 §5.2): amounts as strings with two
    decimals. `expiration_time` is an ISO 8601 duration, as the QR orders take it."""
    body: dict[str, Any] = {
        "type": "online",
        "processing_mode": "automatic",
        "total_amount": f"{cart.amount:.2f}",
        "currency": cart.currency,
        "external_reference": cart.reference,
        "items": [
            {"title": item.title, "quantity": item.quantity, "unit_price": f"{item.unit_price:.2f}"}
            for item in cart.items
        ],
    }
    if cart.notification_url:
        body["notification_url"] = cart.notification_url
    if cart.expires_in:
        body["expiration_time"] = f"PT{int(cart.expires_in.total_seconds())}S"
    return body


def checkout_url(order: MpOrder) -> str | None:
    """Where the buyer pays: the SDK's example reads `checkout_url`, Mercado Pago's page
    names `init_point` (research mp-wave2 §5.1); either is taken."""
    for name in ("checkout_url", "init_point"):
        value = order.raw.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def _preference_item(item: CartItem) -> dict[str, Any]:
    # Mercado Pago takes unit_price as a JSON number; two decimals survive a float exactly
    # enough for its validation, and the order keeps the exact Decimal.
    return {
        "title": item.title,
        "quantity": item.quantity,
        "unit_price": float(item.unit_price),
        "currency_id": item.currency,
    }


def checkout_api(value: object, default: CheckoutApi) -> CheckoutApi:
    """The API a request asked for (None: the shop's `checkout.api`)."""
    if value is None:
        return default
    for api in CHECKOUT_APIS:
        if value == api:
            return api
    raise ValidationError("error.bad_checkout_api", api=str(value)[:32])


def webhook_url(public_url: str | None) -> str | None:
    """Where Mercado Pago should post; `source_news=webhooks` stops the legacy IPN twin."""
    if not public_url:
        return None
    return public_url.rstrip("/") + "/webhooks/mercadopago?source_news=webhooks"


@dataclass(slots=True, frozen=True)
class PaymentLink:
    checkout: CheckoutResult
    url: str | None
    notified: bool  # False: no public URL, so `reconcile` will find the payment


def create_payment_link(
    store: Store,
    gateway: MercadoPagoGateway,
    clock: Clock,
    *,
    title: str,
    amount: str,
    currency: str,
    quantity: int = 1,
    expires: str | None = None,
    reference: str | None = None,
    public_url: str | None = None,
    test_credentials: bool = False,
    api: CheckoutApi = "preferences",
) -> PaymentLink:
    """`checkout link`: one item, one order, one preference. With test credentials the link
    to open is the sandbox one (Mercado Pago's own rule for TEST- tokens)."""
    from .durations import parse_duration

    items = parse_cart(
        [{"title": title, "quantity": quantity, "unit_price": amount, "currency": currency}]
    )
    notification_url = webhook_url(public_url)
    result = create_checkout(
        store,
        gateway,
        clock,
        items,
        reference=reference,
        notification_url=notification_url,
        expires_in=parse_duration(expires) if expires else None,
        api=api,
    )
    url = result.sandbox_init_point if test_credentials else result.init_point
    return PaymentLink(result, url or result.init_point, notification_url is not None)
