"""`mpcheckout reconcile` and `mpcheckout reconcile history`"""

from __future__ import annotations

from typing import Annotated

import typer

from ..durations import format_duration
from ..errors import EXIT_PROBLEMS, EXIT_UNAVAILABLE
from ..reconcile import ReconcileRequest, ReconcileResult, history, run_reconcile
from ..runtime import worker_id
from . import output
from .helptext import help_key as _
from .state import state_of

reconcile_app = typer.Typer(help=_("help.reconcile"), invoke_without_command=True)
JsonOption = Annotated[bool, typer.Option("--json", help=_("help.opt.json"))]


def register(app: typer.Typer) -> None:
    app.add_typer(reconcile_app, name="reconcile")


@reconcile_app.callback()
def reconcile_command(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option(help=_("help.opt.reconcile_since"))] = None,
    budget: Annotated[float | None, typer.Option(help=_("help.opt.budget"), min=1)] = None,
    stale_after: Annotated[str | None, typer.Option(help=_("help.opt.stale_after"))] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help=_("help.opt.reconcile_dry_run"))
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=_("help.opt.quiet"))] = False,
    no_archive: Annotated[
        bool, typer.Option("--no-archive", help=_("help.opt.no_archive"))
    ] = False,
    wait: Annotated[float | None, typer.Option(help=_("help.opt.wait"), min=0)] = None,
    json_output: JsonOption = False,
) -> None:
    if ctx.invoked_subcommand:
        return
    state = state_of(ctx)
    runtime, t = state.runtime, state.t
    request = ReconcileRequest(since, budget, stale_after, dry_run, not no_archive)
    result, alerts = run_reconcile(
        runtime.store, runtime.gateway, runtime.clock, runtime.settings, worker_id(), request, wait
    )
    if result.lock_held:
        if not quiet:
            output.notice(t("reconcile.lock_held"))
        return
    trouble = result.status != "ok"
    if json_output:
        output.emit_json({**output.to_plain(result), "status": result.status})
    elif trouble or not quiet:
        _render(result, t)
    output.report_alerts(alerts, t)
    if trouble:
        unreachable = result.api_unreachable and not (result.run and result.run.swept)
        raise typer.Exit(EXIT_UNAVAILABLE if unreachable else EXIT_PROBLEMS)


def _render(result: ReconcileResult, t) -> None:
    run = result.run
    assert run is not None, "only a run that found the lock held has no log row"
    steps = output.table(
        t("reconcile.steps_title"),
        [t("col.step"), t("col.count"), t("col.seconds"), t("col.error")],
        [
            (t(f"reconcile.step.{s.name}"), s.count, f"{s.seconds:.2f}", s.error)
            for s in result.steps
        ],
    )
    window = "-"
    if result.sweep_window:
        begin, end = result.sweep_window
        window = f"{output.when(begin)} → {output.when(end)}"
    summary = output.pairs(
        t("reconcile.title_dry" if result.dry_run else "reconcile.title"),
        [
            (t("col.status"), t(f"reconcile.status.{run.status}")),
            (t("reconcile.window"), window),
            (t("reconcile.swept"), run.swept),
            (t("reconcile.drift_fixed"), run.drift_fixed),
            (
                t("process.payments"),
                ", ".join(
                    f"{t('outcome.' + k)} {v}" for k, v in sorted(result.sweep_outcomes.items())
                )
                or "-",
            ),
            (t("reconcile.leases_recovered"), run.leases_recovered),
            (t("reconcile.archived"), run.archived),
            (
                t("reconcile.checkpoint"),
                t("label.yes") if result.checkpoint_advanced else t("label.no"),
            ),
        ],
    )
    output.show(summary, steps)
    if result.stale_orders:
        output.show(
            output.table(
                t("reconcile.stale_title", count=len(result.stale_orders)),
                ["id", t("col.amount"), t("col.created")],
                [
                    (o.id, output.money(o.amount, o.currency), output.when(o.created_at))
                    for o in result.stale_orders
                ],
            )
        )


@reconcile_app.command("history", help=_("help.reconcile_history"))
def history_command(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help=_("help.opt.limit"), min=1)] = 20,
    json_output: JsonOption = False,
) -> None:
    state = state_of(ctx)
    runs = history(state.runtime.store, limit)
    if json_output:
        output.emit_json({"runs": runs})
        return
    t = state.t
    rows = [
        (
            r.id,
            output.when(r.started_at),
            format_duration((r.finished_at - r.started_at) if r.finished_at else None),
            t(f"reconcile.status.{r.status}"),
            r.swept,
            r.drift_fixed,
            r.leases_recovered,
            r.archived,
            r.dead_lettered,
            r.errors,
        )
        for r in runs
    ]
    columns = [
        "id",
        t("col.started"),
        t("col.duration"),
        t("col.status"),
        t("reconcile.swept"),
        t("reconcile.drift_fixed"),
        t("reconcile.leases_recovered"),
        t("reconcile.archived"),
        t("process.dead_lettered"),
        t("col.errors"),
    ]
    output.show(output.table(t("reconcile.history_title", count=len(runs)), columns, rows))
