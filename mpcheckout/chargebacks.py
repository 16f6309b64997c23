"""Chargebacks as `chargebacks list | show` and `orders show` present them. A chargeback is
recorded by the processor when Mercado Pago notifies it (`topic_chargebacks_wh` or IPN
`chargebacks`): the case is fetched fresh from GET /v1/chargebacks/{id} with its payment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .errors import NotFoundError
from .models import LedgerChargeback
from .store.base import Store

DAY_SECONDS = 86400


@dataclass(slots=True, frozen=True)
class ChargebackView:
    case: LedgerChargeback
    documentation_days_left: float | None  # None: no deadline pending (or not required)


def list_chargebacks(
    store: Store, now: datetime, *, open_only: bool = False, limit: int = 100
) -> list[ChargebackView]:
    cases = store.list_chargebacks(open_only=open_only, limit=limit)
    return [view_of(case, now) for case in cases]


def chargeback_detail(store: Store, chargeback_id: str, now: datetime) -> ChargebackView:
    case = store.get_chargeback(chargeback_id.strip())
    if case is None:
        raise NotFoundError("chargebacks.not_found", chargeback_id=chargeback_id)
    return view_of(case, now)


def view_of(case: LedgerChargeback, now: datetime) -> ChargebackView:
    deadline = case.documentation_deadline
    pending = case.outcome == "open" and case.documentation_required and deadline is not None
    days = (
        round((deadline - now).total_seconds() / DAY_SECONDS, 1) if pending and deadline else None
    )
    return ChargebackView(case, days)
