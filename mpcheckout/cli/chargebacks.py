"""`mpcheckout chargebacks list [--open] | show ID`"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ..chargebacks import ChargebackView, chargeback_detail, list_chargebacks
from ..i18n import Translator
from . import output
from .helptext import help_key as _
from .state import state_of

chargebacks_app = typer.Typer(help=_("help.chargebacks"), no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help=_("help.opt.json"))]


def register(app: typer.Typer) -> None:
    app.add_typer(chargebacks_app, name="chargebacks")


@chargebacks_app.command("list", help=_("help.chargebacks_list"))
def list_command(
    ctx: typer.Context,
    open_only: Annotated[bool, typer.Option("--open", help=_("help.opt.open_only"))] = False,
    limit: Annotated[int, typer.Option(help=_("help.opt.limit"), min=1)] = 100,
    json_output: JsonOption = False,
) -> None:
    state = state_of(ctx)
    runtime = state.runtime
    views = list_chargebacks(runtime.store, runtime.clock.now(), open_only=open_only, limit=limit)
    if json_output:
        output.emit_json({"chargebacks": [chargeback_document(view) for view in views]})
        return
    output.show(render_chargebacks(views, state.t))


@chargebacks_app.command("show", help=_("help.chargebacks_show"))
def show_command(
    ctx: typer.Context,
    chargeback_id: Annotated[str, typer.Argument(help=_("help.arg.chargeback_id"), metavar="ID")],
    json_output: JsonOption = False,
) -> None:
    state = state_of(ctx)
    view = chargeback_detail(state.runtime.store, chargeback_id, state.runtime.clock.now())
    if json_output:
        output.emit_json(chargeback_document(view))
        return
    output.show(render_chargeback(view, state.t))


def chargeback_document(view: ChargebackView) -> dict[str, Any]:
    return {**output.to_plain(view.case), "documentation_days_left": view.documentation_days_left}


def render_chargebacks(views: list[ChargebackView], t: Translator) -> Any:
    columns = ["id", t("col.payment"), t("col.order"), t("col.amount"), t("col.outcome")]
    columns.append(t("chargebacks.deadline"))
    rows = [
        (
            v.case.id,
            v.case.payment_id,
            v.case.order_id,
            output.money(v.case.amount, v.case.currency),
            t(f"chargebacks.outcome_{v.case.outcome}"),
            _deadline(v, t),
        )
        for v in views
    ]
    return output.table(t("chargebacks.title", count=len(views)), columns, rows)


def render_chargeback(view: ChargebackView, t: Translator) -> Any:
    case = view.case
    rows = [
        (t("col.payment"), case.payment_id),
        (t("col.order"), case.order_id),
        (t("col.amount"), output.money(case.amount, case.currency)),
        (t("col.outcome"), t(f"chargebacks.outcome_{case.outcome}")),
        (t("chargebacks.documentation"), case.documentation_status),
        (t("chargebacks.deadline"), _deadline(view, t)),
        (t("col.created"), output.when(case.date_created)),
        (t("col.updated"), output.when(case.date_last_updated)),
    ]
    return output.pairs(t("chargebacks.detail", chargeback_id=case.id), rows)


def _deadline(view: ChargebackView, t: Translator) -> str:
    days = view.documentation_days_left
    if days is None:
        return "-"
    when = output.when(view.case.documentation_deadline)
    return (
        f"{when} ({t('chargebacks.overdue') if days < 0 else t('chargebacks.due_in', days=days)})"
    )
