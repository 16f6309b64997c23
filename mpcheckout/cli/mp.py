"""`mpcheckout mp payment ID | search --since 2h | merchant-order ID | whoami`"""

from __future__ import annotations

from typing import Annotated

import typer

from ..lookup import (
    MercadoPagoAccount,
    fetch_account,
    fetch_merchant_order,
    fetch_payment,
    search_recent,
)
from ..models import Payment
from . import output
from .helptext import help_key as _
from .state import state_of

mp_app = typer.Typer(help=_("help.mp"), no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help=_("help.opt.json"))]


def register(app: typer.Typer) -> None:
    app.add_typer(mp_app, name="mp")


@mp_app.command("payment", help=_("help.mp_payment"))
def payment_command(
    ctx: typer.Context,
    payment_id: Annotated[str, typer.Argument(help=_("help.arg.payment_id"), metavar="ID")],
    json_output: JsonOption = False,
) -> None:
    state = state_of(ctx)
    payment = fetch_payment(state.runtime.gateway, payment_id)
    if json_output:
        output.emit_json(payment.raw)
        return
    output.show(_payments_table(state.t, state.t("mp.payment_title"), [payment]))


@mp_app.command("search", help=_("help.mp_search"))
def search_command(
    ctx: typer.Context,
    since: Annotated[str, typer.Option(help=_("help.opt.since"))] = "2h",
    limit: Annotated[int, typer.Option(help=_("help.opt.limit"), min=1)] = 200,
    json_output: JsonOption = False,
) -> None:
    state = state_of(ctx)
    runtime = state.runtime
    payments = search_recent(runtime.gateway, runtime.clock, since, limit)
    if json_output:
        output.emit_json({"results": [payment.raw for payment in payments]})
        return
    title = state.t("mp.search_title", count=len(payments), since=since)
    output.show(_payments_table(state.t, title, payments))


@mp_app.command("merchant-order", help=_("help.mp_merchant_order"))
def merchant_order_command(
    ctx: typer.Context,
    merchant_order_id: Annotated[
        str, typer.Argument(help=_("help.arg.merchant_order_id"), metavar="ID")
    ],
    json_output: JsonOption = False,
) -> None:
    state = state_of(ctx)
    order = fetch_merchant_order(state.runtime.gateway, merchant_order_id)
    if json_output:
        output.emit_json(order.raw)
        return
    t = state.t
    output.show(
        output.pairs(
            t("mp.merchant_order_title", merchant_order_id=order.id),
            [
                (t("col.status"), order.status),
                (t("col.reference"), order.external_reference),
                (t("col.preference"), order.preference_id),
                (t("col.payments"), ", ".join(order.payment_ids) or "-"),
            ],
        )
    )


@mp_app.command("whoami", help=_("help.mp_whoami"))
def whoami_command(ctx: typer.Context, json_output: JsonOption = False) -> None:
    state = state_of(ctx)
    account = fetch_account(state.runtime.gateway)
    if json_output:
        output.emit_json(account)
        return
    output.show(render_account(account, state.t))


def render_account(account: MercadoPagoAccount, t):
    return output.pairs(
        t("mp.whoami_title"),
        [
            (t("mp.whoami_id"), account.id),
            (t("mp.whoami_nickname"), account.nickname),
            (t("mp.whoami_site"), account.site_id),
            (t("mp.whoami_country"), account.country_id),
            (t("mp.whoami_test_user"), t("mp.whoami_yes" if account.test_user else "mp.whoami_no")),
            (t("mp.whoami_evidence"), account.test_user_evidence),
        ],
    )


def _payments_table(t, title: str, payments: list[Payment]):
    columns = [
        "id",
        t("col.status"),
        t("col.detail"),
        t("col.reference"),
        t("col.amount"),
        t("col.mp_updated"),
    ]
    rows = [
        (
            p.id,
            p.status,
            p.status_detail,
            p.external_reference,
            output.money(p.amount, p.currency),
            output.when(p.date_last_updated),
        )
        for p in payments
    ]
    return output.table(title, columns, rows)
