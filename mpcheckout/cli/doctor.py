"""`mpcheckout doctor [--json]`"""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from ..clock import SystemClock
from ..doctor import DoctorResult, Level, run_doctor, say
from . import output
from .helptext import help_key as _
from .state import state_of

COLORS = {Level.GREEN: "green", Level.YELLOW: "yellow", Level.RED: "red", Level.SKIPPED: "dim"}


def register(app: typer.Typer) -> None:
    app.command("doctor", help=_("help.doctor"))(doctor)


def doctor(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help=_("help.opt.json"))] = False,
) -> None:
    state = state_of(ctx)
    result = run_doctor(lambda: state.runtime, SystemClock(), os.environ)
    if json_output:
        output.emit_json(doctor_document(result, state.t))
    else:
        output.show(render_doctor(result, state.t))
    if result.failed:
        raise typer.Exit(1)


def doctor_document(result: DoctorResult, t) -> dict[str, Any]:
    """Stable keys: generated_at, verdict, checks[{name, level, value, fix, data}]."""
    return {
        "generated_at": result.generated_at,
        "verdict": result.verdict,
        "checks": [
            {
                "name": check.name,
                "level": check.level,
                "value": say(check.value, t),
                "fix": say(check.fix, t) if check.fix else None,
                "data": dict(check.data),
            }
            for check in result.checks
        ],
    }


def render_doctor(result: DoctorResult, t):
    verdict = f"[{COLORS[result.verdict]}]{t('doctor.level.' + result.verdict)}[/]"
    columns = [t("doctor.col_check"), t("doctor.col_level"), t("doctor.col_value")]
    grid = output.table(t("doctor.title", verdict=verdict), [*columns, t("doctor.col_fix")], [])
    for check in result.checks:
        color = COLORS[check.level]
        grid.add_row(
            f"[{color}]●[/] {output.escape(t('doctor.check.' + check.name))}",
            f"[{color}]{output.escape(t('doctor.level.' + check.level))}[/]",
            output.escape(say(check.value, t)),
            output.escape(say(check.fix, t)) if check.fix else "",
        )
    return grid
