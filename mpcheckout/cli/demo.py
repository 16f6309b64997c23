"""`mpcheckout demo`"""

from __future__ import annotations

from typing import Annotated

import typer

from ..demo import DemoReport, run_demo
from ..errors import EXIT_PROBLEMS
from . import output
from .helptext import help_key as _
from .state import state_of

DEMO_DATABASE = "mpcheckout-demo.db"


def register(app: typer.Typer) -> None:
    app.command("demo", help=_("help.demo"))(demo)


def demo(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help=_("help.opt.json"))] = False,
) -> None:
    state = state_of(ctx)
    # Only an explicit --db is honoured: the configured database may be the shop's real one.
    state.database_url = state.database_url or DEMO_DATABASE
    t = state.t

    def narrate(key: str, params: dict) -> None:
        if not json_output:
            output.notice("• " + t(key, **params))

    report = run_demo(state.runtime.store, narrate)
    if json_output:
        output.emit_json({**output.to_plain(report), "as_expected": report.as_expected})
    else:
        _render(report, t, state.runtime.settings.database.url)
    if not report.as_expected:
        raise typer.Exit(EXIT_PROBLEMS)


def _render(report: DemoReport, t, database: str) -> None:
    orders = output.table(
        t("demo.orders_title"),
        ["id", t("col.title"), t("col.amount"), t("col.status"), t("demo.expected")],
        [
            (
                o.id,
                o.title,
                output.money(o.amount, o.currency),
                t(f"order_status.{o.status}"),
                "✓" if o.status == report.expected[o.id] else "✗ " + report.expected[o.id],
            )
            for o in report.orders
        ],
    )
    queue = output.table(
        t("demo.queue_title"),
        [t("col.status"), t("col.count")],
        [(t(f"status.{name}"), count) for name, count in report.queue.items()],
    )
    letters = output.table(
        t("demo.dead_letters_title"),
        ["id", t("col.reason"), t("col.attempts"), t("col.resolution"), t("col.last_error")],
        [
            (d.id, d.reason, d.attempts, d.resolution or "-", (d.last_error or "")[:70])
            for d in report.dead_letters
        ],
    )
    output.show(orders, queue, letters, *_money(report, t))
    key = "demo.done_ok" if report.as_expected else "demo.done_wrong"
    output.notice(t(key, seconds=f"{report.seconds:.1f}", database=database))


def _money(report: DemoReport, t) -> list:
    """The money of the demo's orders, and the discrepancy it planted, explained."""
    from .money import render_discrepancies, render_lines

    if report.money is None:
        return []
    mine = set(report.expected)
    report.money.lines = [line for line in report.money.lines if line.key in mine]
    found = [d for d in report.money.discrepancies if d.order_id in mine]
    explained = [t("demo.money_explained", order_id=d.order_id, expected=d.expected,
                   found=d.found) for d in found if d.kind == "gross_mismatch"]  # fmt: skip
    return [render_lines(report.money, t), render_discrepancies(found, t), *explained]
