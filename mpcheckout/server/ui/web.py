"""What every status-page handler shares: who is signed in, rendering a view model as HTML or
JSON, form bodies, and the same-origin + CSRF check every POST passes."""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ...errors import AppError, AuthenticationError
from ...i18n import SUPPORTED_LOCALES, Translator, normalize_locale
from ..context import ServerContext
from ..receiver import read_limited
from ..responses import error_response, json_response
from .render import environment, money
from .session import COOKIE, Session, SessionCodec

MAX_FORM_BYTES = 16 * 1024
NAV = (
    ("summary", "/ui/"),
    ("orders", "/ui/orders"),
    ("dead_letters", "/ui/dead-letters"),
    ("events", "/ui/events"),
    ("reconcile", "/ui/reconcile"),
)


class UiState:
    """Built once per worker: the sign-in token and the cookie codec derived from it."""

    def __init__(self, ctx: ServerContext) -> None:
        server = ctx.settings.server
        secret = server.ui_token.get_secret_value() if server.ui_token else ""
        self.token = secret if secret.strip() else ctx.monitor_token
        self.codec = SessionCodec(self.token) if self.token else None
        self.default_lang = ctx.t.locale
        self.minutes = server.ui_session_minutes
        self.actions = server.ui_actions


def ui_state(request: Request) -> UiState:
    return cast(UiState, request.app.state.ui)


def context(request: Request) -> ServerContext:
    return cast(ServerContext, request.app.state.ctx)


def session_of(request: Request) -> Session | None:
    ui = ui_state(request)
    assert ui.codec is not None  # the routes exist only with a token
    return ui.codec.load(request.cookies.get(COOKIE), time.time())


def lang_of(request: Request, session: Session | None) -> str:
    return (session and normalize_locale(session.lang)) or ui_state(request).default_lang


def wants_json(request: Request) -> bool:
    return request.query_params.get("format") == "json"


def set_session(request: Request, response: Response, session: Session) -> Response:
    ui = ui_state(request)
    assert ui.codec is not None
    response.set_cookie(
        COOKIE,
        ui.codec.dump(session),
        max_age=ui.minutes * 60,
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=is_https(request),
    )
    return response


def is_https(request: Request) -> bool:
    """HTTPS to the browser: directly, or as a trusted proxy says (X-Forwarded-Proto)."""
    if request.url.scheme == "https":
        return True
    peer = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    trusted = any(address in network for network in context(request).resolver.trusted_proxies)
    return trusted and request.headers.get("x-forwarded-proto", "").lower() == "https"


@dataclass(slots=True)
class Screen:
    """One page to render: a template, its view model, and page-level extras."""

    template: str
    model: Any
    title_key: str
    nav: str | None = None
    status: int = 200
    extra: dict[str, Any] | None = None
    decorate: Callable[[Any], dict[str, Any]] | None = None  # extras computed from the model


def render(request: Request, session: Session | None, screen: Screen) -> Response:
    if wants_json(request) and screen.model is not None:
        return json_response(screen.model, screen.status)
    lang = lang_of(request, session)
    t = Translator(lang)
    ui = ui_state(request)
    html = (
        environment()
        .get_template(screen.template)
        .render(
            page=screen.model,
            t=t,
            lang=lang,
            languages=SUPPORTED_LOCALES,
            title=t(screen.title_key),
            nav=NAV if session and session.signed_in else (),
            current=screen.nav,
            csrf=session.csrf if session else "",
            actions=ui.actions,
            refresh=context(request).settings.server.ui_refresh_seconds
            if screen.nav == "summary"
            else 0,
            money=lambda amount, currency: money(amount, currency, lang),
            **(screen.extra or {}),
            **(screen.decorate(screen.model) if screen.decorate and screen.model else {}),
        )
    )
    return HTMLResponse(html, status_code=screen.status, headers={"Cache-Control": "no-store"})


async def page(request: Request, build: Callable[[ServerContext], Any], screen: Screen) -> Response:
    """A signed-in GET: build the view model off the event loop, render it (HTML or JSON)."""
    session = session_of(request)
    if session is None or not session.signed_in:
        return signed_out(request)
    ctx = context(request)
    try:
        screen.model = await run_in_threadpool(build, ctx)
    except AppError as exc:
        return problem(request, session, exc)
    return render(request, session, screen)


def signed_out(request: Request) -> Response:
    if wants_json(request):
        return error_response(AuthenticationError("ui.error.sign_in"), context(request).t)
    return RedirectResponse("/ui/login", status_code=303)


def problem(request: Request, session: Session | None, exc: AppError) -> Response:
    if wants_json(request):
        return error_response(exc, Translator(lang_of(request, session)))
    t = Translator(lang_of(request, session))
    message = t(exc.message_key, **exc.params)
    screen = Screen(
        "problem.html", None, "ui.title.problem", status=exc.http_status, extra={"message": message}
    )
    return render(request, session, screen)


async def form_of(request: Request) -> dict[str, list[str]]:
    """An urlencoded form body (bounded); repeated fields keep every value."""
    body = await read_limited(request, MAX_FORM_BYTES) or b""
    fields: dict[str, list[str]] = {}
    for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        fields.setdefault(key, []).append(value)
    return fields


def first(fields: dict[str, list[str]], name: str) -> str:
    return (fields.get(name) or [""])[0]


def same_origin(request: Request) -> bool:
    """The browser says this POST comes from one of our own pages: Sec-Fetch-Site when sent,
    and Origin (or, without it, Referer) naming this host. Neither sent: refused."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return False
    return urlsplit(source).netloc.lower() == request.headers.get("host", "").lower()


def csrf_ok(session: Session | None, fields: dict[str, list[str]]) -> bool:
    sent = first(fields, "csrf")
    if session is None or not sent:
        return False
    return hmac.compare_digest(sent.encode(), session.csrf.encode())
