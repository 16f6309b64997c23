"""`mpcheckout db upgrade | info`"""

from __future__ import annotations

from typing import Annotated

import typer

from ..maintenance import describe_database, upgrade_database
from . import output
from .state import startup_translator, state_of

_ = startup_translator()

db_app = typer.Typer(help=_("help.db"), no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")


@db_app.command("upgrade", help=_("help.db_upgrade"))
def upgrade(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help=_("help.opt.json"))] = False,
) -> None:
    state = state_of(ctx)
    store = state.runtime.open_store(migrate=False)
    try:
        result = upgrade_database(store)
    finally:
        store.close()
    if json_output:
        output.emit_json(result)
        return
    key = "db.upgraded" if result.after != result.before else "db.up_to_date"
    output.notice(state.t(key, path=result.location, before=result.before, after=result.after))


@db_app.command("info", help=_("help.db_info"))
def info(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help=_("help.opt.json"))] = False,
) -> None:
    state = state_of(ctx)
    store = state.runtime.open_store(migrate=False)
    try:
        result = describe_database(store)
    finally:
        store.close()
    if json_output:
        output.emit_json(result)
        return
    t = state.t
    size = "-" if result.size_bytes is None else f"{result.size_bytes / 1024:,.0f} KiB"
    summary = output.pairs(
        t("db.title"),
        [
            (t("db.backend"), result.backend),
            (t("db.location"), result.location),
            (t("db.version"), f"{result.schema_version} / {result.latest_version}"),
            (t("db.size"), size),
        ],
    )
    counts = output.table(
        t("db.rows"), [t("col.table"), t("col.rows")], sorted(result.row_counts.items())
    )
    output.show(summary, counts)
    if result.schema_version < result.latest_version:
        output.notice(t("db.pending", count=result.latest_version - result.schema_version))
