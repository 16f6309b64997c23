"""`mpcheckout mp ...`: what Mercado Pago says right now, for an engineer debugging by hand."""

from __future__ import annotations

from itertools import islice

from .clock import Clock
from .durations import parse_since
from .gateway import MercadoPagoAccount as MercadoPagoAccount  # re-exported for `mp whoami`
from .gateway import MercadoPagoGateway
from .models import MerchantOrder, Payment


def fetch_payment(gateway: MercadoPagoGateway, payment_id: str) -> Payment:
    return gateway.get_payment(payment_id)


def fetch_merchant_order(gateway: MercadoPagoGateway, merchant_order_id: str) -> MerchantOrder:
    return gateway.get_merchant_order(merchant_order_id)


def search_recent(
    gateway: MercadoPagoGateway, clock: Clock, since: str, limit: int
) -> list[Payment]:
    now = clock.now()
    return list(islice(gateway.search_payments(parse_since(since, now), now), limit))


def fetch_account(gateway: MercadoPagoGateway) -> MercadoPagoAccount:
    """`mp whoami`: the account behind the configured token."""
    return gateway.get_user_me()
