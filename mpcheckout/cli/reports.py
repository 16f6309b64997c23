"""`mpcheckout reports import FILE...` and `mpcheckout reports fetch settlement|release`"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ..i18n import Translator
from . import output
from .helptext import help_key as _
from .state import state_of

reports_app = typer.Typer(help=_("help.reports"), no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help=_("help.opt.json"))]


class Kind(StrEnum):
    settlement = "settlement"
    release = "release"


def register(app: typer.Typer) -> None:
    app.add_typer(reports_app, name="reports")


@reports_app.command("import", help=_("help.reports_import"))
def import_command(
    ctx: typer.Context,
    paths: Annotated[
        list[Path], typer.Argument(help=_("help.arg.report_files"), metavar="FILE...")
    ],
    separator: Annotated[
        str | None, typer.Option("--separator", help=_("help.opt.report_separator"))
    ] = None,
    json_output: JsonOption = False,
) -> None:
    from ..report_imports import import_report_files, total_bytes

    state = state_of(ctx)
    runtime = state.runtime
    chosen = separator or runtime.settings.reports.separator or None
    with output.byte_progress(state.t("progress.report_import"), total_bytes(paths)) as advance:
        result = import_report_files(
            runtime.store, runtime.clock, paths, separator=chosen, progress=advance
        )
    if json_output:
        output.emit_json({"files": result.files, "rows_added": result.rows_added})
        return
    output.show(render_imported(result.files, state.t))


@reports_app.command("fetch", help=_("help.reports_fetch"))
def fetch_command(
    ctx: typer.Context,
    kind: Annotated[Kind, typer.Argument(help=_("help.arg.report_kind"))],
    since: Annotated[str | None, typer.Option("--since", help=_("help.opt.report_since"))] = None,
    begin: Annotated[str | None, typer.Option("--from", help=_("help.opt.report_from"))] = None,
    end: Annotated[str | None, typer.Option("--to", help=_("help.opt.report_to"))] = None,
    json_output: JsonOption = False,
) -> None:
    from ..report_fetch import FetchRequest, fetch_reports

    state = state_of(ctx)
    runtime = state.runtime
    request = FetchRequest.parse(kind.value, since, begin, end, runtime.clock.now())
    result = fetch_reports(
        runtime.store, runtime.gateway, runtime.clock, request, runtime.settings.reports
    )
    if json_output:
        output.emit_json(result)
        return
    output.show(render_imported(result.files, state.t))


def render_imported(files: list[Any], t: Translator) -> Any:
    columns = [
        t("reports.file"),
        t("reports.kind"),
        t("reports.rows"),
        t("reports.added"),
        t("reports.flagged"),
    ]
    rows = [
        (
            f.name + (f" ({t('reports.already')})" if f.already_imported else ""),
            t(f"reports.kind_{f.kind}"),
            f.rows_read,
            f.rows_added,
            f.rows_flagged,
        )
        for f in files
    ]
    return output.table(t("reports.imported", count=len(files)), columns, rows)
