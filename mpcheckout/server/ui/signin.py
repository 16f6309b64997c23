"""Signing in and out, and choosing the language. The token travels only in a POST body, is
compared in constant time, and attempts are counted per client address in the store (shared by
every worker) before any comparison."""

from __future__ import annotations

import hmac
import logging
import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ... import ratelimit
from ...errors import StorageError
from ...i18n import normalize_locale
from ..receiver import client_ip
from .session import COOKIE, Session
from .web import (
    Screen,
    context,
    csrf_ok,
    first,
    form_of,
    lang_of,
    render,
    same_origin,
    session_of,
    set_session,
    ui_state,
)

log = logging.getLogger("mpcheckout.server")
ROUTE = "ui_login"


async def login_form(request: Request) -> Response:
    session = session_of(request)
    if session is not None and session.signed_in:
        return RedirectResponse("/ui/", status_code=303)
    ui = ui_state(request)
    lang = normalize_locale(request.query_params.get("lang")) or lang_of(request, session)
    session = (session or Session.anonymous(lang, time.time(), ui.minutes)).with_lang(lang)
    return _login_page(request, session)


def _login_page(
    request: Request, session: Session, status: int = 200, error: str | None = None
) -> Response:
    screen = Screen("login.html", None, "ui.title.login", status=status, extra={"error": error})
    return set_session(request, render(request, session, screen), session)


async def login(request: Request) -> Response:
    ctx, ui = context(request), ui_state(request)
    session = session_of(request)
    client = client_ip(ctx, request)
    limit = ctx.settings.server.ui_login_limit
    try:
        decision = await run_in_threadpool(
            ratelimit.hit, ctx.store, ctx.clock, ROUTE, client, limit
        )
    except StorageError:
        decision = None  # fail closed below: no counting, no sign-in
    fields = await form_of(request)
    lang = normalize_locale(first(fields, "lang")) or lang_of(request, session)
    anonymous = (session or Session.anonymous(lang, time.time(), ui.minutes)).with_lang(lang)
    if decision is None or not decision.allowed:
        log.warning("ui sign-in refused: too many attempts from %s", client)
        return _login_page(request, anonymous, 429, "ui.error.too_many")
    if not same_origin(request) or not csrf_ok(session, fields):
        return _login_page(request, anonymous, 403, "ui.error.csrf")
    assert ui.token is not None
    sent = first(fields, "token").strip().encode()
    if not hmac.compare_digest(sent, ui.token.encode()):
        log.warning("ui sign-in refused: wrong token from %s", client)
        return _login_page(request, anonymous, 401, "ui.error.wrong_token")
    log.info("ui sign-in from %s", client)
    signed_in = anonymous.signed_in_until(time.time(), ui.minutes)
    return set_session(request, RedirectResponse("/ui/", status_code=303), signed_in)


async def logout(request: Request) -> Response:
    session = session_of(request)
    fields = await form_of(request)
    if not same_origin(request) or not csrf_ok(session, fields):
        return Response(status_code=403)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/ui")
    return response


async def choose_language(request: Request) -> Response:
    session = session_of(request)
    fields = await form_of(request)
    lang = normalize_locale(first(fields, "lang"))
    if session is None or lang is None or not same_origin(request) or not csrf_ok(session, fields):
        return Response(status_code=403)
    back = first(fields, "back")
    target = back if back.startswith("/ui/") and not back.startswith("//") else "/ui/"
    return set_session(request, RedirectResponse(target, status_code=303), session.with_lang(lang))
