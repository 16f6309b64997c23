"""`mpcheckout status [--check] [--watch]`"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from ..durations import format_duration
from ..status import Health, StatusReport, build_status
from . import output
from .helptext import help_key as _
from .state import state_of

WATCH_SECONDS = 2.0
COLORS = {Health.GREEN: "green", Health.YELLOW: "yellow", Health.RED: "red"}


def register(app: typer.Typer) -> None:
    app.command("status", help=_("help.status"))(status)


def status(
    ctx: typer.Context,
    check: Annotated[bool, typer.Option("--check", help=_("help.opt.check"))] = False,
    watch: Annotated[bool, typer.Option("--watch", help=_("help.opt.status_watch"))] = False,
    json_output: Annotated[bool, typer.Option("--json", help=_("help.opt.json"))] = False,
) -> None:
    state = state_of(ctx)
    runtime, t = state.runtime, state.t

    def current() -> StatusReport:
        settings = runtime.settings
        return build_status(
            runtime.store, runtime.clock, settings.health, settings.reconcile, settings.reports
        )

    if watch and not json_output:
        _watch(current, t)
        return
    report = current()
    if json_output:
        output.emit_json(report)
    else:
        output.show(*_renderables(report, t))
    if check and report.verdict == Health.RED:
        raise typer.Exit(1)


def _watch(current, t) -> None:
    from rich.console import Group
    from rich.live import Live

    with Live(
        Group(*_renderables(current(), t)), console=output.stdout_console(), auto_refresh=False
    ) as live:
        try:
            while True:
                time.sleep(WATCH_SECONDS)
                live.update(Group(*_renderables(current(), t)), refresh=True)
        except KeyboardInterrupt:
            return


def _renderables(report: StatusReport, t) -> list:
    return [
        _health(report, t),
        _queue(report, t),
        _reconcile(report, t),
        _orders(report, t),
        _money(report, t),
    ]


def _money(report: StatusReport, t):
    m = report.money
    refunded = " · ".join(
        f"{output.money(item.total, item.currency)} ({item.refunds})" for item in m.refunded
    )
    return output.pairs(
        t("status.money_title"),
        [
            (t("status.refunded"), refunded or "0"),
            (t("order_status.partially_refunded"), m.partially_refunded_orders),
            (t("order_status.refunded"), m.refunded_orders),
            (t("status.chargebacks_open"), m.chargebacks_open),
            (t("status.documentation_required"), m.documentation_required),
            (t("status.next_deadline"), output.when(m.next_documentation_deadline)),
            (t("order_status.chargeback_lost"), m.chargebacks_lost_orders),
            (t("order_status.chargeback_covered"), m.chargebacks_covered_orders),
        ],
    )


def _health(report: StatusReport, t):
    rows = []
    for check in report.checks:
        color = COLORS[check.health]
        rows.append(
            (
                f"[{color}]●[/] {t('health.' + check.name)}",
                f"[{color}]{t('health.level.' + check.health)}[/]",
                "-" if check.value is None else check.value,
                check.threshold,
            )
        )
    verdict = f"[{COLORS[report.verdict]}]{t('health.level.' + report.verdict)}[/]"
    grid = output.table(
        t("status.health_title", verdict=verdict),
        [t("col.check"), t("col.level"), t("col.value"), t("col.threshold")],
        [],
    )
    for row in rows:
        grid.add_row(*(str(cell) for cell in row))
    return grid


def _queue(report: StatusReport, t):
    q = report.queue
    p50 = "-" if q.latency_p50_seconds is None else f"{q.latency_p50_seconds:.2f} s"
    p95 = "-" if q.latency_p95_seconds is None else f"{q.latency_p95_seconds:.2f} s"
    rejected = ", ".join(f"{k} {v}" for k, v in sorted(q.rejected_24h.items())) or "0"
    return output.pairs(
        t("status.queue_title"),
        [
            (t("status.pending_due"), q.pending_due),
            (t("status.pending_later"), q.pending_later),
            (t("status.processing"), q.processing),
            (t("status.expired_leases"), q.expired_leases),
            (t("status.completed_24h"), q.completed_24h),
            (t("status.dead_unresolved"), q.dead_unresolved),
            (t("status.dead_24h"), q.dead_letters_24h),
            (t("status.oldest_pending"), format_duration(q.oldest_pending_seconds)),
            (t("status.next_retry"), output.when(q.next_retry_at)),
            (t("status.latency"), f"p50 {p50} · p95 {p95} (n={q.latency_sample})"),
            (t("status.last_notification"), output.when(q.last_notification_at)),
            (t("status.rejected_24h"), rejected),
        ],
    )


def _reconcile(report: StatusReport, t):
    r = report.reconcile
    last = r.last_run
    return output.pairs(
        t("status.reconcile_title"),
        [
            (t("status.last_run"), output.when(last.started_at) if last else t("status.never")),
            (t("col.status"), t(f"reconcile.status.{last.status}") if last else "-"),
            (t("col.duration"), format_duration(r.duration_seconds)),
            (
                t("status.counts"),
                f"{t('reconcile.swept')} {last.swept} · "
                f"{t('reconcile.drift_fixed')} {last.drift_fixed} · "
                f"{t('col.errors')} {last.errors}"
                if last
                else "-",
            ),
            (t("status.last_ok"), output.when(r.last_ok_at)),
            (t("status.next_expected"), output.when(r.next_expected_at)),
        ],
    )


def _orders(report: StatusReport, t):
    rows = [(t(f"order_status.{name}"), count) for name, count in sorted(report.orders.items())]
    rows.append((t("status.stale_pending"), report.stale_pending_orders))
    return output.table(t("status.orders_title"), [t("col.status"), t("col.count")], rows)
