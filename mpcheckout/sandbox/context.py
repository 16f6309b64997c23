"""Everything one running sandbox holds: its credentials, clock, state, faults, outbox, request
log and idempotency keys, and the operations that span them (notifying about a payment, a
chargeback or a merchant order)."""

from __future__ import annotations

from typing import Any

from .account import SandboxAccount
from .clock import SandboxClock
from .faults import FaultPlan
from .idempotency import IdempotencyKeys
from .notifier import (
    APPLICATION_ID,
    Envelope,
    Notification,
    NotifySpec,
    Outbox,
    build_requests,
    chargeback_notification,
    deliver,
    merchant_order_notification,
    payment_notification,
)
from .orders_json import order_notification
from .orders_state import OrdersBook, SandboxOrder
from .render import merchant_order_status, site_of
from .requestlog import RequestLog
from .search import PaymentSearch
from .state import Chargeback, MerchantOrder, Payment, SandboxState

# Webhooks notification ids look like Mercado Pago's (12 digits, e.g. 118230554400).
FIRST_NOTIFICATION_ID = 118_230_554_401


class SandboxContext:
    """`id_offset` moves where ids start: Mercado Pago never reuses a payment or notification
    id, so a sandbox restarted against a database that outlives it must not either.

    `api_notify` says how changes made through the API itself (a refund, a cancel, a capture)
    are notified, since such a request carries no `notify` of its own: by default they are
    recorded in the outbox only; the control API can name a URL or turn them off."""

    def __init__(self, access_token: str, webhook_secret: str, id_offset: int = 0) -> None:
        self.id_offset = id_offset
        self.access_token = access_token
        self.webhook_secret = webhook_secret
        self.clock = SandboxClock()
        self.faults = FaultPlan()
        self.outbox = Outbox()
        self.requests = RequestLog()
        self.idempotency = IdempotencyKeys()
        self.api_notify: NotifySpec | None = NotifySpec()
        self.state = SandboxState(self.id_offset)
        self.orders = OrdersBook(self.id_offset)
        self.search = PaymentSearch(self.state)
        self._next_notification_id = FIRST_NOTIFICATION_ID + self.id_offset
        self.account = SandboxAccount()
        # Tokens of other sellers (other_accounts.py): they see none of this seller's resources.
        self.other_accounts: dict[str, SandboxAccount] = {}

    def reset(self) -> None:
        """Back to a freshly started sandbox: no resources, outbox, request log, keys or faults;
        real time; API changes notified to the outbox."""
        self.state = SandboxState(self.id_offset)
        self.orders = OrdersBook(self.id_offset)
        self.search = PaymentSearch(self.state)
        self.outbox.clear()
        self.requests.clear()
        self.idempotency.clear()
        self.faults.clear()
        self.api_notify = NotifySpec()
        self.clock.use_real_time()
        self._next_notification_id = FIRST_NOTIFICATION_ID + self.id_offset
        self.account = SandboxAccount()
        self.other_accounts.clear()

    async def notify(
        self, payment: Payment, spec: NotifySpec, default_action: str
    ) -> list[dict[str, Any]]:
        """Send to `spec.url` (or, with no URL, only record in the outbox) the notifications
        `spec` asks for. A preference's notification_url is deliberately not used: tests and
        the demo create preferences with URLs nobody listens on, and each failed delivery would
        cost them a timeout; a caller that wants delivery names the URL."""
        action = spec.action or default_action
        envelope = self._envelope(spec, payment.live_mode)
        notification = payment_notification(envelope, payment.id, action)
        return await self._send(notification, spec)

    async def notify_api_change(self, payment: Payment) -> None:
        """`payment.updated` for a change made through the API, as `api_notify` says."""
        if self.api_notify is not None:
            await self.notify(payment, self.api_notify, "payment.updated")

    async def notify_chargeback(
        self, chargeback: Chargeback, spec: NotifySpec, actions: list[str]
    ) -> list[dict[str, Any]]:
        site_id = site_of(chargeback.currency_id)[0]
        notification = chargeback_notification(
            self._envelope(spec), chargeback.id, chargeback.payment_id, site_id, actions
        )
        return await self._send(notification, spec)

    async def notify_merchant_order(
        self, order: MerchantOrder, spec: NotifySpec, action: str
    ) -> list[dict[str, Any]]:
        # Checkout Pro orders come from an application; captures without one show "".
        application_id = str(APPLICATION_ID) if order.preference_id else ""
        status = merchant_order_status(order, self.state)
        notification = merchant_order_notification(
            self._envelope(spec), order.id, action, status, application_id
        )
        return await self._send(notification, spec)

    async def notify_order(
        self, order: SandboxOrder, spec: NotifySpec, action: str
    ) -> list[dict[str, Any]]:
        """A signed `type: "order"` notification carrying the order's snapshot."""
        return await self._send(order_notification(self._envelope(spec), order, action), spec)

    async def _send(self, notification: Notification, spec: NotifySpec) -> list[dict[str, Any]]:
        records = await deliver(build_requests(notification), spec.url)
        self.outbox.extend(records)
        return records

    def _envelope(self, spec: NotifySpec, live_mode: bool = False) -> Envelope:
        secret = spec.secret or self.webhook_secret
        return Envelope(
            self._take_notification_id(),
            secret,
            self.clock.now(),
            spec.duplicates,
            spec.ipn,
            live_mode=live_mode if spec.live_mode is None else spec.live_mode,
        )

    def _take_notification_id(self) -> int:
        notification_id = self._next_notification_id
        self._next_notification_id += 1
        return notification_id
