"""Chargebacks as Mercado Pago runs them, driven by the control API: a payer disowns a payment
(it becomes charged_back/in_process and a case opens with documentation due), then the case is
decided against the shop (`settled`: the money is kept from it) or for it (`reimbursed`:
Mercado Pago covers it, coverage_applied true).

Sources (research mp-wave2 §3): the chargebacks guides (10 days to send documentation, 7 in
Chile), the payment status table (charged_back in_process / settled / reimbursed), the GET
reference (documentation_status values, coverage_applied null until decided).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from . import mp_errors
from .dates import to_millis
from .render import site_of
from .state import Chargeback, Payment, SandboxState

DOCUMENTATION_DAYS = 10
DOCUMENTATION_DAYS_BY_SITE = {"MLC": 7}
# A chargeback is opened on money the shop received and still holds (a dispute may come first).
DISPUTABLE = frozenset({"approved", "in_mediation"})
DOCUMENTATION_STATUSES = (
    "pending",
    "review_pending",
    "valid",
    "invalid",
    "not_supplied",
    "not_applicable",
)
Outcome = Literal["settled", "reimbursed"]
OUTCOMES: tuple[Outcome, ...] = ("settled", "reimbursed")


@dataclass(frozen=True, slots=True)
class ChargebackRequest:
    amount: Decimal | None = None  # None: the payment's amount
    reason: str = "general"
    documentation_required: bool = True


def open_chargeback(
    state: SandboxState, payment: Payment, request: ChargebackRequest, now: datetime
) -> Chargeback:
    if payment.status not in DISPUTABLE:
        raise mp_errors.chargeback_not_allowed(f"a {payment.status} payment cannot be charged back")
    now = to_millis(now)
    required = request.documentation_required
    chargeback = Chargeback(
        id=state.take_chargeback_id(),
        payment_id=payment.id,
        amount=request.amount or payment.transaction_amount,
        currency_id=payment.currency_id,
        date_created=now,
        date_last_updated=now,
        date_documentation_deadline=now + _documentation_window(payment) if required else None,
        reason=request.reason,
        documentation_required=required,
        documentation_status="pending" if required else "not_applicable",
    )
    state.chargebacks[chargeback.id] = chargeback
    payment.status, payment.status_detail = "charged_back", "in_process"
    state.touch(payment, now)
    return chargeback


def resolve_chargeback(
    state: SandboxState,
    chargeback: Chargeback,
    outcome: Outcome,
    documentation_status: str | None,
    now: datetime,
) -> Payment:
    """Decide the case; returns its payment, moved to charged_back/<outcome>."""
    if chargeback.coverage_applied is not None:
        raise mp_errors.chargeback_not_allowed("the chargeback was already decided")
    chargeback.coverage_applied = outcome == "reimbursed"
    chargeback.documentation_status = documentation_status or _decided_documentation(
        chargeback, outcome
    )
    chargeback.date_last_updated = to_millis(now)
    payment = state.payment(chargeback.payment_id)
    payment.status, payment.status_detail = "charged_back", outcome
    state.touch(payment, now)
    return payment


def _documentation_window(payment: Payment) -> timedelta:
    days = DOCUMENTATION_DAYS_BY_SITE.get(site_of(payment.currency_id)[0], DOCUMENTATION_DAYS)
    return timedelta(days=days)


def _decided_documentation(chargeback: Chargeback, outcome: Outcome) -> str:
    if not chargeback.documentation_required:
        return chargeback.documentation_status
    return "valid" if outcome == "reimbursed" else "not_supplied"
