"""`mpcheckout db upgrade | info | copy`"""

from __future__ import annotations

from typing import Annotated

import typer

from ..copy import DEFAULT_BATCH_SIZE, CopyResult, copy_database, rows_to_copy
from ..i18n import Translator
from ..maintenance import describe_database, upgrade_database
from . import output
from .helptext import help_key as _
from .state import state_of

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


@db_app.command("copy", help=_("help.db_copy"))
def copy_to(
    ctx: typer.Context,
    to: Annotated[str, typer.Option("--to", help=_("help.opt.copy_to"), metavar="URL")],
    force: Annotated[bool, typer.Option("--force", help=_("help.opt.copy_force"))] = False,
    batch_size: Annotated[
        int, typer.Option(help=_("help.opt.copy_batch_size"), min=1, max=10_000)
    ] = DEFAULT_BATCH_SIZE,
    json_output: Annotated[bool, typer.Option("--json", help=_("help.opt.json"))] = False,
) -> None:
    state = state_of(ctx)
    runtime = state.runtime
    with output.count_progress(state.t("progress.copy"), rows_to_copy(runtime.store)) as advance:
        result = copy_database(
            runtime.store,
            to,
            runtime.settings.database,
            batch_size=batch_size,
            force=force,
            on_progress=advance,
        )
    if json_output:
        output.emit_json(result)
        return
    render_copy(result, state.t)


def render_copy(result: CopyResult, t: Translator) -> None:
    rows = [
        (table.table, table.source_rows, table.copied, table.skipped, table.target_rows)
        for table in result.tables
    ]
    columns = [t("col.table"), t("col.source_rows"), t("col.copied"), t("col.skipped")]
    title = t("db.copy_title", source=result.source, target=result.target)
    output.show(output.table(title, [*columns, t("col.target_rows")], rows))
    output.notice(t("db.copy_done", rows=result.rows_copied, seconds=f"{result.seconds:.1f}"))
