"""Message catalogs: Spanish (default, as Mercado Pago's home markets expect), English, Portuguese.

Each locale is a folder of TOML files (one per area of the tool: core.toml, sandbox.toml, …),
merged into one catalog; a table groups keys, so `[error] storage = "…"` is the key
`error.storage`. Placeholders use `str.format` syntax (`{path}`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

SUPPORTED_LOCALES = ("es", "en", "pt")
DEFAULT_LOCALE = "es"


@cache
def catalog(locale: str) -> dict[str, str]:
    """The flat `{key: message}` catalog of a supported locale."""
    # Imported here: a command that shows no text (`status --json`) never parses a catalog,
    # and tomllib with its regular expressions is ~12 ms of CPU to import.
    import tomllib
    from importlib import resources

    folder = resources.files(__package__).joinpath(locale)
    merged: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".toml"):
            merged.update(_flatten(tomllib.loads(entry.read_text(encoding="utf-8"))))
    return merged


def _flatten(table: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{name}.")
        else:
            yield name, value


def normalize_locale(value: str | None) -> str | None:
    """`pt_BR.UTF-8` -> `pt`; None for anything we have no catalog for."""
    if not value:
        return None
    language = value.replace("-", "_").split("_")[0].split(".")[0].lower()
    return language if language in SUPPORTED_LOCALES else None


def resolve_locale(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The first supported of: explicit choice, MPCHECKOUT_LOCALE, LC_ALL, LC_MESSAGES, LANG."""
    environ = os.environ if environ is None else environ
    candidates = [explicit] + [
        environ.get(name) for name in ("MPCHECKOUT_LOCALE", "LC_ALL", "LC_MESSAGES", "LANG")
    ]
    for candidate in candidates:
        locale = normalize_locale(candidate)
        if locale:
            return locale
    return DEFAULT_LOCALE


class _Params(dict[str, Any]):
    """A missing placeholder shows as `{name}` instead of failing the error message itself."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class Translator:
    """Looks keys up in one locale, falling back to English, then to the key itself. Catalogs
    are read on the first lookup, English only when the locale lacks a key."""

    def __init__(self, locale: str = DEFAULT_LOCALE) -> None:
        self.locale = normalize_locale(locale) or DEFAULT_LOCALE

    def __call__(self, key: str, /, **params: Any) -> str:
        template = catalog(self.locale).get(key) or catalog("en").get(key)
        if template is None:
            return key
        return template.format_map(_Params(params)) if params else template

    def has(self, key: str) -> bool:
        return key in catalog(self.locale)
