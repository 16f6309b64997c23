"""`mpcheckout dead-letters list | show | replay | discard` (alias `dlq`)"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from ..dead_letters import (
    DeadLetterQuery,
    ReplaySummary,
    discard,
    get_dead_letter,
    list_dead_letters,
    replay,
    select_for_replay,
)
from ..errors import UsageError
from ..hints import hint_code, hint_text
from ..models import DeadLetter, to_jsonable
from . import output
from .helptext import help_key as _
from .state import state_of

CONFIRM_ABOVE = 10

dlq_app = typer.Typer(help=_("help.dlq"), no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help=_("help.opt.json"))]
ReasonOption = Annotated[str | None, typer.Option(help=_("help.opt.reason"))]
TopicOption = Annotated[str | None, typer.Option(help=_("help.opt.topic"))]
SinceOption = Annotated[str | None, typer.Option(help=_("help.opt.since"))]


def register(app: typer.Typer) -> None:
    app.add_typer(dlq_app, name="dead-letters")
    app.add_typer(dlq_app, name="dlq", hidden=True)  # alias


@dlq_app.command("list", help=_("help.dlq_list"))
def list_command(
    ctx: typer.Context,
    reason: ReasonOption = None,
    topic: TopicOption = None,
    since: SinceOption = None,
    unresolved: Annotated[
        bool, typer.Option("--unresolved/--all", help=_("help.opt.unresolved"))
    ] = True,
    limit: Annotated[int, typer.Option(help=_("help.opt.limit"), min=1)] = 100,
    json_output: JsonOption = False,
) -> None:
    state = state_of(ctx)
    runtime = state.runtime
    query = DeadLetterQuery(reason, topic, since, not unresolved, limit)
    letters = list_dead_letters(runtime.store, runtime.clock, query)
    if json_output:
        output.emit_json({"dead_letters": [_summary(letter) for letter in letters]})
        return
    t = state.t
    columns = [
        "id",
        t("col.reason"),
        t("col.topic"),
        t("col.attempts"),
        t("col.dead_at"),
        t("col.resolution"),
        t("col.last_error"),
    ]
    rows = [
        (
            d.id,
            d.reason,
            d.topic,
            d.attempts,
            output.when(d.dead_at),
            d.resolution,
            (d.last_error or "")[:80],
        )
        for d in letters
    ]
    output.show(output.table(t("dlq.title", count=len(letters)), columns, rows))


@dlq_app.command("show", help=_("help.dlq_show"))
def show_command(
    ctx: typer.Context,
    dead_letter_id: Annotated[int, typer.Argument(help=_("help.arg.dead_letter_id"), metavar="ID")],
    json_output: JsonOption = False,
) -> None:
    state = state_of(ctx)
    letter = get_dead_letter(state.runtime.store, dead_letter_id)
    if json_output:
        output.emit_json({**to_jsonable(letter), "hint_code": hint_code(letter.errors)})
        return
    t = state.t
    details = output.pairs(
        t("dlq.detail", dead_letter_id=letter.id),
        [
            (t("col.reason"), letter.reason),
            (t("col.topic"), letter.topic),
            (t("col.event"), letter.queue_id),
            (t("col.dedupe_key"), letter.dedupe_key),
            (t("col.received_via"), letter.received_via),
            (t("col.attempts"), letter.attempts),
            (t("col.dead_at"), output.when(letter.dead_at)),
            (t("col.resolution"), letter.resolution),
            (t("col.resolved_at"), output.when(letter.resolved_at)),
            (t("col.note"), letter.note),
            (t("col.last_error"), letter.last_error),
            (t("col.likely_cause"), hint_text(letter.errors, t)),
        ],
    )
    history = output.table(
        t("events.history"),
        ["#", t("col.when"), t("col.worker"), t("col.error")],
        [(e.get("attempt"), e.get("at"), e.get("worker"), e.get("error")) for e in letter.errors],
    )
    output.show(
        details,
        history,
        t("col.headers"),
        json.dumps(letter.headers, indent=2),
        t("col.payload"),
        letter.payload or "-",
    )


@dlq_app.command("replay", help=_("help.dlq_replay"))
def replay_command(
    ctx: typer.Context,
    ids: Annotated[
        list[int] | None, typer.Argument(help=_("help.arg.dead_letter_ids"), metavar="ID...")
    ] = None,
    all_matching: Annotated[bool, typer.Option("--all", help=_("help.opt.replay_all"))] = False,
    reason: ReasonOption = None,
    topic: TopicOption = None,
    since: SinceOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=_("help.opt.dry_run"))] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help=_("help.opt.yes"))] = False,
    json_output: JsonOption = False,
) -> None:
    state = state_of(ctx)
    runtime, t = state.runtime, state.t
    if bool(ids) == all_matching:
        raise UsageError("error.replay_what")
    query = DeadLetterQuery(reason, topic, since) if all_matching else None
    letters = select_for_replay(runtime.store, runtime.clock, ids or [], query)
    if not dry_run and len(letters) > CONFIRM_ABOVE and not yes:
        _confirm(t, len(letters))
    summary = replay(runtime.store, runtime.clock, letters, dry_run)
    _render_replay(summary, t, json_output)


def _confirm(t, count: int) -> None:
    if not sys.stdin.isatty():
        raise UsageError("error.replay_needs_yes", count=count)
    if not typer.confirm(t("dlq.confirm", count=count), err=True):
        raise typer.Abort()


def _render_replay(summary: ReplaySummary, t, json_output: bool) -> None:
    if json_output:
        output.emit_json(summary)
        return
    rows = [
        (item.dead_letter_id, t(f"dlq.result.{item.result}"), item.queue_id)
        for item in summary.results
    ]
    title = t("dlq.replay_dry_title" if summary.dry_run else "dlq.replay_title", count=len(rows))
    output.show(output.table(title, ["id", t("col.result"), t("col.event")], rows))
    if not summary.dry_run and summary.count("replayed"):
        output.notice(t("dlq.replayed_next", count=summary.count("replayed")))


@dlq_app.command("discard", help=_("help.dlq_discard"))
def discard_command(
    ctx: typer.Context,
    dead_letter_id: Annotated[int, typer.Argument(help=_("help.arg.dead_letter_id"), metavar="ID")],
    note: Annotated[str, typer.Option("--note", help=_("help.opt.discard_note"))],
    json_output: JsonOption = False,
) -> None:
    state = state_of(ctx)
    runtime = state.runtime
    letter = discard(runtime.store, runtime.clock, dead_letter_id, note)
    if json_output:
        output.emit_json(_summary(letter))
        return
    output.notice(state.t("dlq.discarded", dead_letter_id=letter.id))


def _summary(letter: DeadLetter) -> dict:
    return {
        "id": letter.id,
        "queue_id": letter.queue_id,
        "reason": letter.reason,
        "topic": letter.topic,
        "attempts": letter.attempts,
        "last_error": letter.last_error,
        "hint_code": hint_code(letter.errors),
        "dead_at": letter.dead_at,
        "resolved_at": letter.resolved_at,
        "resolution": letter.resolution,
        "note": letter.note,
    }
