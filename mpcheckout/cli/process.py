"""`mpcheckout process [--once | --watch]`"""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from ..errors import EXIT_UNAVAILABLE
from ..processor import ProcessSummary, build_processor, next_due, run_processing
from ..runtime import worker_id
from . import output
from .helptext import help_key as _
from .state import state_of


def register(app: typer.Typer) -> None:
    app.command("process", help=_("help.process"))(process)


def process(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once/--watch", help=_("help.opt.process_once"))] = True,
    limit: Annotated[int | None, typer.Option(help=_("help.opt.process_limit"), min=1)] = None,
    concurrency: Annotated[
        int | None, typer.Option(help=_("help.opt.concurrency"), min=1, max=256)
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(help=_("help.opt.batch_size"), min=1, max=1000)
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help=_("help.opt.json"))] = False,
) -> None:
    state = state_of(ctx)
    runtime = state.runtime
    if once:
        total = next_due(runtime.store, runtime.clock.now())
        with output.count_progress(state.t("progress.process"), total) as advance:
            summary, alerts = run_processing(
                runtime.store,
                runtime.gateway,
                runtime.clock,
                runtime.settings,
                worker_id(),
                limit=limit,
                concurrency=concurrency,
                batch_size=batch_size,
                on_event=advance,
            )
        output.report_alerts(alerts, state.t)
    else:
        processor = build_processor(
            runtime.store,
            runtime.gateway,
            runtime.clock,
            runtime.settings.queue,
            worker_id(),
            concurrency=concurrency,
            batch_size=batch_size,
        )
        summary = _watch(processor, runtime.settings.queue.idle_poll_seconds, state.t, json_output)
    render(summary, state.t, json_output)
    if summary.api_unreachable:
        output.notice(state.t("process.unreachable"))
        raise typer.Exit(EXIT_UNAVAILABLE)


def _watch(processor, idle_seconds: float, t, json_output: bool) -> ProcessSummary:
    """Poll until SIGINT/SIGTERM; the signal only sets a flag, so in-flight work finishes."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    output.notice(t("process.watching"))

    def on_pass(summary: ProcessSummary) -> None:
        if summary.claimed and not json_output:
            output.notice(
                t(
                    "process.pass",
                    claimed=summary.claimed,
                    completed=summary.completed,
                    retried=summary.retried,
                    dead=summary.dead_lettered,
                )
            )

    return processor.watch(stop, idle_seconds, on_pass)


def render(summary: ProcessSummary, t, json_output: bool) -> None:
    if json_output:
        output.emit_json({**output.to_plain(summary), "api_unreachable": summary.api_unreachable})
        return
    rows = [
        (t("process.claimed"), summary.claimed),
        (t("process.completed"), summary.completed),
        (t("process.retried"), summary.retried),
        (t("process.dead_lettered"), summary.dead_lettered),
        (t("process.lease_lost"), summary.lease_lost),
        (
            t("process.payments"),
            ", ".join(f"{t('outcome.' + k)} {v}" for k, v in sorted(summary.payments.items()))
            or "-",
        ),
        (t("process.seconds"), f"{summary.seconds:.2f}"),
    ]
    output.show(output.pairs(t("process.title"), rows))
