"""The `mpcheckout` command: global options, the command groups, and the one error boundary."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated, Any, ClassVar

import typer
from typer import _click
from typer.core import TyperGroup

from .. import __version__
from ..errors import EXIT_USAGE, AppError
from . import output
from .state import CliState, startup_translator, state_of

EXIT_INTERNAL = 70  # sysexits EX_SOFTWARE: a bug; the message asks for --debug output
EXIT_INTERRUPTED = 130

_ = startup_translator()


class AppGroup(TyperGroup):
    """Turns every AppError into one translated line (or a JSON error document) and its exit
    code; usage errors exit 64 as sysexits says. Tracebacks only with --debug, never locals.
    Commands are loaded lazily (COMMAND_MODULES)."""

    _argv: ClassVar[list[str]] = []

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMAND_MODULES)

    def get_command(self, ctx: Any, name: str) -> Any:
        if name not in self.commands and name in COMMAND_MODULES:
            command = _load_command(name)
            if name == "dlq":
                command.hidden = True  # an alias: `dead-letters` is what help lists
            self.commands[name] = command
        return self.commands.get(name)

    def main(self, args: Any = None, *rest: Any, **kwargs: Any) -> Any:
        AppGroup._argv = list(sys.argv[1:] if args is None else args)
        return super().main(args, *rest, **kwargs)

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except _click.exceptions.UsageError as exc:
            exc.exit_code = EXIT_USAGE
            raise

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _click.exceptions.UsageError as exc:
            exc.exit_code = EXIT_USAGE
            raise
        except AppError as exc:
            raise typer.Exit(self._report(ctx, exc)) from None
        except KeyboardInterrupt:
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except (typer.Exit, typer.Abort, _click.exceptions.ClickException):
            raise
        except Exception as exc:
            raise typer.Exit(self._report(ctx, exc)) from None
        finally:
            if isinstance(ctx.obj, CliState):
                ctx.obj.close()

    def _report(self, ctx: typer.Context, exc: Exception) -> int:
        state = state_of(ctx)
        debug = state.debug or "--debug" in self._argv
        json_mode = "--json" in self._argv
        return output.report_error(exc, state.t, json_mode=json_mode, debug=debug)


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
        output.Lang | None, typer.Option("--lang", help=_("help.opt.lang"), case_sensitive=False)
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


# Command name -> module of mpcheckout.cli that registers it. A module is imported only when
# its command runs (or for --help): `mpcheckout status` has no reason to load uvicorn, httpx
# or the SDK, and on a small machine each of those costs a noticeable part of a second.
COMMAND_MODULES = {
    "ingest": "ingest",
    "events": "events",
    "process": "process",
    "dead-letters": "dead_letters",
    "dlq": "dead_letters",
    "orders": "orders",
    "reconcile": "reconcile",
    "status": "status",
    "alerts": "alerts",
    "serve": "serve",
    "checkout": "checkout",
    "mp": "mp",
    "sandbox": "sandbox",
    "demo": "demo",
    "init": "config",
    "config": "config",
    "db": "db",
    "doctor": "doctor",
}


def _load_command(name: str) -> Any:
    """The click command `name` as its module registers it, built on first use."""
    module = importlib.import_module(f"{__name__}.{COMMAND_MODULES[name]}")
    holder = typer.Typer()
    module.register(holder)
    group = typer.main.get_group(holder)
    return group.get_command(_click.Context(group), name)


def main() -> None:
    app(prog_name="mpcheckout")
