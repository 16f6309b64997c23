"""Seed files: `{"payments": [...], "preferences": [...]}` loaded when the sandbox starts.

A preference entry is a POST /checkout/preferences body, optionally with its `id`; a payment
entry is a POST /_sandbox/payments body, optionally with `id`, `date_created`, `date_approved`.
Preferences load first, so payments can name them. Loading sends no notifications."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from . import inputs
from .context import SandboxContext
from .mp_errors import ApiError, bad_request
from .preferences import build_preference


def load_seed_file(path: Path, context: SandboxContext) -> None:
    """Raises ConfigurationError naming the file and the first problem."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        load_seed(data, context)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = str(exc)
    except ApiError as exc:
        reason = "; ".join(f"{c.data}: {c.description}" for c in exc.causes) or exc.message
    else:
        return
    raise ConfigurationError("error.sandbox_seed_file", path=str(path), reason=reason)


def load_seed(data: Any, context: SandboxContext) -> None:
    document = inputs.require_object(data)
    now = context.clock.now()
    for entry in _entries(document, "preferences"):
        preference = build_preference(entry, now)
        if entry.get("id"):
            preference.id = str(entry["id"])
        context.state.add_preference(preference)
    for entry in _entries(document, "payments"):
        context.state.create_payment(inputs.payment_draft(entry), now)


def _entries(document: dict[str, Any], name: str) -> list[dict[str, Any]]:
    entries = document.get(name) or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise bad_request(f"{name} must be a list of objects", data=name)
    return entries
