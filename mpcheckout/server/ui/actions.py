"""The status page's few writes, present only with `server.ui_actions = true`: replay dead
letters (one, chosen ones, or all matching a filter), discard one with a note, run reconcile.
POST only, each behind the same-origin and CSRF checks; a replay shows what it will touch and
asks first, and changes nothing until confirmed."""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ... import dead_letters as service
from ...errors import AppError, NotFoundError, ValidationError
from ...pages.queue import DeadLetterFilters, plan_replay
from ...reconcile import ReconcileRequest, run_reconcile
from ...runtime import worker_id
from ..receiver import client_ip
from .session import Session
from .web import Screen, context, csrf_ok, first, form_of, problem, render, same_origin, session_of

log = logging.getLogger("mpcheckout.server")
MAX_CHOSEN = 500


async def _checked(request: Request) -> tuple[Session, dict[str, list[str]]] | Response:
    """The signed-in session and the form, or the refusal to give (nothing changes)."""
    session = session_of(request)
    ctx = context(request)
    if not ctx.settings.server.ui_actions or session is None or not session.signed_in:
        return problem(request, session, NotFoundError("error.not_found"))
    fields = await form_of(request)
    if not same_origin(request) or not csrf_ok(session, fields):
        log.warning("ui action refused (origin or CSRF token) from %s", client_ip(ctx, request))
        return problem(request, session, _Forbidden("ui.error.csrf"))
    return session, fields


class _Forbidden(AppError):
    code = "forbidden"
    http_status = 403


async def replay(request: Request) -> Response:
    checked = await _checked(request)
    if isinstance(checked, Response):
        return checked
    session, fields = checked
    ctx = context(request)
    chosen = [int(v) for v in fields.get("id", []) if v.isascii() and v.isdigit() and len(v) < 19]
    filters = None
    if first(fields, "all") == "1":
        filters = DeadLetterFilters(
            first(fields, "reason") or None,
            first(fields, "topic") or None,
            first(fields, "since") or None,
        )
    elif not chosen or len(chosen) > MAX_CHOSEN:
        return problem(request, session, ValidationError("ui.error.nothing_chosen"))
    try:
        plan = await run_in_threadpool(plan_replay, ctx.store, ctx.clock, chosen, filters)
    except AppError as exc:
        return problem(request, session, exc)
    if first(fields, "confirm") != "yes":
        screen = Screen("confirm_replay.html", plan, "ui.title.confirm_replay", "dead_letters")
        return render(request, session, screen)
    return await _do_replay(request, plan.ids, chosen, filters is None)


async def _do_replay(
    request: Request, ids: list[int], chosen: list[int], one_by_one: bool
) -> Response:
    ctx = context(request)

    def run() -> service.ReplaySummary:
        letters = service.select_for_replay(ctx.store, ctx.clock, ids, None)
        return service.replay(ctx.store, ctx.clock, letters, dry_run=False)

    summary = await run_in_threadpool(run) if ids else None
    replayed = summary.count("replayed") if summary else 0
    log.info("ui replayed %d dead letter(s) from %s", replayed, client_ip(ctx, request))
    queue_ids = [r.queue_id for r in summary.results if r.queue_id] if summary else []
    if one_by_one and len(chosen) == 1 and len(queue_ids) == 1:
        target = f"/ui/events/{queue_ids[0]}?notice=replayed&count={replayed}"
    else:
        target = f"/ui/dead-letters?notice=replayed&count={replayed}"
    return RedirectResponse(target, status_code=303)


async def discard(request: Request) -> Response:
    checked = await _checked(request)
    if isinstance(checked, Response):
        return checked
    session, fields = checked
    ctx = context(request)
    text = request.path_params["row_id"]
    letter_id = int(text) if text.isascii() and text.isdigit() and len(text) < 19 else 0
    note = first(fields, "note")[:1000]
    try:
        await run_in_threadpool(service.discard, ctx.store, ctx.clock, letter_id, note)
    except AppError as exc:
        return problem(request, session, exc)
    log.info("ui discarded dead letter %d from %s", letter_id, client_ip(ctx, request))
    return RedirectResponse(f"/ui/dead-letters/{letter_id}?notice=discarded", status_code=303)


async def reconcile(request: Request) -> Response:
    checked = await _checked(request)
    if isinstance(checked, Response):
        return checked
    session, _ = checked
    ctx = context(request)
    try:
        result, _alerts = await run_in_threadpool(
            run_reconcile,
            ctx.store,
            ctx.runtime.gateway,
            ctx.clock,
            ctx.settings,
            worker_id(),
            ReconcileRequest(),
        )
    except AppError as exc:
        return problem(request, session, exc)
    notice = "reconcile_busy" if result.lock_held else "reconciled"
    return RedirectResponse(f"/ui/reconcile?notice={notice}", status_code=303)
