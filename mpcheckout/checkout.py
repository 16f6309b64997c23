"""Creating a payment: a local order plus a Checkout Pro preference whose external_reference is
the order id. Used by `checkout link`, the server's create-preference endpoint and the demo."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from .clock import Clock
from .errors import ValidationError
from .gateway import MercadoPagoGateway, PreferenceRequest
from .models import Order, OrderStatus
from .store.base import Store

# Mercado Pago's currencies (one per site); amounts are decimals, not cents.
CURRENCIES = frozenset({"ARS", "BRL", "CLP", "COP", "MXN", "PEN", "UYU", "USD", "VES"})
MAX_ITEMS = 100
MAX_QUANTITY = 10_000
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")


@dataclass(slots=True, frozen=True)
class CartItem:
    title: str
    quantity: int
    unit_price: Decimal
    currency: str


@dataclass(slots=True, frozen=True)
class CheckoutResult:
    order_id: str
    preference_id: str
    init_point: str | None
    sandbox_init_point: str | None
    amount: Decimal
    currency: str
    expires_at: datetime | None


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
) -> CheckoutResult:
    """Create the preference, then the pending order that carries its id. In that order: a
    preference without an order is harmless (nobody has its link), an order whose preference
    failed would be a stale pending order."""
    reference = reference or new_reference()
    if not _REFERENCE.fullmatch(reference):
        raise ValidationError("error.bad_reference", reference=reference)
    if store.get_order(reference) is not None:
        raise ValidationError("error.order_exists", order_id=reference)
    now = clock.now()
    try:
        expires_at = now + expires_in if expires_in else None
    except OverflowError:
        raise ValidationError("error.bad_duration", value=str(expires_in)[:40]) from None
    if expires_in is not None and expires_in <= timedelta(0):
        raise ValidationError("error.bad_duration", value=str(expires_in)[:40])
    preference = gateway.create_preference(
        PreferenceRequest(
            items=[_preference_item(item) for item in items],
            external_reference=reference,
            notification_url=notification_url,
            expires_at=expires_at,
        )
    )
    amount = sum((item.unit_price * item.quantity for item in items), Decimal(0))
    title = items[0].title if len(items) == 1 else f"{items[0].title} (+{len(items) - 1})"
    store.create_order(
        Order(
            id=reference,
            status=OrderStatus.PENDING,
            amount=amount,
            currency=items[0].currency,
            created_at=now,
            updated_at=now,
            title=title,
            preference_id=preference.id,
        )
    )
    return CheckoutResult(
        reference,
        preference.id,
        preference.init_point,
        preference.sandbox_init_point,
        amount,
        items[0].currency,
        expires_at,
    )


def _preference_item(item: CartItem) -> dict[str, Any]:
    # Mercado Pago takes unit_price as a JSON number; two decimals survive a float exactly
    # enough for its validation, and the order keeps the exact Decimal.
    return {
        "title": item.title,
        "quantity": item.quantity,
        "unit_price": float(item.unit_price),
        "currency_id": item.currency,
    }


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
    )
    url = result.sandbox_init_point if test_credentials else result.init_point
    return PaymentLink(result, url or result.init_point, notification_url is not None)
