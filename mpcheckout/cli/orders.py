"""`mpcheckout orders list | show ID`"""

from __future__ import annotations

from typing import Annotated

import typer

from ..orders import list_orders, order_detail
from . import output
from .helptext import help_key as _
from .state import state_of

orders_app = typer.Typer(help=_("help.orders"), no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help=_("help.opt.json"))]


def register(app: typer.Typer) -> None:
    app.add_typer(orders_app, name="orders")


@orders_app.command("list", help=_("help.orders_list"))
def list_command(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help=_("help.opt.order_status"))] = None,
    since: Annotated[str | None, typer.Option(help=_("help.opt.since"))] = None,
    limit: Annotated[int, typer.Option(help=_("help.opt.limit"), min=1)] = 50,
    json_output: JsonOption = False,
) -> None:
    state = state_of(ctx)
    runtime = state.runtime
    orders = list_orders(runtime.store, runtime.clock, status=status, since=since, limit=limit)
    if json_output:
        output.emit_json({"orders": orders})
        return
    t = state.t
    columns = [
        "id",
        t("col.status"),
        t("col.amount"),
        t("col.payment"),
        t("col.source"),
        t("col.created"),
        t("col.paid_at"),
    ]
    rows = [
        (
            o.id,
            t(f"order_status.{o.status}"),
            output.money(o.amount, o.currency),
            o.payment_id,
            o.source,
            output.when(o.created_at),
            output.when(o.paid_at),
        )
        for o in orders
    ]
    output.show(output.table(t("orders.title", count=len(orders)), columns, rows))


@orders_app.command("show", help=_("help.orders_show"))
def show_command(
    ctx: typer.Context,
    order_id: Annotated[str, typer.Argument(help=_("help.arg.order_id"), metavar="ID")],
    json_output: JsonOption = False,
) -> None:
    state = state_of(ctx)
    detail = order_detail(state.runtime.store, order_id)
    if json_output:
        output.emit_json(detail)
        return
    t, order = state.t, detail.order
    summary = output.pairs(
        t("orders.detail", order_id=order.id),
        [
            (t("col.status"), t(f"order_status.{order.status}")),
            (t("col.amount"), output.money(order.amount, order.currency)),
            (t("col.title"), order.title),
            (t("col.preference"), order.preference_id),
            (t("col.payment"), order.payment_id),
            (t("col.payment_status"), order.payment_status),
            (t("col.source"), order.source),
            (t("col.created"), output.when(order.created_at)),
            (t("col.updated"), output.when(order.updated_at)),
            (t("col.paid_at"), output.when(order.paid_at)),
        ],
    )
    history = output.table(
        t("orders.history"),
        [
            t("col.payment"),
            t("col.status"),
            t("col.detail"),
            t("col.amount"),
            t("col.mp_updated"),
            t("col.source"),
            t("col.recorded"),
        ],
        [
            (
                p.payment_id,
                p.status,
                p.status_detail,
                output.money(p.amount, p.currency),
                output.when(p.date_last_updated),
                p.source,
                output.when(p.recorded_at),
            )
            for p in detail.payments
        ],
    )
    output.show(summary, history)
