"""Per-invocation state: global options, lazily loaded settings and runtime, the translator."""

from __future__ import annotations

import os
from dataclasses import field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ..i18n import Translator, resolve_locale
from ..records import record
from .helptext import help_translator

if TYPE_CHECKING:
    from ..runtime import Runtime


class Lang(StrEnum):
    es = "es"
    en = "en"
    pt = "pt"


@record
class CliState:
    config_path: Path | None = None
    database_url: str | None = None
    lang: str | None = None
    debug: bool = False
    help_t: Translator = field(default_factory=lambda: help_translator(()))
    _runtime: Runtime | None = field(default=None, repr=False)

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            # Settings (pydantic) and the store load here, when a command first needs them:
            # `--help` and `--version` never do.
            from ..config import load_settings
            from ..runtime import Runtime

            overrides = {"database.url": self.database_url, "locale": self.lang}
            self._runtime = Runtime(load_settings(self.config_path, overrides))
        return self._runtime

    @property
    def t(self) -> Translator:
        configured = self._runtime.settings.locale if self._runtime else None
        return Translator(resolve_locale(self.lang or configured, os.environ))

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()


def state_of(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj
