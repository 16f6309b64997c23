"""`mpcheckout events list | show ID`"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ..events import get_event, list_events
from ..hints import hint_code, hint_text
from ..models import QueueEvent, to_jsonable
from . import output
from .helptext import help_key as _
from .state import state_of

events_app = typer.Typer(help=_("help.events"), no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help=_("help.opt.json"))]


def register(app: typer.Typer) -> None:
    app.add_typer(events_app, name="events")


@events_app.command("list", help=_("help.events_list"))
def list_command(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help=_("help.opt.event_status"))] = None,
    topic: Annotated[str | None, typer.Option(help=_("help.opt.topic"))] = None,
    since: Annotated[str | None, typer.Option(help=_("help.opt.since"))] = None,
    limit: Annotated[int, typer.Option(help=_("help.opt.limit"))] = 50,
    live_mode: Annotated[
        str | None, typer.Option(help=_("help.opt.live_mode"), metavar="true|false")
    ] = None,
    user_id: Annotated[str | None, typer.Option(help=_("help.opt.user_id"), metavar="N")] = None,
    json_output: JsonOption = False,
) -> None:
    state = state_of(ctx)
    runtime = state.runtime
    events = list_events(
        runtime.store,
        runtime.clock,
        status=status,
        topic=topic,
        since=since,
        limit=limit,
        live_mode=live_mode,
        user_id=user_id,
    )
    if json_output:
        output.emit_json({"events": [_summary(event) for event in events]})
        return
    t = state.t
    columns = [
        "id",
        t("col.status"),
        t("col.topic"),
        t("col.action"),
        t("col.resource"),
        t("col.attempts"),
        t("col.received"),
        t("col.last_error"),
    ]
    rows = [
        (
            e.id,
            t(f"status.{e.status}"),
            e.topic,
            e.action,
            e.resource_id,
            e.attempts,
            output.when(e.received_at),
            e.last_error,
        )
        for e in events
    ]
    output.show(output.table(t("events.title", count=len(events)), columns, rows))


@events_app.command("show", help=_("help.events_show"))
def show_command(
    ctx: typer.Context,
    event_id: Annotated[int, typer.Argument(help=_("help.arg.event_id"), metavar="ID")],
    json_output: JsonOption = False,
) -> None:
    state = state_of(ctx)
    event = get_event(state.runtime.store, event_id)
    if json_output:
        output.emit_json({**to_jsonable(event), "hint_code": hint_code(event.errors)})
        return
    t = state.t
    details = output.pairs(
        t("events.detail", event_id=event.id),
        [
            (t("col.status"), t(f"status.{event.status}")),
            (t("col.topic"), event.topic),
            (t("col.action"), event.action),
            (t("col.resource"), event.resource_id),
            (t("col.dedupe_key"), event.dedupe_key),
            (t("col.received_via"), event.received_via),
            (t("col.account"), event.user_id),
            (t("col.live_mode"), event.live_mode),
            (t("col.attempts"), event.attempts),
            (t("col.received"), output.when(event.received_at)),
            (t("col.next_attempt"), output.when(event.next_attempt_at)),
            (t("col.locked_by"), event.locked_by),
            (t("col.completed"), output.when(event.completed_at)),
            (t("col.note"), event.note),
            (t("col.last_error"), event.last_error),
            (t("col.likely_cause"), hint_text(event.errors, t)),
        ],
    )
    history = output.table(
        t("events.history"),
        ["#", t("col.when"), t("col.worker"), t("col.error")],
        [(e.get("attempt"), e.get("at"), e.get("worker"), e.get("error")) for e in event.errors],
    )
    output.show(
        details,
        history,
        t("col.headers"),
        json.dumps(event.headers, indent=2),
        t("col.payload"),
        event.payload or "-",
    )


def _summary(event: QueueEvent) -> dict:
    return {
        "id": event.id,
        "status": event.status,
        "topic": event.topic,
        "action": event.action,
        "resource_id": event.resource_id,
        "live_mode": event.live_mode,
        "user_id": event.user_id,
        "attempts": event.attempts,
        "received_at": event.received_at,
        "next_attempt_at": event.next_attempt_at,
        "completed_at": event.completed_at,
        "last_error": event.last_error,
        "hint_code": hint_code(event.errors),
    }
