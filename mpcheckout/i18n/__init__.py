"""Message catalogs: Spanish (default, as Mercado Pago's home markets expect), English, Portuguese.

Each locale is a folder of TOML files (one per area of the tool: core.toml, sandbox.toml, …),
merged into one catalog; a table groups keys, so `[error] storage = "…"` is the key
`error.storage`. Placeholders use `str.format` syntax (`{path}`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

SUPPORTED_LOCALES = ("es", "en", "pt")
DEFAULT_LOCALE = "es"


@cache
def catalog(locale: str) -> dict[str, str]:
    """The flat `{key: message}` catalog of a supported locale."""
    from importlib import resources

    folder = resources.files(__package__).joinpath(locale)
    merged: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".toml"):
            merged.update(read_catalog_file(entry.read_text(encoding="utf-8")))
    return merged


_TABLE = re.compile(r"\[([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)\]")
_ENTRY = re.compile(r'([A-Za-z0-9_-]+) = "((?:[^"\\\x00-\x1f\x7f]|\\["\\])*)"')
_ESCAPE = re.compile(r'\\(["\\])')


def read_catalog_file(text: str) -> dict[str, str]:
    """One catalog file's messages by flat key. `mpcheckout --help` reads a whole catalog, and
    tomllib took a third of that command's instructions (importing it, then parsing 57 KB in
    pure Python). Catalogs use a small part of TOML, which `_read_plain_lines` reads; a file
    with anything else is read by tomllib, the reference (tests/unit/test_i18n.py holds the two
    equal on every catalog file)."""
    flat = _read_plain_lines(text)
    return _read_with_tomllib(text) if flat is None else flat


def _read_plain_lines(text: str) -> dict[str, str] | None:
    """Comments, `[table]` lines and `key = "text"` lines (`\\"` and `\\\\` the only escapes),
    or None for a file with any other line, or a key or table defined twice."""
    flat: dict[str, str] = {}
    tables: set[str] = set()
    prefix = ""
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        entry = _ENTRY.fullmatch(line)
        key = prefix + entry[1] if entry else ""
        if entry and key not in flat and key not in tables:
            flat[key] = _ESCAPE.sub(r"\1", entry[2])
            continue
        table = _TABLE.fullmatch(line)
        if entry or not table or table[1] in tables or table[1] in flat:
            return None
        tables.add(table[1])
        prefix = table[1] + "."
    return flat


def _read_with_tomllib(text: str) -> dict[str, str]:
    import tomllib  # only here: ~12 ms of CPU to import

    return dict(_flatten(tomllib.loads(text)))


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
