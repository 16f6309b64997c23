"""Mercado Pago's real payloads, copied into this repository (tests/fixtures/mercadopago, with
SOURCES.md saying where each comes from). Nothing here reads outside the repository; the folder
is only looked at when a test asks for a fixture, so a test that needs none runs without it.
`MPCHECKOUT_FIXTURES` may point at another copy of the same folder."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

BUNDLED = Path(__file__).resolve().parent / "fixtures" / "mercadopago"


def fixtures_root() -> Path:
    override = os.environ.get("MPCHECKOUT_FIXTURES")
    return Path(override) if override else BUNDLED


def notification_fixtures() -> list[Path]:
    """The documented Webhooks bodies (`mp-*.json`); empty when the folder is missing."""
    return sorted(fixtures_root().glob("mp-*.json"))


def http_fixtures() -> list[Path]:
    """The documented raw HTTP captures (`mp-*.http`)."""
    return sorted(fixtures_root().glob("mp-*.http"))


def fixture_path(name: str) -> Path:
    path = fixtures_root() / name
    if not path.is_file():
        raise FileNotFoundError(f"Mercado Pago fixture {name} is not in {fixtures_root()}")
    return path


def fixture_json(name: str) -> Any:
    return json.loads(fixture_path(name).read_text())
