"""The OpenAPI 3.1 description of every endpoint `serve` answers (served at /openapi.json)."""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..checkout import CURRENCIES

ERROR = {"$ref": "#/components/schemas/Error"}
# The shapes notifications.py accepts (anything else is answered 400 and kept as a dead letter).
ID = {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$"}
NAME = {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"}
ID_OR_NUMBER = {"anyOf": [ID, {"type": "integer", "minimum": 0}]}
WEBHOOK_BODY = {
    "type": "object",
    "description": "Webhooks: {id, type, action, data: {id}, ...}; legacy IPN: "
    "{resource, topic}. Kept as received.",
    "properties": {
        "id": ID_OR_NUMBER,
        "type": NAME,
        "action": NAME,
        "data": {"type": "object", "properties": {"id": ID_OR_NUMBER}},
        "resource": {"type": "string"},
        "topic": NAME,
        "live_mode": {"type": "boolean"},
        "user_id": ID_OR_NUMBER,
    },
    "additionalProperties": True,
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    texts = {
        400: "Malformed",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not found",
        409: "Conflict",
        413: "Too large",
        429: "Rate limited",
        502: "Mercado Pago error",
        500: "Configuration error",
        503: "Storage unavailable; retry",
    }
    return {str(status): _json(ERROR, texts[status]) for status in statuses}


def _webhook_operation(method: str) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": "Receive a Mercado Pago notification (Webhooks or legacy IPN)",
        "parameters": [
            {"name": name, "in": "query", "required": False, "schema": schema}
            for name, schema in (
                ("data.id", ID),
                ("type", NAME),
                ("topic", NAME),
                ("id", ID),
                ("source_news", {"type": "string"}),
            )
        ]
        + [
            {"name": name, "in": "header", "required": False, "schema": {"type": "string"}}
            for name in ("x-signature", "x-request-id")
        ],
        "responses": {
            "200": _json(
                {
                    "type": "object",
                    "required": ["status"],
                    "properties": {"status": {"type": "string", "enum": ["queued", "duplicate"]}},
                },
                "Stored (or already stored)",
            ),
            **_errors(400, 401, 403, 413, 429, 503),
        },
    }
    if method == "post":
        operation["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": WEBHOOK_BODY}},
        }
    return operation


def _monitoring(summary: str, method: str, body: dict[str, Any]) -> dict[str, Any]:
    statuses = (401, 404, 409, 502, 500, 503) if method == "post" else (401, 404, 503)
    return {
        method: {
            "summary": summary,
            "security": [{"bearer": []}],
            "responses": {"200": _json(body, "OK"), **_errors(*statuses)},
        }
    }


def _object(required: dict[str, Any]) -> dict[str, Any]:
    """An object with at least these properties (the result models in status.py,
    processor.py and models.ReconcileRun carry more)."""
    return {"type": "object", "required": sorted(required), "properties": required}


COUNT = {"type": "integer", "minimum": 0}
STATUS = _object(
    {
        "verdict": {"type": "string", "enum": ["green", "yellow", "red"]},
        "checks": {"type": "array"},
        "queue": {"type": "object"},
        "reconcile": {"type": "object"},
        "orders": {"type": "object"},
    }
)
PASS = _object({key: COUNT for key in ("claimed", "completed", "retried", "dead_lettered")})
RECONCILE_RUN = _object(
    {
        "status": {"type": "string", "enum": ["ok", "partial", "failed"]},
        "started_at": {"type": "string"},
        "swept": COUNT,
    }
)


def document() -> dict[str, Any]:
    webhook = {"post": _webhook_operation("post"), "get": _webhook_operation("get")}
    cart_item = {
        "type": "object",
        "required": ["title", "unit_price", "currency"],
        "properties": {
            "title": {"type": "string", "minLength": 1, "maxLength": 256},
            "quantity": {"type": "integer", "minimum": 1, "maximum": 10_000},
            "unit_price": {
                "anyOf": [
                    {"type": "number", "exclusiveMinimum": 0, "maximum": 100_000_000},
                    {"type": "string", "pattern": r"^[0-9]{1,9}(\.[0-9]{1,2})?$"},
                ],
                "description": "A decimal with at most two places, above 0, at most 1e8",
            },
            "currency": {"type": "string", "enum": sorted(CURRENCIES)},
        },
    }
    cart = {
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {"type": "array", "items": cart_item, "minItems": 1, "maxItems": 100},
            "reference": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$"},
            "expires_in": {
                "type": "string",
                "pattern": r"^\s*[0-9]+(\.[0-9]+)?\s*[smhdwSMHDW]?\s*$",
                "description": "How long the link is valid: 90s, 15m, 2h, 7d, 1w",
            },
            "api": {
                "type": "string",
                "enum": ["preferences", "orders"],
                "description": "Checkout Pro through preferences or the Orders API "
                "(default: checkout.api)",
            },
        },
    }
    created = {
        "type": "object",
        "required": ["order_id", "preference_id"],
        "properties": {
            "order_id": {"type": "string"},
            "preference_id": {"type": ["string", "null"]},
            "init_point": {"type": ["string", "null"]},
            "sandbox_init_point": {"type": ["string", "null"]},
            "amount": {"type": "string"},
            "currency": {"type": "string"},
            "api": {"type": "string", "enum": ["preferences", "orders"]},
            "mp_order_id": {"type": ["string", "null"]},
        },
    }
    probe = _json(
        {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}},
        "OK",
    )
    return {
        "openapi": "3.1.0",
        "info": {"title": "mpcheckout serve", "version": __version__},
        "paths": {
            "/webhooks/mercadopago": webhook,
            "/api/checkout/webhook": webhook,
            "/api/checkout/create-preference": {
                "post": {
                    "summary": "Create a pending order and a Checkout Pro preference",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": cart}},
                    },
                    "responses": {
                        "200": _json(created, "Created"),
                        **_errors(400, 413, 429, 500, 502, 503),
                    },
                }
            },
            "/api/webhooks/status": _monitoring(
                "Status document (as `status --json`)", "get", STATUS
            ),
            "/api/webhooks/process-queue": _monitoring("One bounded processor pass", "post", PASS),
            "/api/webhooks/reconcile": _monitoring(
                "Run reconcile; its log row", "post", RECONCILE_RUN
            ),
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics (text format); token or metrics_allowlist",
                    "security": [{"bearer": []}, {}],
                    "responses": {
                        "200": {
                            "description": "Prometheus text exposition format 0.0.4",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                        **_errors(401, 404, 503),
                    },
                }
            },
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": probe}}},
            "/readyz": {
                "get": {
                    "summary": "Readiness (the store answers)",
                    "responses": {"200": probe, **_errors(503)},
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": _json({"type": "object"}, "OK")},
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "hint": {"type": "string"},
                                "details": {"type": "object"},
                            },
                        }
                    },
                }
            },
        },
    }
