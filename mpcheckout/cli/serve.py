"""`mpcheckout serve`"""

from __future__ import annotations

from typing import Annotated

import typer

from ..server.context import ServeOptions
from ..server.runner import serve_forever
from . import output
from .helptext import help_key as _
from .state import state_of


def register(app: typer.Typer) -> None:
    app.command("serve", help=_("help.serve"))(serve)


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help=_("help.opt.serve_host"))] = None,
    port: Annotated[
        int | None, typer.Option(help=_("help.opt.serve_port"), min=0, max=65535)
    ] = None,
    workers: Annotated[int, typer.Option(help=_("help.opt.workers"), min=1, max=64)] = 1,
    process: Annotated[bool, typer.Option("--process", help=_("help.opt.serve_process"))] = False,
    json_output: Annotated[bool, typer.Option("--json", help=_("help.opt.json"))] = False,
) -> None:
    state = state_of(ctx)
    settings = state.runtime.settings  # validate the configuration before listening
    options = ServeOptions(
        config_path=str(state.config_path) if state.config_path else None,
        overrides={"database.url": state.database_url, "locale": state.lang},
        run_processor=process,
    )

    def announce(url: str) -> None:
        if json_output:
            typer.echo(output.json_line({"url": url}))
        else:
            typer.echo(url)
            output.notice(state.t("serve.listening", url=url, workers=workers))
        if settings.server.monitor_token is None:
            output.notice(state.t("serve.monitoring_off"))
        if not settings.mercadopago.webhook_secrets:
            output.notice(state.t("serve.unsigned"))

    serve_forever(
        options,
        host or settings.server.host,
        settings.server.port if port is None else port,
        workers,
        announce,
    )
    output.notice(state.t("serve.stopped"))
