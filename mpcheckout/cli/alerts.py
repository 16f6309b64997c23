"""`mpcheckout alerts test`"""

from __future__ import annotations

from typing import Annotated

import typer

from ..alerts import send_test, sinks_from_settings
from ..errors import EXIT_PROBLEMS, ConfigurationError
from ..i18n import Translator
from . import output
from .helptext import help_key as _
from .state import state_of

alerts_app = typer.Typer(help=_("help.alerts"), no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")


@alerts_app.command("test", help=_("help.alerts_test"))
def test_command(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help=_("help.opt.json"))] = False,
) -> None:
    state = state_of(ctx)
    runtime, t = state.runtime, state.t
    sinks = sinks_from_settings(runtime.settings.alerts)
    if not sinks:
        raise ConfigurationError("error.no_alert_sinks", hint_key="hint.no_alert_sinks")
    results = send_test(sinks, Translator(t.locale), runtime.clock)
    if json_output:
        output.emit_json({"results": results})
    else:
        output.show(
            output.table(
                t("alerts.test_title"), [t("col.sink"), t("col.result")], sorted(results.items())
            )
        )
    if any(result != "ok" for result in results.values()):
        raise typer.Exit(EXIT_PROBLEMS)
