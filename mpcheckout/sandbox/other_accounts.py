"""Other sellers' tokens: Mercado Pago answers a token with its own account's resources only, so
a payment looked up with another seller's token is a 404 — the commonest cause of "404 after a
notification" (research dashboards.md §0). `POST /_sandbox/other-accounts` registers a token of
another account (`{"access_token", "id", "test_user"?, "nickname"?, "site_id"?}`); requests
made with it see that account at `GET /users/me`, empty searches, and 404 for every resource of
the sandbox's own seller. The tokens are the sandbox's own test values; GET never shows them."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import mp_errors
from .account import SandboxAccount, account_update, user_me_json

# What each search answers when the account owns nothing (the shapes of api.py's answers).
_EMPTY_SEARCHES: dict[str, dict[str, Any]] = {
    "payments.search": {"paging": {"total": 0, "limit": 30, "offset": 0}, "results": []},
    "merchant_orders.search": {"elements": [], "total": 0, "next_offset": 0},
    "orders.search": {"data": [], "paging": {"total": 0, "offset": 0, "limit": 30}},
}


def answer_for_other_account(
    account: SandboxAccount, endpoint: str | None, path: str
) -> dict[str, Any]:
    """The JSON a request of another account's token gets; raises ApiError(404) for anything
    it does not own (which, here, is everything)."""
    if path.rstrip("/") == "/users/me":
        return user_me_json(account)
    if endpoint in _EMPTY_SEARCHES:
        return _EMPTY_SEARCHES[endpoint]
    if endpoint is not None and endpoint.startswith(("payments.", "refunds.")):
        raise mp_errors.payment_not_found()
    if endpoint == "merchant_orders.get":
        raise mp_errors.merchant_order_not_found(path.rstrip("/").rsplit("/", 1)[-1])
    raise mp_errors.route_not_found()


def registered_account(context: Any, body: Any) -> tuple[str, SandboxAccount]:
    """A control API body -> (token, account). The token must not be the sandbox's own."""
    if not isinstance(body, dict):
        raise mp_errors.bad_request("The body must be a JSON object", data="body")
    token = body.get("access_token")
    if not isinstance(token, str) or not token.strip() or token == context.access_token:
        message = "access_token invalid. Expected a token other than the sandbox's own"
        raise mp_errors.bad_request(message, data="access_token")
    if "id" not in body:
        raise mp_errors.bad_request("id is required", data="id")
    fields = {key: value for key, value in body.items() if key != "access_token"}
    base = SandboxAccount(nickname="OTHERSELLER", test_user=False)
    return token.strip(), account_update(base, fields)


async def other_accounts_control(request: Request) -> JSONResponse:
    context = request.app.state.sandbox
    if request.method == "POST":
        from .web import read_json  # here: web imports the context, which imports account.py

        token, account = registered_account(context, await read_json(request, empty={}))
        context.other_accounts[token] = account
    elif request.method == "DELETE":
        context.other_accounts.clear()
    shown = [
        {"id": a.id, "nickname": a.nickname, "test_user": a.test_user, "site_id": a.site_id}
        for a in context.other_accounts.values()
    ]
    return JSONResponse({"other_accounts": shown})


def other_account_routes() -> list[Route]:
    return [
        Route("/_sandbox/other-accounts", other_accounts_control, methods=["GET", "POST", "DELETE"])
    ]
