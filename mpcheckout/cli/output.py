"""Rendering: a result model becomes a rich table on stdout, or with --json the same model as one
JSON document. Notices, progress and errors go to stderr, so `--json | jq` always works."""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer

from ..errors import AppError, error_document
from ..i18n import Translator
from ..models import to_jsonable

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

# Rich is imported by the functions that draw with it, never by this module: `--json` output
# and the error path of a script need none of it, and it costs every command ~35 ms to load.

EXIT_INTERNAL = 70


def stdout_console() -> Console:
    """Data console. Off a terminal, rich would wrap at 80 columns; wide tables stay whole."""
    from rich.console import Console

    console = Console(soft_wrap=False, highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(width=200, soft_wrap=False, highlight=False)
    console.on_broken_pipe = _reader_gone  # type: ignore[method-assign]
    return console


def _reader_gone() -> None:
    """Rich would exit 1 when stdout's reader goes away (`| head`); the CLI's error boundary
    ends such a command quietly with the shell's own code for it instead."""
    raise BrokenPipeError


def stderr_console() -> Console:
    """Notices are lines of prose: off a terminal, never hard-wrapped mid-sentence."""
    from rich.console import Console

    console = Console(stderr=True, highlight=False)
    if not console.is_terminal:
        console = Console(stderr=True, highlight=False, soft_wrap=True)
    return console


def to_plain(value: Any) -> Any:
    return to_jsonable(value)


def json_line(value: Any) -> str:
    """One compact line, for a script reading a long-running command's first line."""
    return json.dumps(to_jsonable(value), ensure_ascii=False)


def emit_json(value: Any) -> None:
    typer.echo(json.dumps(to_jsonable(value), ensure_ascii=False, indent=2))


def escape(text: str) -> str:
    """`text` shown as it is, not read as rich markup."""
    from rich.markup import escape as escape_markup

    return escape_markup(text)


def notice(text: str) -> None:
    stderr_console().print(escape(text))


def when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%SZ")


def money(amount: Any, currency: str | None) -> str:
    if amount is None:
        return "-"
    return f"{amount} {currency or ''}".strip()


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    from rich.table import Table

    grid = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        grid.add_column(column)
    for row in rows:
        grid.add_row(*("-" if cell is None else escape(str(cell)) for cell in row))
    return grid


def pairs(title: str | None, rows: Iterable[tuple[str, Any]]) -> Table:
    from rich.table import Table

    grid = Table(title=title, title_justify="left", show_header=False)
    grid.add_column(style="bold")
    grid.add_column()
    for key, value in rows:
        grid.add_row(escape(key), "-" if value is None else escape(str(value)))
    return grid


def show(*renderables: Any) -> None:
    console = stdout_console()
    for renderable in renderables:
        if isinstance(renderable, str):
            console.print(renderable, markup=False)
        else:
            console.print(renderable)


@contextmanager
def byte_progress(label: str, total: int | None) -> Iterator[Any]:
    """A progress bar on stderr when it is a terminal; a no-op callback otherwise."""
    console = stderr_console()
    if not console.is_terminal:
        yield lambda amount: None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    columns = [TextColumn(label), BarColumn(), DownloadColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(label, total=total)
        yield lambda amount: progress.advance(task, amount)


@contextmanager
def count_progress(label: str, total: int | None) -> Iterator[Any]:
    console = stderr_console()
    if not console.is_terminal:
        yield lambda amount=1: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = [TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(label, total=total)
        yield lambda amount=1: progress.advance(task, amount)


def report_alerts(outcome: Any, t: Translator) -> None:
    """One notice per alert condition that fired or could not be delivered."""
    for condition in outcome.fired:
        notice(t("alerts.fired", condition=condition))
    for condition in outcome.failed:
        notice(t("alerts.undelivered", condition=condition))


def report_error(exc: Exception, t: Translator, *, json_mode: bool, debug: bool) -> int:
    """Print an error the way a person (or with --json, a script) can act on; return the exit
    code. Unknown exceptions are bugs: one line asking for --debug, traceback only then."""
    if debug:
        sys.stderr.write("".join(traceback.format_exception(exc)))
    if not isinstance(exc, AppError):
        exc = _InternalError(kind=type(exc).__name__)
    document = error_document(exc, t)
    if json_mode:
        emit_json(document)
    else:
        console = stderr_console()
        console.print(
            f"[bold red]{escape(t('label.error'))}:[/] {escape(document['error']['message'])}"
        )
        if "hint" in document["error"]:
            console.print(f"[dim]{escape(t('label.hint'))}: {escape(document['error']['hint'])}[/]")
    return exc.exit_code


class _InternalError(AppError):
    code = "internal_error"
    message_key = "error.internal"
    hint_key = "hint.internal"
    exit_code = EXIT_INTERNAL
