"""Human durations (`90s`, `15m`, `2h`, `7d`, `1w`) as used by flags and config."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from .errors import ValidationError

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# Nothing mpcheckout measures is longer, and a datetime plus more than this can overflow.
MAX_DURATION = timedelta(days=36_500)
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)


def parse_duration(text: str | float | int) -> timedelta:
    """`7d` -> 7 days; a bare number is seconds; at most MAX_DURATION. Anything else is a
    ValidationError."""
    try:
        if isinstance(text, int | float) and not isinstance(text, bool):
            delta = timedelta(seconds=text)
        else:
            match = _PATTERN.fullmatch(text) if isinstance(text, str) else None
            if not match:
                raise ValidationError("error.bad_duration", value=str(text)[:40])
            amount, unit = float(match.group(1)), (match.group(2) or "s").lower()
            delta = timedelta(**{_UNITS[unit]: amount})
    except (OverflowError, ValueError):
        raise ValidationError("error.bad_duration", value=str(text)[:40]) from None
    if abs(delta) > MAX_DURATION:
        raise ValidationError("error.bad_duration", value=str(text)[:40])
    return delta


def format_duration(delta: timedelta | float | None) -> str:
    """A short human form: `45s`, `12m`, `3h 05m`, `2d 4h`."""
    if delta is None:
        return "-"
    seconds = int(delta.total_seconds() if isinstance(delta, timedelta) else delta)
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    if seconds < 60:
        return f"{sign}{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return (
            f"{sign}{minutes}m {seconds:02d}s" if seconds and minutes < 10 else f"{sign}{minutes}m"
        )
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{sign}{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{sign}{days}d {hours}h"


def parse_since(text: str, now: datetime) -> datetime:
    """`--since` values: a duration back from now (`2h`, `7d`) or an ISO-8601 moment."""
    try:
        return now - parse_duration(text)
    except ValidationError:
        pass
    from .clock import parse_iso

    try:
        moment = parse_iso(text)
    except (ValueError, OverflowError):
        moment = None
    if moment is None:
        raise ValidationError("error.bad_since", value=text)
    return moment
