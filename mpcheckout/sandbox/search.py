"""GET /v1/payments/search: parameters, limits and errors as Mercado Pago documents them.

`sort` (date_approved, date_created, date_last_updated, id, money_release_date), `criteria`
asc|desc, `range` (date_created, date_last_updated, date_approved, money_release_date; default
date_created) with `begin_date` / `end_date`, `external_reference`, `status`, `limit` (default
30, at most 50) and `offset` (at most 10000: deeper pages must narrow the date window).
Documented 400 codes: 1000 "Number of rows exceeded the limits.", 1001 date format, 1003 sort,
1004 criteria.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from . import mp_errors
from .dates import parse_search_date
from .state import Payment, SandboxState

DEFAULT_LIMIT = 30
MAX_LIMIT = 50
MAX_OFFSET = 10_000
SORT_FIELDS = ("date_approved", "date_created", "date_last_updated", "id", "money_release_date")
RANGE_FIELDS = ("date_created", "date_last_updated", "date_approved", "money_release_date")
_EARLIEST = datetime.min.replace(tzinfo=UTC)

# money_release_date is the approval date in the sandbox (render.py writes it so).
_FIELD_VALUE: dict[str, Callable[[Payment], datetime | None]] = {
    "date_approved": lambda p: p.date_approved,
    "date_created": lambda p: p.date_created,
    "date_last_updated": lambda p: p.date_last_updated,
    "money_release_date": lambda p: p.date_approved,
}


@dataclass(frozen=True, slots=True)
class SearchQuery:
    sort: str = "date_created"
    criteria: str = "desc"
    range: str = "date_created"
    begin: datetime | None = None
    end: datetime | None = None
    external_reference: str | None = None
    status: str | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0


def parse_search_query(params: Mapping[str, str], now: datetime) -> SearchQuery:
    """Raises ApiError(400) with Mercado Pago's code for the first bad parameter."""
    sort = params.get("sort") or "date_created"
    if sort not in SORT_FIELDS:
        raise mp_errors.bad_request("Invalid sort value.", code=1003, data="sort")
    criteria = (params.get("criteria") or "desc").lower()
    if criteria not in ("asc", "desc"):
        raise mp_errors.bad_request("Invalid criteria value.", code=1004, data="criteria")
    range_field = params.get("range") or "date_created"
    if range_field not in RANGE_FIELDS:
        raise mp_errors.bad_request("Params Error.", code=1, data="range")
    return SearchQuery(
        sort=sort,
        criteria=criteria,
        range=range_field,
        begin=_date_param(params, "begin_date", now),
        end=_date_param(params, "end_date", now),
        external_reference=params.get("external_reference") or None,
        status=params.get("status") or None,
        limit=_count_param(params, "limit", DEFAULT_LIMIT, MAX_LIMIT),
        offset=_count_param(params, "offset", 0, MAX_OFFSET),
    )


def _date_param(params: Mapping[str, str], name: str, now: datetime) -> datetime | None:
    text = params.get(name)
    if not text:
        return None
    try:
        return parse_search_date(text, now)
    except ValueError:
        message = "Date format must be yyyy-MM-dd'T'HH:mm:ss.SSSZ."
        raise mp_errors.bad_request(message, code=1001, data=name) from None


def _count_param(params: Mapping[str, str], name: str, default: int, maximum: int) -> int:
    text = params.get(name)
    if text is None or text == "":
        return default
    if not text.isdigit():
        raise mp_errors.bad_request("Params Error.", code=1, data=name)
    value = int(text)
    if value > maximum:
        message = f"Number of rows exceeded the limits. {name} must be at most {maximum}"
        raise mp_errors.bad_request(message, code=1000, data=name)
    return value


class PaymentSearch:
    """Runs searches over the state; keeps each sort order until the state changes, so paging
    through 10,000+ payments sorts once, not once per page."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state
        self._orders: dict[str, list[Payment]] = {}
        self._version = -1

    def run(self, query: SearchQuery) -> tuple[int, list[Payment]]:
        """(total matches, the page of them)."""
        ordered = self._ordered(query.sort)
        if query.range == query.sort:  # the window is a slice of the sort order: bisect it
            ordered = _window(ordered, query)
        candidates = reversed(ordered) if query.criteria == "desc" else iter(ordered)
        keep = _filter(query)
        matches = [payment for payment in candidates if keep(payment)]
        return len(matches), matches[query.offset : query.offset + query.limit]

    def _ordered(self, sort: str) -> list[Payment]:
        if self._version != self._state.version:
            self._orders.clear()
            self._version = self._state.version
        if sort not in self._orders:
            self._orders[sort] = sorted(self._state.payments.values(), key=_sort_key(sort))
        return self._orders[sort]


def _sort_key(sort: str) -> Callable[[Payment], tuple[datetime, int]]:
    if sort == "id":
        return lambda payment: (_EARLIEST, payment.id)
    value = _FIELD_VALUE[sort]
    return lambda payment: (value(payment) or _EARLIEST, payment.id)


def _window(ordered: list[Payment], query: SearchQuery) -> list[Payment]:
    key = _sort_key(query.sort)
    low = 0 if query.begin is None else bisect_left(ordered, (query.begin, -1), key=key)
    high = len(ordered)
    if query.end is not None:
        high = bisect_right(ordered, (query.end, math.inf), key=key)
    return ordered[low:high]


def _filter(query: SearchQuery) -> Callable[[Payment], bool]:
    value = _FIELD_VALUE[query.range]
    begin, end = query.begin, query.end
    reference, status = query.external_reference, query.status

    def keep(payment: Payment) -> bool:
        if reference is not None and payment.external_reference != reference:
            return False
        if status is not None and payment.status != status:
            return False
        if begin is None and end is None:
            return True
        moment = value(payment)
        if moment is None:
            return False
        return (begin is None or moment >= begin) and (end is None or moment <= end)

    return keep
