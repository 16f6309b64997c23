"""Facts for a 404's hint (hints.py), gathered by the processor when a lookup answers 404.

Cheap by design: nothing runs unless the answer was a 404. The event's own columns (account,
`live_mode`) and payload (its notification id) are one read by primary key; the token's account
is asked of Mercado Pago (`GET /users/me`) once per processor, shared by its fetch threads; and
only a payment id that nothing cheaper explained costs one more GET, as a merchant order. Any
fact that cannot be read is left unknown: a hint never turns a 404 into another failure.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from typing import Any, Protocol

from .errors import MercadoPagoNotFoundError
from .hints import NotFoundFacts, hint_for_404, log_entry, worth_a_merchant_order_lookup
from .models import ClaimedEvent, MerchantOrder, QueueEvent
from .notifications import MERCHANT_ORDER_WEBHOOK_TOPICS
from .store.base import Store


class Account(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def test_user(self) -> bool: ...


class LookupSource(Protocol):
    """What the hints ask of the gateway."""

    def get_user_me(self) -> Account: ...

    def get_merchant_order(self, merchant_order_id: str) -> MerchantOrder: ...


class NotFoundExplainer:
    def __init__(self, store: Store, gateway: LookupSource) -> None:
        self.store, self.gateway = store, gateway
        self._lock = threading.Lock()
        self._asked = False
        self._account: Account | None = None

    def explain(
        self, event: ClaimedEvent, error: BaseException, will_retry: bool
    ) -> dict[str, Any] | None:
        """The attempt log's hint fields for a 404 (None for any other failure)."""
        if not isinstance(error, MercadoPagoNotFoundError):
            return None
        facts = self.facts(event, will_retry)
        code = hint_for_404(facts)
        if worth_a_merchant_order_lookup(facts, code):
            facts = replace(facts, found_as_merchant_order=self._is_merchant_order(facts))
            code = hint_for_404(facts)
        return log_entry(code, facts)

    def facts(self, event: ClaimedEvent, will_retry: bool) -> NotFoundFacts:
        stored = self._stored(event.id)
        account = self.token_account()
        return NotFoundFacts(
            topic=event.topic,
            resource_id=event.resource_id,
            will_retry=will_retry,
            notification_id=notification_id(stored) if stored else None,
            notification_user_id=stored.user_id if stored else None,
            notification_live_mode=stored.live_mode if stored else None,
            token_account_id=account.id if account else None,
            token_test_user=account.test_user if account else None,
        )

    def token_account(self) -> Account | None:
        """The token's account, asked once (a failure is remembered as unknown)."""
        with self._lock:
            if not self._asked:
                self._asked = True
                try:
                    self._account = self.gateway.get_user_me()
                except Exception:  # an unknown account only leaves one rule without a fact
                    self._account = None
            return self._account

    def _stored(self, event_id: int) -> QueueEvent | None:
        try:
            return self.store.get_event(event_id)
        except Exception:  # the hint is a courtesy; the 404 is what the attempt records
            return None

    def _is_merchant_order(self, facts: NotFoundFacts) -> bool | None:
        try:
            self.gateway.get_merchant_order(facts.resource_id or "")
        except MercadoPagoNotFoundError:
            return False
        except Exception:
            return None
        return True


def notification_id(event: QueueEvent) -> str | None:
    """The notification's own id (a Webhooks body's top-level `id`). A merchant-order
    Webhooks body's `id` is the merchant order's, not the notification's: None."""
    if event.topic in MERCHANT_ORDER_WEBHOOK_TOPICS or not event.payload:
        return None
    try:
        body = json.loads(event.payload)
    except (ValueError, RecursionError):
        return None
    value = body.get("id") if isinstance(body, dict) else None
    return str(value) if isinstance(value, int | str) and not isinstance(value, bool) else None
