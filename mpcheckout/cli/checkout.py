"""`mpcheckout checkout link`"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import segno
import typer

from ..checkout import checkout_api, create_payment_link
from . import output
from .helptext import help_key as _
from .state import state_of

checkout_app = typer.Typer(help=_("help.checkout"), no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(checkout_app, name="checkout")


@checkout_app.command("link", help=_("help.checkout_link"))
def link_command(
    ctx: typer.Context,
    title: Annotated[str, typer.Option(help=_("help.opt.link_title"))],
    amount: Annotated[str, typer.Option(help=_("help.opt.link_amount"))],
    currency: Annotated[str, typer.Option(help=_("help.opt.link_currency"))],
    quantity: Annotated[int, typer.Option(help=_("help.opt.link_quantity"), min=1)] = 1,
    expires: Annotated[str | None, typer.Option(help=_("help.opt.link_expires"))] = None,
    reference: Annotated[str | None, typer.Option(help=_("help.opt.link_reference"))] = None,
    api: Annotated[
        str | None, typer.Option("--api", help=_("help.opt.link_api"), metavar="preferences|orders")
    ] = None,
    qr: Annotated[bool, typer.Option("--qr", help=_("help.opt.qr"))] = False,
    qr_png: Annotated[
        Path | None, typer.Option("--qr-png", help=_("help.opt.qr_png"), metavar="FILE")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help=_("help.opt.json"))] = False,
) -> None:
    state = state_of(ctx)
    runtime, t = state.runtime, state.t
    token = runtime.settings.mercadopago.access_token
    link = create_payment_link(
        runtime.store,
        runtime.gateway,
        runtime.clock,
        title=title,
        amount=amount,
        currency=currency,
        quantity=quantity,
        expires=expires,
        reference=reference,
        public_url=runtime.settings.server.public_url,
        test_credentials=token is not None and token.get_secret_value().startswith("TEST-"),
        api=checkout_api(api, runtime.settings.checkout.api),
    )
    if link.checkout.resent:
        output.notice(t("checkout.resending_create", order_id=link.checkout.order_id))
    url = link.url or ""  # Mercado Pago always answers with an init_point
    if qr_png is not None:
        segno.make(url, error="m").save(str(qr_png), scale=8, border=2)
    if json_output:
        output.emit_json(
            {
                **output.to_plain(link.checkout),
                "url": link.url,
                "notified": link.notified,
                "qr_png": str(qr_png) if qr_png else None,
            }
        )
        return
    typer.echo(url)
    if qr:
        segno.make(url, error="m").terminal(compact=True)
    result = link.checkout
    output.notice(
        t(
            "checkout.created",
            order_id=result.order_id,
            amount=output.money(result.amount, result.currency),
        )
    )
    if result.expires_at:
        output.notice(t("checkout.expires", when=output.when(result.expires_at)))
    if not link.notified:
        output.notice(t("checkout.no_public_url"))
