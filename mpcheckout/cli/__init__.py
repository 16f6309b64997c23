"""The `mpcheckout` command: global options, the command groups, and the one error boundary."""

from __future__ import annotations

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
    code; usage errors exit 64 as sysexits says. Tracebacks only with --debug, never locals."""

    _argv: ClassVar[list[str]] = []

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


def _register() -> None:
    from . import alerts as alerts_cli
    from . import checkout as checkout_cli
    from . import config as config_cli
    from . import db as db_cli
    from . import dead_letters as dead_letters_cli
    from . import demo as demo_cli
    from . import events as events_cli
    from . import ingest as ingest_cli
    from . import mp as mp_cli
    from . import orders as orders_cli
    from . import process as process_cli
    from . import reconcile as reconcile_cli
    from . import sandbox as sandbox_cli
    from . import serve as serve_cli
    from . import status as status_cli

    groups = (
        ingest_cli,
        events_cli,
        process_cli,
        dead_letters_cli,
        orders_cli,
        reconcile_cli,
        status_cli,
        alerts_cli,
        serve_cli,
        checkout_cli,
        mp_cli,
        sandbox_cli,
        demo_cli,
        config_cli,
        db_cli,
    )
    for module in groups:
        module.register(app)


_register()


def main() -> None:
    app(prog_name="mpcheckout")
