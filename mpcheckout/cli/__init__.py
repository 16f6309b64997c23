"""The `mpcheckout` command: global options, the command groups, and the one error boundary."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from .. import __version__
from ..errors import EXIT_USAGE, AppError
from .coercion import skip_coercion_of_plain_values
from .helptext import help_key as _
from .helptext import help_translator, translate_help
from .lean_help import install as install_lean_help
from .state import CliState, Lang, state_of

install_lean_help()

EXIT_INTERNAL = 70  # sysexits EX_SOFTWARE: a bug; the message asks for --debug output
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a reader that went away
# Set by the test suite (tests/conftest.py `workdir`): an unexpected exception propagates with
# its traceback instead of becoming "internal error, exit 70", so a failing test shows the bug.
RAISE_UNEXPECTED_ENV = "MPCHECKOUT_RAISE_UNEXPECTED"
JSON_PARAM = "json_output"  # every command's `--json` flag is this parameter


def _base_named(name: str) -> Any:
    """One of Click's exception classes. typer >= 0.26 carries its own copy of Click in a
    private module and older typer uses the click package; both reach it through typer's public
    BadParameter, which derives from UsageError and ClickException."""
    return next(base for base in typer.BadParameter.__mro__ if base.__name__ == name)


UsageError = _base_named("UsageError")
ClickException = _base_named("ClickException")


class AppGroup(TyperGroup):
    """Turns every AppError into one translated line (or a JSON error document) and its exit
    code; usage errors exit 64 as sysexits says. Tracebacks only with --debug, never locals.
    Commands are loaded lazily (COMMANDS), help is translated once the language is known."""

    summaries_only = False  # True while the root's help lists the commands

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, name: str) -> Any:
        command = self.commands.get(name)
        if command is None and name in COMMANDS:
            if self.summaries_only:
                return _summary(name, state_of(ctx).help_t)
            command = self.commands[name] = _load_command(name)
            command.hidden = name == "dlq"  # an alias: `dead-letters` is what help lists
        if command is not None:
            _remember_json_flag(command)
            skip_coercion_of_plain_values(command, ctx)
            translate_help(command, ctx, state_of(ctx).help_t)
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        # Listing the commands needs their names and one line each, not their modules: `--help`
        # would otherwise import uvicorn, httpx and the SDK to print a table of sentences.
        self.summaries_only = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self.summaries_only = False

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        state = state_of(ctx)
        state.help_t = help_translator(args)
        translate_help(self, ctx, state.help_t)
        skip_coercion_of_plain_values(self, ctx)
        return super().parse_args(ctx, args)

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except UsageError as exc:
            exc.exit_code = EXIT_USAGE
            raise
        except BrokenPipeError:  # `mpcheckout --help | head -1`: help prints while parsing
            _quiet_stdout()
            raise typer.Exit(EXIT_BROKEN_PIPE) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            exc.exit_code = EXIT_USAGE
            raise
        except BrokenPipeError:
            _quiet_stdout()
            raise typer.Exit(EXIT_BROKEN_PIPE) from None
        except AppError as exc:
            raise typer.Exit(self._report(ctx, exc)) from None
        except KeyboardInterrupt:
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except (typer.Exit, typer.Abort, ClickException):
            raise
        except Exception as exc:
            if os.environ.get(RAISE_UNEXPECTED_ENV) == "1":
                raise
            raise typer.Exit(self._report(ctx, exc)) from None
        finally:
            if isinstance(ctx.obj, CliState):
                ctx.obj.close()

    def _report(self, ctx: Any, exc: Exception) -> int:
        from . import output

        state = state_of(ctx)
        json_mode = bool(ctx.meta.get(JSON_PARAM))
        return output.report_error(exc, state.t, json_mode=json_mode, debug=state.debug)


def _remember_json_flag(command: Any) -> None:
    """Record each command's parsed `--json` in the context tree's shared `meta`, where the
    error boundary (which sees only the root context) reads it."""
    for param in command.params:
        if param.name == JSON_PARAM and not getattr(param.callback, "stores_json_flag", False):
            param.callback = _store_json_flag(param.callback)
            param.is_eager = True  # known before any other option's callback can fail
    for sub in getattr(command, "commands", {}).values():
        _remember_json_flag(sub)


def _store_json_flag(original: Any) -> Any:
    def store(ctx: Any, param: Any, value: Any) -> Any:
        ctx.meta[JSON_PARAM] = bool(value)
        return original(ctx, param, value) if original else value

    store.stores_json_flag = True  # type: ignore[attr-defined]
    return store


def _quiet_stdout() -> None:
    """The reader of our stdout has gone (`| head`): point the descriptor at /dev/null so that
    the interpreter's last flush cannot fail again and print a traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


