"""HTML for the status page: one Jinja2 environment (autoescaped, templates in the package),
money, time and duration formats per language, and the 24-hour chart as inline SVG."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ...pages.summary import HourActivity

ZERO_DECIMAL_CURRENCIES = {"CLP", "COP", "PYG"}
SEPARATORS = {"en": (",", "."), "es": (".", ","), "pt": (".", ",")}


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("mpcheckout.server.ui", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, duration=duration)
    return env


def money(amount: Decimal | None, currency: str | None, lang: str) -> str:
    """`ARS 1.234,56` (es, pt) or `ARS 1,234.56` (en); CLP and COP without cents."""
    if amount is None:
        return "—"
    places = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
    text = f"{amount:,.{places}f}"
    thousands, decimal = SEPARATORS.get(lang, SEPARATORS["es"])
    text = text.replace(",", "\0").replace(".", decimal).replace("\0", thousands)
    return f"{currency or ''} {text}".strip()


def when(moment: datetime | None) -> str:
    return "—" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float | None) -> str:
    """`45 s`, `12 min`, `3 h 20 min`, `2 d 4 h`: what a person reads at a glance."""
    if seconds is None:
        return "—"
    seconds = max(seconds, 0)
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


@dataclass(slots=True, frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    completed: int
    dead: int
    dead_y: float
    dead_height: float
    latency: float | None


@dataclass(slots=True, frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    peak: int
    latency_points: str  # an SVG polyline's points, average latency per hour
    latency_peak: float


def chart(hours: list[HourActivity], width: int = 720, height: int = 160) -> Chart:
    """Completed (bars), dead-lettered (on top, another colour) and average latency (a line,
    scaled to its own peak) per hour. Pure geometry; the template draws it."""
    peak = max((h.completed + h.dead for h in hours), default=0) or 1
    latency_peak = max((h.latency_avg_seconds or 0 for h in hours), default=0.0)
    step = width / max(len(hours), 1)
    bars, points = [], []
    for n, hour in enumerate(hours):
        done_height = height * hour.completed / peak
        dead_height = height * hour.dead / peak
        x = n * step
        bars.append(
            Bar(
                round(x + 1, 1),
                round(height - done_height, 1),
                round(step - 2, 1),
                round(done_height, 1),
                hour.hour.strftime("%H:00"),
                hour.completed,
                hour.dead,
                round(height - done_height - dead_height, 1),
                round(dead_height, 1),
                hour.latency_avg_seconds,
            )
        )
        if hour.latency_avg_seconds is not None and latency_peak:
            y = height - height * hour.latency_avg_seconds / latency_peak
            points.append(f"{x + step / 2:.1f},{y:.1f}")
    return Chart(width, height, bars, peak, " ".join(points), latency_peak)
