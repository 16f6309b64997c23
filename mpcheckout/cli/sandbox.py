"""`mpcheckout sandbox serve | notify`"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import EXIT_PROBLEMS
from . import output
from .helptext import help_key as _
from .state import state_of

sandbox_app = typer.Typer(help=_("help.sandbox"), no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help=_("help.opt.json"))]


class NotificationAction(StrEnum):
    created = "payment.created"
    updated = "payment.updated"


Rate = float | None


def _rate_option(help_text: str) -> Any:
    return typer.Option(min=0.0, max=1.0, help=help_text)


def register(app: typer.Typer) -> None:
    app.add_typer(sandbox_app, name="sandbox")


@sandbox_app.command("serve", help=_("help.sandbox_serve"))
def serve_command(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help=_("help.opt.sandbox_host"))] = None,
    port: Annotated[
        int | None, typer.Option(min=0, max=65535, help=_("help.opt.sandbox_port"))
    ] = None,
    access_token: Annotated[
        str | None, typer.Option(help=_("help.opt.sandbox_access_token"), show_default=False)
    ] = None,
    webhook_secret: Annotated[
        str | None, typer.Option(help=_("help.opt.sandbox_webhook_secret"), show_default=False)
    ] = None,
    seed_file: Annotated[
        Path | None, typer.Option(help=_("help.opt.sandbox_seed_file"), metavar="PATH")
    ] = None,
    latency_ms: Annotated[
        float | None, typer.Option(min=0.0, help=_("help.opt.sandbox_latency_ms"))
    ] = None,
    error_rate: Annotated[Rate, _rate_option(_("help.opt.sandbox_error_rate"))] = None,
    rate_limit_rate: Annotated[Rate, _rate_option(_("help.opt.sandbox_rate_limit_rate"))] = None,
    timeout_rate: Annotated[Rate, _rate_option(_("help.opt.sandbox_timeout_rate"))] = None,
    drop_rate: Annotated[Rate, _rate_option(_("help.opt.sandbox_drop_rate"))] = None,
    malformed_rate: Annotated[Rate, _rate_option(_("help.opt.sandbox_malformed_rate"))] = None,
    fault_seed: Annotated[int | None, typer.Option(help=_("help.opt.sandbox_fault_seed"))] = None,
    json_output: JsonOption = False,
) -> None:
    from ..sandbox.server import SandboxServer, serve_until_stopped, time_based_id_offset

    state = state_of(ctx)
    settings = state.runtime.settings.sandbox
    fault = {
        "latency_ms": latency_ms,
        "error_rate": error_rate,
        "rate_limit_rate": rate_limit_rate,
        "timeout_rate": timeout_rate,
        "drop_rate": drop_rate,
        "malformed_rate": malformed_rate,
    }
    server = SandboxServer(
        access_token or settings.access_token.get_secret_value(),
        webhook_secret or settings.webhook_secret.get_secret_value(),
        host=host or settings.host,
        port=settings.port if port is None else port,
        seed_file=seed_file,
        faults=_fault_rules(fault, fault_seed),
        id_offset=time_based_id_offset(),
    )
    serve_until_stopped(server, lambda url: _announce(url, state.t, json_output))
    output.notice(state.t("sandbox.stopped"))


def _fault_rules(options: dict[str, float | None], seed: int | None) -> list[dict[str, Any]]:
    """The command line's fault options as one rule for every endpoint, or none."""
    given = {name: value for name, value in options.items() if value is not None}
    if not given:
        return []
    return [{"endpoint": "*", **given, "seed": seed}]


def _announce(url: str, t, json_output: bool) -> None:
    # One line even with --json: a script reads the first line while the server keeps running.
    if json_output:
        typer.echo(json.dumps({"url": url}))
    else:
        typer.echo(url)
    for key in ("sandbox.listening", "sandbox.point_api", "sandbox.point_token"):
        output.notice(t(key, url=url))
    output.notice(t("sandbox.point_secret"))
    output.notice(t("sandbox.control", url=url))
    output.notice(t("sandbox.stop_hint"))


@sandbox_app.command("notify", help=_("help.sandbox_notify"))
def notify_command(
    ctx: typer.Context,
    to: Annotated[str, typer.Option("--to", help=_("help.opt.sandbox_to"), metavar="URL")],
    payment: Annotated[
        int, typer.Option("--payment", min=1, help=_("help.opt.sandbox_payment"), metavar="ID")
    ],
    ipn: Annotated[bool, typer.Option("--ipn", help=_("help.opt.sandbox_ipn"))] = False,
    duplicates: Annotated[
        int, typer.Option(min=0, max=100, help=_("help.opt.sandbox_duplicates"))
    ] = 0,
    secret: Annotated[
        str | None, typer.Option(help=_("help.opt.sandbox_secret"), show_default=False)
    ] = None,
    action: Annotated[
        NotificationAction, typer.Option(help=_("help.opt.sandbox_action"))
    ] = NotificationAction.updated,
    json_output: JsonOption = False,
) -> None:
    from ..sandbox.notifier import send_test_notifications

    state = state_of(ctx)
    runtime = state.runtime
    records = send_test_notifications(
        to,
        payment,
        secret=secret or _default_secret(runtime.settings),
        action=action.value,
        now=runtime.clock.now(),
        ipn=ipn,
        duplicates=duplicates,
    )
    _render_deliveries(records, to, state.t, json_output)
    refused = [record for record in records if not 200 <= record["status_code"] < 300]
    if refused:
        output.notice(state.t("sandbox.receiver_refused", count=len(refused)))
        raise typer.Exit(EXIT_PROBLEMS)


def _default_secret(settings) -> str:
    configured = settings.mercadopago.webhook_secrets
    chosen = configured[0] if configured else settings.sandbox.webhook_secret
    return chosen.get_secret_value()


def _render_deliveries(records: list[dict[str, Any]], url: str, t, json_output: bool) -> None:
    if json_output:
        output.emit_json({"deliveries": records})
        return
    columns = [
        t("sandbox.col_kind"),
        t("sandbox.col_retry"),
        t("sandbox.col_status"),
        t("sandbox.col_request_id"),
    ]
    rows = [
        (
            record["kind"],
            record["headers"].get("x-retry"),
            record["status_code"],
            record["headers"].get("x-request-id"),
        )
        for record in records
    ]
    output.show(output.table(t("sandbox.deliveries_title", url=url), columns, rows))
