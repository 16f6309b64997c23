"""The OpenAPI 3.1 description of every endpoint `serve` answers (served at /openapi.json)."""

from __future__ import annotations

from typing import Any

from .. import __version__

ERROR = {"$ref": "#/components/schemas/Error"}
WEBHOOK_BODY = {
    "type": "object",
    "description": "Webhooks: {id, type, action, data: {id}, ...}; legacy IPN: "
    "{resource, topic}. Kept as received.",
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
            {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
            for name in ("data.id", "type", "topic", "id", "source_news")
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


def _monitoring(summary: str, method: str) -> dict[str, Any]:
    statuses = (401, 404, 409, 502, 500, 503) if method == "post" else (401, 404, 503)
    return {
        method: {
            "summary": summary,
            "security": [{"bearer": []}],
            "responses": {"200": _json({"type": "object"}, "OK"), **_errors(*statuses)},
        }
    }


def document() -> dict[str, Any]:
    webhook = {"post": _webhook_operation("post"), "get": _webhook_operation("get")}
    cart_item = {
        "type": "object",
        "required": ["title", "unit_price", "currency"],
        "properties": {
            "title": {"type": "string"},
            "quantity": {"type": "integer", "minimum": 1},
            "unit_price": {"type": ["number", "string"]},
            "currency": {"type": "string"},
        },
    }
    cart = {
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {"type": "array", "items": cart_item},
            "reference": {"type": "string"},
            "expires_in": {"type": "string"},
        },
    }
    created = {
        "type": "object",
        "required": ["order_id", "preference_id"],
        "properties": {
            "order_id": {"type": "string"},
            "preference_id": {"type": "string"},
            "init_point": {"type": ["string", "null"]},
            "sandbox_init_point": {"type": ["string", "null"]},
            "amount": {"type": "string"},
            "currency": {"type": "string"},
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
            "/api/webhooks/status": _monitoring("Status document (as `status --json`)", "get"),
            "/api/webhooks/process-queue": _monitoring("One bounded processor pass", "post"),
            "/api/webhooks/reconcile": _monitoring("Run reconcile; its log row", "post"),
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
