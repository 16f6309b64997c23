"""`mpcheckout money [--since 30d] [--by day|order|payout] [--discrepancies] [--json]`"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from ..i18n import Translator
from . import output
from .helptext import help_key as _
from .state import state_of


class By(StrEnum):
    day = "day"
    order = "order"
    payout = "payout"


def register(app: typer.Typer) -> None:
    app.command("money", help=_("help.money"))(money_command)


def money_command(
    ctx: typer.Context,
    since: Annotated[str, typer.Option("--since", help=_("help.opt.money_since"))] = "30d",
    by: Annotated[By, typer.Option("--by", help=_("help.opt.money_by"))] = By.day,
    discrepancies_only: Annotated[
        bool, typer.Option("--discrepancies", help=_("help.opt.money_discrepancies"))
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help=_("help.opt.json"))] = False,
) -> None:
    from ..money import money_report

    state = state_of(ctx)
    runtime = state.runtime
    grace = runtime.settings.reports.settlement_grace
    report = money_report(runtime.store, runtime.clock, since=since, by=by.value, grace=grace)
    if json_output:
        output.emit_json(money_document(report, discrepancies_only))
        return
    shown = [] if discrepancies_only else [render_lines(report, state.t)]
    output.show(*shown, render_discrepancies(report.discrepancies, state.t))


def money_document(report: Any, discrepancies_only: bool = False) -> dict[str, Any]:
    document: dict[str, Any] = {
        "since": report.since,
        "until": report.until,
        "by": report.by,
        "rows": report.rows,
        "discrepancy_counts": report.counts,
        "discrepancies": [{**output.to_plain(d), "key": d.key} for d in report.discrepancies],
    }
    if not discrepancies_only:
        document["totals"] = report.totals
        document["lines"] = report.lines
    return document


def render_lines(report: Any, t: Translator) -> Any:
    columns = [t(f"money.by_{report.by}"), t("money.payments"), t("money.gross"),
               t("money.fees"), t("money.net"), t("money.refunded"), t("money.charged_back"),
               t("money.released"), t("money.paid_out")]  # fmt: skip
    if report.by == "order":
        columns += [t("money.release_date"), t("money.payout")]
    rows = [_cells(line, report.by) for line in [*report.lines, *report.totals]]
    title = t("money.title", since=output.when(report.since), until=output.when(report.until))
    return output.table(title, columns, rows)


def _cells(line: Any, by: str) -> list[Any]:
    money = [line.gross, line.fees, line.net, line.refunded, line.charged_back, line.released,
             line.paid_out]  # fmt: skip
    cells = [line.key, line.payments, *(output.money(m, line.currency) for m in money)]
    if by == "order":
        cells += [output.when(line.release_date), line.payout_id]
    return cells


def render_discrepancies(discrepancies: list[Any], t: Translator) -> Any:
    if not discrepancies:
        return t("money.no_discrepancies")
    columns = [t("money.kind"), t("col.payment"), t("col.order"), t("money.expected"),
               t("money.found"), t("money.since"), t("money.check")]  # fmt: skip
    rows = [
        (
            t(f"money.kind_{d.kind}"),
            d.payment_id,
            d.order_id,
            d.expected,
            d.found,
            output.when(d.since),
            t(f"money.check_{d.kind}"),
        )
        for d in discrepancies
    ]
    return output.table(t("money.discrepancies", count=len(discrepancies)), columns, rows)
