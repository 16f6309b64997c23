"""What the page may show of a stored payload, header or error: never a credential. Headers
are stored with secrets removed already; this is the second fence, for secrets a caller put in
a body or that an error message quoted."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..config import Settings

MASK = "…"
SHOWN_CHARACTERS = 20_000  # a page stays under 100 KB whatever a caller posted
# Mercado Pago access tokens and card-token-like credentials, wherever they appear.
_TOKEN = re.compile(r"\b(APP_USR|TEST)-[A-Za-z0-9_\-]{8,}")
_SIGNATURE = re.compile(r"(v1=)[0-9a-fA-F]{8,}")
_SECRET_HEADERS = ("authorization", "proxy-authorization", "cookie", "x-api-key")


def known_secrets(settings: Settings) -> tuple[str, ...]:
    """Every configured secret value (the page must not echo one back, whatever its source)."""
    values = [
        settings.mercadopago.access_token,
        settings.server.monitor_token,
        settings.server.ui_token,
        settings.alerts.webhook_url,
        *settings.mercadopago.webhook_secrets,
    ]
    found = (value.get_secret_value() for value in values if value is not None)
    return tuple(text for text in found if len(text.strip()) >= 4)


def mask_text(text: str | None, secrets: Iterable[str]) -> str | None:
    if text is None:
        return None
    for secret in secrets:
        text = text.replace(secret, MASK)
    text = _SIGNATURE.sub(r"\1" + MASK, _TOKEN.sub(r"\1-" + MASK, text))
    if len(text) > SHOWN_CHARACTERS:
        return text[:SHOWN_CHARACTERS] + f" {MASK} (+{len(text) - SHOWN_CHARACTERS:,})"
    return text


def mask_headers(headers: dict[str, str], secrets: Iterable[str]) -> dict[str, str]:
    secrets = tuple(secrets)
    return {
        name: MASK if name.lower() in _SECRET_HEADERS else (mask_text(value, secrets) or "")
        for name, value in headers.items()
    }


def clip(text: str | None, limit: int = 200) -> str | None:
    """A title or reference as a table cell shows it."""
    if text is None or len(text) <= limit:
        return text
    return text[:limit] + MASK
