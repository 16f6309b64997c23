"""Help texts in the invocation's language. Commands declare catalog keys (`help_key`); nothing
is translated at import time, which knows no language. Once an invocation's arguments are known,
`translate_help` puts the words in place, on the commands and on Typer's and Click's own parts
(the help option, the completion options, the panel headings)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import typer

from ..i18n import Translator, resolve_locale

# Typer's own options, by parameter name, and the keys of their help in our catalogs.
TYPER_OPTIONS = {
    "install_completion": "help.typer.install_completion",
    "show_completion": "help.typer.show_completion",
}
# typer.rich_utils' panel headings (module constants computed at its import, in English).
PANEL_TITLES = {
    "OPTIONS_PANEL_TITLE": "help.panel.options",
    "COMMANDS_PANEL_TITLE": "help.panel.commands",
    "ARGUMENTS_PANEL_TITLE": "help.panel.arguments",
}
TRANSLATED = "_mpcheckout_translated"  # set once the translation is arranged
WORDS_TRANSLATED = "_mpcheckout_words_translated"  # set once the words are in place


def help_key(key: str) -> str:
    """A help text to be translated when the command runs: the catalog key itself."""
    return key


def help_translator(args: Sequence[str]) -> Translator:
    """The language of help: `--lang` among this invocation's arguments, else MPCHECKOUT_LOCALE
    / LANG, else Spanish. Read from the raw arguments because `--help` prints while they are
    being parsed, possibly before `--lang` has been."""
    explicit = None
    for index, arg in enumerate(args):
        if arg == "--lang" and index + 1 < len(args):
            explicit = args[index + 1]
        elif arg.startswith("--lang="):
            explicit = arg.split("=", 1)[1]
    return Translator(resolve_locale(explicit))


def translate_help(command: Any, ctx: typer.Context, t: Translator) -> None:
    """Put `command`'s help (and its subcommands') in `t`'s language before anyone reads it:
    when its help is shown, or at once while the shell completes a command line (completions
    carry the short help). A command that only runs never reads its help, so it never loads a
    catalog for it (~10 ms of TOML per language)."""
    if getattr(command, TRANSLATED, False):
        return
    if ctx.resilient_parsing:  # Click parses this way only to complete a command line
        _translate_now(command, ctx, t)
        return
    setattr(command, TRANSLATED, True)
    # An instance attribute shadows the class's method: this one command's help, this language.
    command.format_help = functools.partial(_format_help, command, command.format_help, t)
    for sub in getattr(command, "commands", {}).values():
        translate_help(sub, ctx, t)


def _translate_now(command: Any, ctx: typer.Context, t: Translator) -> None:
    """Translate `command` and, for a group already built, its commands, in place, once."""
    if getattr(command, WORDS_TRANSLATED, False):
        return
    setattr(command, TRANSLATED, True)
    setattr(command, WORDS_TRANSLATED, True)
    for attribute in ("help", "short_help"):
        text = getattr(command, attribute, None)
        if isinstance(text, str):
            setattr(command, attribute, t(text))
    for param in command.params:
        key = TYPER_OPTIONS.get(param.name or "", getattr(param, "help", None))
        if isinstance(key, str):
            param.help = t(key)
    help_option = command.get_help_option(ctx)
    if help_option is not None:  # Click builds it once per command and keeps it
        help_option.help = t("help.typer.help_option")
    for sub in getattr(command, "commands", {}).values():
        _translate_now(sub, ctx, t)


def _format_help(
    command: Any, format_help: Callable[..., Any], t: Translator, ctx: Any, *args: Any
) -> Any:
    """Typer renders help with module-level headings; they are set only when help is shown,
    so that no other command pays for importing the renderer."""
    import typer.rich_utils as renderer

    _translate_now(command, ctx, t)
    for name, key in PANEL_TITLES.items():
        if hasattr(renderer, name):
            setattr(renderer, name, t(key))
    try:
        return format_help(ctx, *args)
    except SystemExit:  # rich's answer to a closed stdout (`--help | head -1`) is exit 1
        raise BrokenPipeError from None
