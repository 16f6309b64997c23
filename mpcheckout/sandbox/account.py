"""The seller account behind the sandbox's token: `GET /users/me` as Mercado Pago answers it,
and `/_sandbox/account` to make it a test user or not, or another site or account id (what
`doctor` and `mp whoami` are tested against). Every answer carries a `Date` header from the
sandbox's clock, so moving that clock shows a client what a skewed Mercado Pago looks like."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from email.utils import format_datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import mp_errors
from .clock import SandboxClock
from .state import COLLECTOR_ID

# Mercado Pago's site and country of each site id the sandbox accepts.
SITES = {
    "MLA": "AR",
    "MLB": "BR",
    "MLM": "MX",
    "MLC": "CL",
    "MCO": "CO",
    "MPE": "PE",
    "MLU": "UY",
}


@dataclass(frozen=True, slots=True)
class SandboxAccount:
    id: int = COLLECTOR_ID
    nickname: str = "TESTSANDBOXSELLER"
    site_id: str = "MLA"
    test_user: bool = True

    @property
    def country_id(self) -> str:
        return SITES[self.site_id]


def user_me_json(account: SandboxAccount) -> dict[str, Any]:
    """The fields of Mercado Pago's `/users/me` that a client reads (developers' docs example:
    a test account carries the `test_user` tag)."""
    tags = ["normal", "test_user"] if account.test_user else ["normal"]
    return {
        "id": account.id,
        "nickname": account.nickname,
        "country_id": account.country_id,
        "site_id": account.site_id,
        "user_type": "normal",
        "tags": tags,
        "status": {"site_status": "active"},
    }


def account_update(account: SandboxAccount, body: Any) -> SandboxAccount:
    """Apply a control API body `{"id"?, "nickname"?, "site_id"?, "test_user"?}`."""
    if not isinstance(body, dict):
        raise mp_errors.bad_request("The body must be a JSON object", data="body")
    changes: dict[str, Any] = {}
    if "id" in body:
        if isinstance(body["id"], bool) or not isinstance(body["id"], int) or body["id"] < 1:
            raise mp_errors.bad_request("id invalid. Expected a positive integer", data="id")
        changes["id"] = body["id"]
    if "nickname" in body:
        if not isinstance(body["nickname"], str) or not body["nickname"]:
            raise mp_errors.bad_request("nickname invalid", data="nickname")
        changes["nickname"] = body["nickname"]
    if "site_id" in body:
        if body["site_id"] not in SITES:
            raise mp_errors.bad_request("site_id invalid", data="site_id")
        changes["site_id"] = body["site_id"]
    if "test_user" in body:
        if not isinstance(body["test_user"], bool):
            raise mp_errors.bad_request("test_user invalid. Expected a boolean", data="test_user")
        changes["test_user"] = body["test_user"]
    return replace(account, **changes)


async def get_user_me(request: Request) -> JSONResponse:
    return JSONResponse(user_me_json(request.app.state.sandbox.account))


async def account_control(request: Request) -> JSONResponse:
    context = request.app.state.sandbox
    if request.method == "POST":
        from .web import read_json  # here: web imports the context, which imports this module

        context.account = account_update(context.account, await read_json(request, empty={}))
    return JSONResponse({**asdict(context.account), "country_id": context.account.country_id})


def account_routes() -> list[Route]:
    return [
        Route("/users/me", get_user_me, methods=["GET"]),
        Route("/_sandbox/account", account_control, methods=["GET", "POST"]),
    ]


def with_clock_date(app: ASGIApp, clock: SandboxClock) -> ASGIApp:
    """Answers with `Date` from the sandbox's clock (uvicorn's own Date header is off)."""

    async def dated(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                headers.append((b"date", format_datetime(clock.now(), usegmt=True).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_dated)

    return dated
