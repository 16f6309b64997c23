"""The report endpoints (`/v1/account/{settlement,release}_report...`) and their control API
(`/_sandbox/reports...`): configure fees and delays, refuse the next requests with 203, hold a
payment's settlement back, read the world's own sums, send the signed report-ready webhook."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..reports.signature import sign_report_notification
from . import inputs, mp_errors
from .context import SandboxContext
from .dates import parse_datetime
from .notifier import OutgoingRequest, deliver
from .reports import (
    FIRST_REPORT_ID,
    ReportTask,
    as_json_views,
    release_csv,
    report_file_name,
    settlement_csv,
)
from .web import context_of, read_json

KINDS = ("settlement", "release")


def _kind(request: Request) -> str:
    kind = request.path_params["kind"]
    if kind not in KINDS:
        raise mp_errors.route_not_found()
    return kind


def _range(body: Any) -> tuple[datetime, datetime]:
    body = inputs.require_object(body)
    try:
        begin = parse_datetime(body["begin_date"])
        end = parse_datetime(body["end_date"])
    except (KeyError, TypeError, ValueError):
        raise mp_errors.bad_request("begin_date and end_date are required") from None
    if begin is None or end is None or end <= begin:
        raise mp_errors.bad_request("end_date must come after begin_date")
    if (end - begin).days > 60:
        raise mp_errors.bad_request("a report covers at most 60 days")
    return begin, end


async def create_report(request: Request) -> Response:
    """202 with the task; 203 while `refuse_next` lasts."""
    context, kind = context_of(request), _kind(request)
    begin, end = _range(await read_json(request, empty={}))
    book = context.reports
    book.requests += 1
    if book.refuse_next > 0:
        book.refuse_next -= 1
        message = "It was not possible to create your report, request it again."
        return JSONResponse({"message": message}, status_code=203)
    task = _new_task(context, kind, begin, end)
    return JSONResponse(_task_json(task, "pending"), status_code=202)


def _new_task(context: SandboxContext, kind: str, begin: datetime, end: datetime) -> ReportTask:
    book, now = context.reports, context.clock.now()
    task_id = FIRST_REPORT_ID + context.id_offset + len(book.tasks)
    render = settlement_csv if kind == "settlement" else release_csv
    content = render(book, context.state, begin, end)
    task = ReportTask(task_id, kind, begin, end, report_file_name(kind, task_id, now), content, now)
    book.tasks.append(task)
    return task


def _task_json(task: ReportTask, status: str) -> dict[str, Any]:
    return {
        "id": task.id,
        "user_id": 724484980,
        "begin_date": _iso(task.begin),
        "end_date": _iso(task.end),
        "file_name": task.file_name,
        "created_from": "manual",
        "date_created": _iso(task.date_created),
        "status": status,
        "report_type": task.kind,
    }


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _listed(context: SandboxContext, kind: str) -> list[dict[str, Any]]:
    """Each list call is a look: a task is processed after `ready_after` of them."""
    listed = []
    for task in context.reports.tasks:
        if task.kind != kind:
            continue
        task.looks += 1
        ready = task.looks > context.reports.ready_after
        listed.append(_task_json(task, "processed" if ready else "pending"))
    return listed


async def list_reports(request: Request) -> JSONResponse:
    return JSONResponse(_listed(context_of(request), _kind(request)))


async def search_reports(request: Request) -> JSONResponse:
    results = _listed(context_of(request), _kind(request))
    paging = {"total": len(results), "offset": 0, "limit": len(results)}
    return JSONResponse({"paging": paging, "results": results})


async def download_report(request: Request) -> Response:
    context, kind = context_of(request), _kind(request)
    name = request.path_params["file_name"]
    for task in context.reports.tasks:
        if task.kind == kind and task.file_name == name:
            if task.looks <= context.reports.ready_after:
                break  # not generated yet: Mercado Pago answers 404 until it is
            if context.reports.download_format == "json":
                separator = ";" if kind == "settlement" else ","
                content = as_json_views(task.content, separator)
                return Response(content, media_type="application/json")
            return Response(task.content, media_type="text/csv")
    raise mp_errors.ApiError(404, "not_found", "report not found")


async def configure(request: Request) -> JSONResponse:
    """`{"fee_rates"?: {type: rate}, "release_days"?, "ready_after"?, "refuse_next"?,
    "withhold"?: [payment ids], "download_format"?: "csv"|"json"}`; answers the configuration."""
    book = context_of(request).reports
    body = inputs.require_object(await read_json(request, empty={}))
    try:
        for kind, rate in (body.get("fee_rates") or {}).items():
            book.fee_rates[str(kind)] = Decimal(str(rate))
        book.release_days = int(body.get("release_days", book.release_days))
        book.ready_after = int(body.get("ready_after", book.ready_after))
        book.refuse_next = int(body.get("refuse_next", book.refuse_next))
        book.withheld.update(int(p) for p in body.get("withhold") or [])
        book.download_format = _download_format(body.get("download_format", book.download_format))
    except (ArithmeticError, TypeError, ValueError, AttributeError):
        raise mp_errors.bad_request("not a report configuration") from None
    return JSONResponse(_configuration(context_of(request)))


def _download_format(value: Any) -> str:
    if value not in ("csv", "json"):
        raise ValueError(value)
    return str(value)


def _configuration(context: SandboxContext) -> dict[str, Any]:
    book = context.reports
    return {
        "fee_rates": {kind: str(rate) for kind, rate in book.fee_rates.items()},
        "release_days": book.release_days,
        "ready_after": book.ready_after,
        "refuse_next": book.refuse_next,
        "withheld": sorted(book.withheld),
        "download_format": book.download_format,
        "requests": book.requests,
        "reports": [_task_json(task, "processed") for task in book.tasks],
    }


async def show_configuration(request: Request) -> JSONResponse:
    return JSONResponse(_configuration(context_of(request)))


async def totals(request: Request) -> JSONResponse:
    """The world's own settlement sums over `?begin=&end=`."""
    context = context_of(request)
    try:
        begin = parse_datetime(request.query_params["begin"])
        end = parse_datetime(request.query_params["end"])
    except (KeyError, ValueError):
        raise mp_errors.bad_request("begin and end are required") from None
    if begin is None or end is None:
        raise mp_errors.bad_request("begin and end are required")
    return JSONResponse(context.reports.totals(context.state, begin, end))


