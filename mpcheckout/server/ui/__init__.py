"""The status page of `mpcheckout serve` at /ui/: server-rendered (Jinja2 templates in this
package, one stylesheet, inline SVG), no JavaScript at all, es/en/pt. Off (absent) unless a
sign-in token is configured (server.ui_token, else server.monitor_token)."""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from ..context import ServerContext
from . import actions, signin, views
from .web import UiState

STYLESHEET = resources.files(__package__).joinpath("static", "app.css").read_bytes()


def routes(ctx: ServerContext) -> list[BaseRoute]:
    """The /ui routes, or none when the page is disabled or no token could protect it."""
    if not ctx.settings.server.ui_enabled or UiState(ctx).token is None:
        return []
    pages = [
        Route("/", views.summary, methods=["GET"]),
        Route("/login", signin.login_form, methods=["GET"]),
        Route("/login", signin.login, methods=["POST"]),
        Route("/logout", signin.logout, methods=["POST"]),
        Route("/lang", signin.choose_language, methods=["POST"]),
        Route("/orders", views.orders, methods=["GET"]),
        Route("/order", views.order, methods=["GET"]),
        Route("/dead-letters", views.dead_letters, methods=["GET"]),
        Route("/dead-letters/replay", actions.replay, methods=["POST"]),
        Route("/dead-letters/{row_id}", views.dead_letter, methods=["GET"]),
        Route("/dead-letters/{row_id}/discard", actions.discard, methods=["POST"]),
        Route("/events", views.events, methods=["GET"]),
        Route("/events/{row_id}", views.event, methods=["GET"]),
        Route("/reconcile", views.reconcile, methods=["GET"]),
        Route("/reconcile/run", actions.reconcile, methods=["POST"]),
        Route("/static/app.css", _stylesheet, methods=["GET"]),
    ]
    return [Route("/ui", _to_slash, methods=["GET"]), Mount("/ui", routes=pages)]


async def _to_slash(request: Request) -> Response:
    return RedirectResponse("/ui/", status_code=308)


async def _stylesheet(request: Request) -> Response:
    return Response(STYLESHEET, media_type="text/css", headers={"Cache-Control": "max-age=3600"})
