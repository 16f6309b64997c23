"""Option values that need no conversion skip Typer's pydantic coercion.

Typer >= 0.26 converts every parameter's value through a pydantic `TypeAdapter` it builds on
first use, even a value that is already what the annotation says (an option left out, so None;
a `--db URL`, already a str; `--limit`'s default 50, already an int). Building those adapters is
where `mpcheckout status --json` spent ~40 ms of CPU (importing pydantic's validators and
building seven adapters). Here a value Typer would hand back unchanged is handed back directly;
anything else (a str for an int, a path, a choice, a list, a value with bounds or a parser) still
goes through Typer, so every conversion and every error message stays Typer's own.
"""

from __future__ import annotations

import functools
from typing import Any

PATCHED = "_mpcheckout_plain_values"
# Annotations whose adapter returns a value of exactly that type unchanged (pydantic's lax
# int from int, Typer's `_parse_cli_str` str(value) of a str).
UNCHANGED_TYPES = (str, int)


def skip_coercion_of_plain_values(command: Any, ctx: Any) -> None:
    """Give every parameter of `command` (and of its subcommands) the shortcut, once. The help
    option is among them: Click builds it apart from `params`, and its value is None unless
    `--help` is given."""
    for param in [*command.params, command.get_help_option(ctx)]:
        if getattr(param, "type_descriptor", None) is not None and not hasattr(param, PATCHED):
            setattr(param, PATCHED, True)
            param.process_value = functools.partial(_process_value, param, param.process_value)
    for sub in getattr(command, "commands", {}).values():
        skip_coercion_of_plain_values(sub, ctx)


def _process_value(param: Any, typer_process_value: Any, ctx: Any, value: Any) -> Any:
    if not _unchanged_by_coercion(param, value):
        return typer_process_value(ctx, value)
    if value is None and (param.multiple or param.nargs == -1):
        value = ()  # what Typer's coercion makes of a missing multi-value parameter
    if param.required and param.value_is_missing(value):
        return typer_process_value(ctx, value)  # Typer raises its own "missing" error
    if param.callback is not None:
        value = param.callback(ctx, param, value)
    return value


def _unchanged_by_coercion(param: Any, value: Any) -> bool:
    if value is None:
        return True
    descriptor = param.type_descriptor
    info = descriptor.parameter_info
    return (
        type(value) is descriptor.annotation
        and descriptor.annotation in UNCHANGED_TYPES
        and not (param.multiple or param.nargs != 1)
        and info.parser is None
        and info.min is None
        and info.max is None
    )
