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


def refund_not_found() -> ApiError:
    # Listed in the refunds reference as 2032 "Refund-not-found" (other locales give 2032
    # another meaning; the sandbox only uses it here).
    return ApiError(404, "not_found", "Refund not found", [Cause(2032, "Refund not found")])


def chargeback_not_found(chargeback_id: object) -> ApiError:
    # Undocumented: the shape of the other "not found" answers without a cause.
    return ApiError(404, "not_found", f"Chargeback {chargeback_id} not found")


# Codes of the refunds reference (POST /v1/payments/{id}/refunds, es/pt/cl/co/pe pages).
def idempotency_key_missing() -> ApiError:
    return bad_request("Header X-Idempotency-Key can't be null", code=4292)


def idempotency_key_reused() -> ApiError:
    # The Orders API's documented answer ("already been used with a different body in the last
    # 24 hours"); what /v1/payments does is undocumented (research mp-wave2 §8.1).
    text = "The X-Idempotency-Key sent has already been used with a different request"
    code = "idempotency_key_already_used"
    return ApiError(409, code, text, [Cause(code, text)])


def invalid_payment_state(data: Any = None) -> ApiError:
    text = "The action requested is not valid for the current payment state"
    return bad_request(text, code=2063, data=data)


def refund_exceeds_balance() -> ApiError:
    # No code is documented for "more than what is left". 2063 fits best: its text in one
    # locale ends "...or the payment was fully refund", i.e. nothing (enough) is left; `data`
    # names the field so a client can tell it from a refused state.
    text = "The action requested is not valid for the current payment state"
    return ApiError(
        400,
        "bad_request",
        "The amount exceeds what is left to refund",
        [Cause(2063, text, "amount")],
    )


def capture_exceeds_authorization() -> ApiError:
    # Undocumented: capturing more than was authorized is refused like any invalid action.
    text = "The action requested is not valid for the current payment state"
    return ApiError(
        400,
        "bad_request",
        "transaction_amount exceeds the authorized amount",
        [Cause(2063, text, "transaction_amount")],
    )


def chargeback_not_allowed(reason: str) -> ApiError:
    return bad_request(reason, data="chargeback")


def payment_too_old() -> ApiError:
    return bad_request("Payment too old to be refunded", code=2024)


def amount_not_positive(name: str = "amount") -> ApiError:
    return bad_request(f"{name} attribute must be positive", code=4040, data=name)


def amount_not_numeric(name: str = "amount") -> ApiError:
    return bad_request(f"{name} attribute must be numeric", code=4041, data=name)


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