app = typer.Typer(
    cls=AppGroup,
    help=_("help.app"),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mpcheckout {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", help=_("help.opt.config"), metavar="PATH")
    ] = None,
    db: Annotated[str | None, typer.Option("--db", help=_("help.opt.db"), metavar="URL")] = None,
    lang: Annotated[
        Lang | None, typer.Option("--lang", help=_("help.opt.lang"), case_sensitive=False)
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help=_("help.opt.debug"))] = False,
    version: Annotated[
        bool,
        typer.Option("--version", help=_("help.opt.version"), callback=_version, is_eager=True),
    ] = False,
) -> None:
    state = state_of(ctx)
    state.config_path = config
    state.database_url = db
    state.lang = lang.value if lang else None
    state.debug = debug


# Command name -> (module of mpcheckout.cli that registers it, key of its one-line help). A
# module is imported only when its command runs: `mpcheckout status` has no reason to load
# uvicorn, httpx or the SDK, and on a small machine each of those costs a noticeable part of a
# second. The help key is what `mpcheckout --help` lists (a test keeps it equal to the
# command's own).
COMMANDS = {
    "ingest": ("ingest", "help.ingest"),
    "events": ("events", "help.events"),
    "process": ("process", "help.process"),
    "dead-letters": ("dead_letters", "help.dlq"),
    "dlq": ("dead_letters", "help.dlq"),
    "orders": ("orders", "help.orders"),
    "reconcile": ("reconcile", "help.reconcile"),
    "status": ("status", "help.status"),
    "alerts": ("alerts", "help.alerts"),
    "serve": ("serve", "help.serve"),
    "checkout": ("checkout", "help.checkout"),
    "mp": ("mp", "help.mp"),
    "payments": ("payments", "help.payments"),
    "chargebacks": ("chargebacks", "help.chargebacks"),
    "reports": ("reports", "help.reports"),
    "money": ("money", "help.money"),
    "sandbox": ("sandbox", "help.sandbox"),
    "demo": ("demo", "help.demo"),
    "init": ("config", "help.init"),
    "config": ("config", "help.config"),
    "db": ("db", "help.db"),
    "doctor": ("doctor", "help.doctor"),
}


def _load_command(name: str) -> Any:
    """The click command `name` as its module registers it, built on first use."""
    module = importlib.import_module(f"{__name__}.{COMMANDS[name][0]}")
    holder = typer.Typer()
    module.register(holder)
    group = typer.main.get_group(holder)
    return group.get_command(typer.Context(group), name)


def _summary(name: str, t: Any) -> TyperCommand:
    """A stand-in that carries only what the root's help lists about a command."""
    return TyperCommand(name=name, help=t(COMMANDS[name][1]), hidden=name == "dlq")


def main(args: Sequence[str] | None = None) -> None:
    try:
        app(args=args, prog_name="mpcheckout")
    except BrokenPipeError:  # help shown by Click itself (a group run without a command)
        _quiet_stdout()
        sys.exit(EXIT_BROKEN_PIPE)
    finally:
        try:
            sys.stdout.flush()  # a reader gone at the very end must not print a traceback
        except BrokenPipeError:
            _quiet_stdout()
            sys.exit(EXIT_BROKEN_PIPE)
