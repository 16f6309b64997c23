"""Everything one running sandbox holds: its credentials, clock, state, faults and outbox, and
the one operation that spans them (notifying about a payment)."""

from __future__ import annotations

from typing import Any

from .account import SandboxAccount
from .clock import SandboxClock
from .faults import FaultPlan
from .notifier import Notification, NotifySpec, Outbox, build_requests, deliver
from .search import PaymentSearch
from .state import COLLECTOR_ID, Payment, SandboxState

# Webhooks notification ids look like Mercado Pago's (12 digits, e.g. 118230554400).
FIRST_NOTIFICATION_ID = 118_230_554_401


class SandboxContext:
    """`id_offset` moves where ids start: Mercado Pago never reuses a payment or notification
    id, so a sandbox restarted against a database that outlives it must not either."""

    def __init__(self, access_token: str, webhook_secret: str, id_offset: int = 0) -> None:
        self.id_offset = id_offset
        self.access_token = access_token
        self.webhook_secret = webhook_secret
        self.clock = SandboxClock()
        self.faults = FaultPlan()
        self.outbox = Outbox()
        self.state = SandboxState(self.id_offset)
        self.search = PaymentSearch(self.state)
        self._next_notification_id = FIRST_NOTIFICATION_ID + self.id_offset
        self.account = SandboxAccount()

    def reset(self) -> None:
        """Back to a freshly started sandbox: no resources, outbox, faults; real time."""
        self.state = SandboxState(self.id_offset)
        self.search = PaymentSearch(self.state)
        self.outbox.clear()
        self.faults.clear()
        self.clock.use_real_time()
        self._next_notification_id = FIRST_NOTIFICATION_ID + self.id_offset
        self.account = SandboxAccount()

    async def notify(
        self, payment: Payment, spec: NotifySpec, default_action: str
    ) -> list[dict[str, Any]]:
        """Send to `spec.url` (or, with no URL, only record in the outbox) the notifications
        `spec` asks for. A preference's notification_url is deliberately not used: tests and
        the demo create preferences with URLs nobody listens on, and each failed delivery would
        cost them a timeout; a caller that wants delivery names the URL."""
        notification = Notification(
            payment_id=payment.id,
            action=spec.action or default_action,
            notification_id=self._take_notification_id(),
            user_id=COLLECTOR_ID,
            secret=spec.secret or self.webhook_secret,
            sent_at=self.clock.now(),
            duplicates=spec.duplicates,
            ipn=spec.ipn,
        )
        records = await deliver(build_requests(notification), spec.url)
        self.outbox.extend(records)
        return records

    def _take_notification_id(self) -> int:
        notification_id = self._next_notification_id
        self._next_notification_id += 1
        return notification_id
