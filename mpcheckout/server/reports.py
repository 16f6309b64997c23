"""`POST /webhooks/mercadopago/reports`: Mercado Pago's report-ready notification. The bcrypt
check runs off the event loop; a verified notification is answered 202 at once and its file
imported after the answer (Mercado Pago redelivers a notification that waits too long), which
is safe because the import is idempotent by transaction id and row identity."""

from __future__ import annotations

import logging

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..errors import AppError
from ..report_webhook import import_notified_report, verified_notification
from ..reports.signature import ReportNotification
from .context import ServerContext
from .responses import error_response, json_response

log = logging.getLogger(__name__)


async def receive_report(request: Request) -> Response:
    ctx: ServerContext = request.app.state.ctx
    body = await request.body()
    passwords = [p.get_secret_value() for p in ctx.settings.reports.webhook_passwords]
    try:
        notification = await run_in_threadpool(verified_notification, body, passwords)
    except AppError as exc:
        return error_response(exc, ctx.t)
    answer = {"transaction_id": notification.transaction_id, "accepted": True}
    if notification.is_test:
        return json_response({**answer, "test": True})
    response = json_response(answer, status=202)
    response.background = BackgroundTask(_import, ctx, notification)
    return response


def _import(ctx: ServerContext, notification: ReportNotification) -> None:
    """Runs after the answer, in the threadpool (Starlette runs a sync task there)."""
    try:
        import_notified_report(
            ctx.store, ctx.runtime.gateway, ctx.clock, notification, ctx.settings.reports
        )
    except AppError as exc:
        log.warning("report %s not imported: %s", notification.transaction_id, exc.code)
