"""`mpcheckout init` and `mpcheckout config show`"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..maintenance import effective_settings, init_workspace
from . import output
from .helptext import help_key as _
from .state import state_of

config_app = typer.Typer(help=_("help.config"), no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("init", help=_("help.init"))(init)
    app.add_typer(config_app, name="config")


def init(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option("--force", help=_("help.opt.init_force"))] = False,
    json_output: Annotated[bool, typer.Option("--json", help=_("help.opt.json"))] = False,
) -> None:
    state = state_of(ctx)
    result = init_workspace(Path.cwd(), state.runtime.open_store, force)
    if json_output:
        output.emit_json(result)
        return
    t = state.t
    key = "init.config_written" if result.config_written else "init.config_kept"
    output.notice(t(key, path=result.config_file))
    output.notice(t("init.database", path=result.database, version=result.schema_version))
    output.notice(t("init.next"))


@config_app.command("show", help=_("help.config_show"))
def show(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help=_("help.opt.json"))] = False,
) -> None:
    state = state_of(ctx)
    result = effective_settings(state.runtime.loaded)
    if json_output:
        output.emit_json(result)
        return
    t = state.t
    rows = [
        (row.key, _plain(row.value), t(f"config.source.{row.source}")) for row in result.settings
    ]
    title = t("config.title", path=result.config_file or t("config.no_file"))
    output.show(output.table(title, [t("col.key"), t("col.value"), t("col.source")], rows))


def _plain(value) -> str:
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return "-" if value is None else str(value)
