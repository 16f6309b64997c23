"""Dates as Mercado Pago writes and reads them.

Its API answers in a fixed UTC-4 offset with milliseconds (`2021-09-14T08:55:41.000-04:00`, in
the payment search fixture), and its payment search takes ISO-8601 dates or the documented
relative forms `NOW`, `NOW-30MINUTES`, `NOW-2HOURS`, `NOW-7DAYS` (Mercado Pago docs, "Search
payments": `begin_date=NOW-30DAYS&end_date=NOW`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

MERCADOPAGO_OFFSET = timezone(timedelta(hours=-4))

_RELATIVE = re.compile(r"^NOW(?:([+-])(\d{1,9})(SECOND|MINUTE|HOUR|DAY|WEEK|MONTH|YEAR)S?)?$")
# Months and years as fixed lengths: the sandbox only needs windows, not calendar arithmetic.
_UNIT_SECONDS = {
    "SECOND": 1,
    "MINUTE": 60,
    "HOUR": 3600,
    "DAY": 86400,
    "WEEK": 7 * 86400,
    "MONTH": 30 * 86400,
    "YEAR": 365 * 86400,
}
# An unencoded `+` in a query string arrives as a space: `...:00.000 00:00` means `+00:00`.
_SPACE_BEFORE_OFFSET = re.compile(r" (\d{2}:?\d{2})$")


def to_millis(moment: datetime) -> datetime:
    """Mercado Pago keeps dates to the millisecond; so does the sandbox, so that a date a client
    reads back and searches with names exactly the payment it came from."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def mercadopago_datetime(moment: datetime | None) -> str | None:
    """`2026-11-28T10:30:02.000-04:00`, or None."""
    if moment is None:
        return None
    return moment.astimezone(MERCADOPAGO_OFFSET).isoformat(timespec="milliseconds")


def parse_datetime(text: object) -> datetime:
    """An ISO-8601 time (`Z`, offsets with or without a colon, no offset = UTC) -> aware UTC.
    Raises ValueError for anything else."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("not an ISO-8601 date")
    cleaned = _SPACE_BEFORE_OFFSET.sub(r"+\1", text.strip())
    moment = datetime.fromisoformat(cleaned.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_search_date(text: str, now: datetime) -> datetime:
    """`begin_date` / `end_date`: ISO-8601 or `NOW[+-]<n><UNIT>S`. Raises ValueError."""
    relative = _RELATIVE.match(text.strip().upper())
    if relative is None:
        return parse_datetime(text)
    sign, amount, unit = relative.groups()
    if sign is None:
        return now
    delta = timedelta(seconds=int(amount) * _UNIT_SECONDS[unit])
    return now - delta if sign == "-" else now + delta
