"""Per-invocation state: global options, lazily loaded settings and runtime, the translator."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import typer

from ..config import load_settings
from ..i18n import Translator, resolve_locale
from ..runtime import Runtime


def startup_translator(argv: list[str] | None = None) -> Translator:
    """The language of help texts, fixed when the CLI is built: `--lang` if it is on the command
    line, else MPCHECKOUT_LOCALE / LANG, else Spanish."""
    argv = sys.argv[1:] if argv is None else argv
    explicit = None
    for index, arg in enumerate(argv):
        if arg == "--lang" and index + 1 < len(argv):
            explicit = argv[index + 1]
        elif arg.startswith("--lang="):
            explicit = arg.split("=", 1)[1]
    return Translator(resolve_locale(explicit))


@dataclass
class CliState:
    config_path: Path | None = None
    database_url: str | None = None
    lang: str | None = None
    debug: bool = False
    _runtime: Runtime | None = field(default=None, repr=False)

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
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
