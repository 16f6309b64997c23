"""`mpcheckout orders list | show ID`"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ..orders import OrderDetail, list_orders, order_detail, orders_money
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
    money = orders_money(runtime.store, orders)
    if json_output:
        documents = [{**output.to_plain(o), "money": output.to_plain(money[o.id])} for o in orders]
        output.emit_json({"orders": documents})
        return
    t = state.t
    columns = [
        "id",
        t("col.status"),
        t("col.amount"),
        t("col.refunded"),
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
            output.money(money[o.id].refunded or None, o.currency),
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
            (t("col.refunded"), output.money(detail.money.refunded, order.currency)),
            (t("col.remaining"), output.money(detail.money.remaining, order.currency)),
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
    output.show(summary, history, *_ledger_tables(detail, t))


def _ledger_tables(detail: OrderDetail, t: Any) -> list[Any]:
    """The order's refunds and chargebacks, when it has any."""
    tables = []
    if detail.refunds:
        tables.append(_refunds_table(detail, t))
    if detail.chargebacks:
        columns = ["id", t("col.payment"), t("col.amount"), t("col.outcome")]
        cases = [
            (c.id, c.payment_id, output.money(c.amount, c.currency), _outcome(c.outcome, t))
            for c in detail.chargebacks
        ]
        tables.append(output.table(t("orders.chargebacks"), columns, cases))
    if detail.report_rows:
        tables.append(_report_rows_table(detail, t))
    return tables


def _report_rows_table(detail: OrderDetail, t: Any) -> Any:
    """The order's money lines as Mercado Pago's reports give them."""
    columns = [t("reports.kind"), t("money.kind"), t("col.payment"), t("money.gross"),
               t("money.fees"), t("money.net"), t("money.since")]  # fmt: skip
    rows = [
        (
            t(f"reports.kind_{r.kind}"),
            r.entry_type + (f" / {r.description}" if r.description else ""),
            r.source_id,
            output.money(r.gross, r.currency),
            output.money(r.fee_total, r.currency),
            output.money(r.net, r.currency),
            output.when(r.row_date),
        )
        for r in detail.report_rows
    ]
    return output.table(t("orders.money_lines"), columns, rows)


def _refunds_table(detail: OrderDetail, t: Any) -> Any:
    currency = detail.order.currency
    columns = ["id", t("col.payment"), t("col.amount"), t("col.status"), t("col.created")]
    rows = [
        (
            r.id,
            r.payment_id,
            output.money(r.amount, currency),
            r.status,
            output.when(r.date_created),
        )
        for r in detail.refunds
    ]
    return output.table(t("orders.refunds"), columns, rows)


def _outcome(outcome: str, t: Any) -> str:
    return str(t(f"chargebacks.outcome_{outcome}"))
