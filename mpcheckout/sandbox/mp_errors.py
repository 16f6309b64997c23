"""Mercado Pago's error bodies: `{"message", "error", "status", "cause": [{"code", "description",
"data"}]}` (sdk-java mock payment_card_token_error.json). Messages and codes are the ones Mercado
Pago documents or was seen to send, so clients parse the sandbox's errors like the real ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Cause:
    code: int | str
    description: str
    data: Any = None


@dataclass(eq=False)  # exceptions must stay hashable
class ApiError(Exception):
    """An answer the sandbox gives as Mercado Pago would; raised anywhere, rendered by the app."""

    status: int
    error: str
    message: str
    causes: list[Cause] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "error": self.error,
            "status": self.status,
            "cause": [
                {"code": cause.code, "description": cause.description, "data": cause.data}
                for cause in self.causes
            ],
        }


def missing_token() -> ApiError:
    # Seen from the API and listed in the docs as 401 code 5 (mercadopago/sdk-php issue #118).
    text = "Must provide your access_token to proceed"
    return ApiError(401, "unauthorized", text, [Cause(5, text)])


def invalid_token() -> ApiError:
    # Seen from /v1/payments with a wrong token: status 401 but error "not_found", no cause.
    return ApiError(401, "not_found", "invalid_token")


def payment_not_found() -> ApiError:
    # Documented 404 code 2000 "Payment not found".
    return ApiError(404, "not_found", "Payment not found", [Cause(2000, "Payment not found")])


def merchant_order_not_found(order_id: object) -> ApiError:
    return ApiError(404, "not_found", f"Merchant Order {order_id} not found")


def preference_not_found() -> ApiError:
    # The preferences API names this error `invalid_id`, "preference_id not found" (docs).
    return ApiError(404, "invalid_id", "preference_id not found")


def route_not_found() -> ApiError:
    return ApiError(404, "not_found", "resource not found")


def bad_request(message: str, code: int | str = 1, data: Any = None) -> ApiError:
    """A 400 with one cause; code 1 is the API's generic "Params Error."."""
    return ApiError(400, "bad_request", message, [Cause(code, message, data)])


def invalid_json_body() -> ApiError:
    return bad_request("Invalid JSON body", data="body")


def rate_limited(retry_after: int) -> ApiError:
    # The OpenAPI spec's TooManyRequests example, with its Retry-After header.
    message = "Rate limit exceeded. Retry after the indicated number of seconds."
    return ApiError(429, "too_many_requests", message, headers={"Retry-After": str(retry_after)})


_SERVER_ERRORS = {
    500: ("internal_server_error", "Internal server error"),
    502: ("bad_gateway", "Bad gateway"),
    503: ("service_unavailable", "Service unavailable"),
    504: ("gateway_timeout", "Gateway timeout"),
}


def server_error(status: int) -> ApiError:
    error, message = _SERVER_ERRORS.get(status, ("internal_server_error", "Internal server error"))
    return ApiError(status, error, message)