async def notify_report(request: Request) -> JSONResponse:
    """Generate a report and post its report-ready notification, bcrypt-signed:
    `{"url", "password", "kind"?, "begin_date", "end_date", "transaction_id"?, "is_test"?,
    "tamper"?: true}`."""
    context = context_of(request)
    body = inputs.require_object(await read_json(request, empty={}))
    kind = body.get("kind", "settlement")
    if kind not in KINDS or not isinstance(body.get("url"), str):
        raise mp_errors.bad_request("kind and url are required")
    begin, end = _range(body)
    task = _new_task(context, kind, begin, end)
    task.looks = context.reports.ready_after + 1  # a notified report is ready
    document = _notification(task, body, str(request.base_url).rstrip("/"))
    outgoing = OutgoingRequest("report", "", {"Content-Type": "application/json"},
                               json.dumps(document))  # fmt: skip
    records = await deliver([outgoing], body["url"])
    return JSONResponse({"notification": document, "deliveries": records})


def _notification(task: ReportTask, body: dict[str, Any], base: str) -> dict[str, Any]:
    transaction_id = str(body.get("transaction_id") or f"{task.id}-{task.kind}")
    generated = task.date_created.strftime("%Y-%m-%dT%-H:%M:%S-0000")  # not ISO, as MP sends
    signature = sign_report_notification(transaction_id, str(body.get("password", "")), generated)
    if body.get("tamper"):
        transaction_id += "-tampered"
    prefix = f"/v1/account/{task.kind}_report"
    return {
        "transaction_id": transaction_id,
        "request_date": generated,
        "generation_date": generated,
        "files": [
            {"type": "file/csv", "url": f"{base}{prefix}/{task.file_name}", "name": task.file_name}
        ],
        "status": "enabled",
        "creation_type": "manual",
        "report_type": task.kind,
        "is_test": bool(body.get("is_test", False)),
        "signature": signature,
    }


def report_routes() -> list[Route]:
    prefix = "/v1/account/{kind}_report"
    return [
        Route(prefix, create_report, methods=["POST"]),
        Route(prefix + "/list", list_reports, methods=["GET"]),
        Route(prefix + "/search", search_reports, methods=["GET"]),
        Route(prefix + "/{file_name}", download_report, methods=["GET"]),
        Route("/_sandbox/reports", show_configuration, methods=["GET"]),
        Route("/_sandbox/reports", configure, methods=["POST"]),
        Route("/_sandbox/reports/totals", totals, methods=["GET"]),
        Route("/_sandbox/reports/notify", notify_report, methods=["POST"]),
    ]
