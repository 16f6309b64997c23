"""The project's errors: a stable code, a message key, an exit code and an HTTP status each.

Exit codes follow sysexits(3) so that cron, systemd and shell scripts can tell a bad input
from a missing service. README.md documents the table; `EXIT_CODES` is its single source.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

EXIT_OK = 0
EXIT_PROBLEMS = 1  # the job ran but something needs a person (partial reconcile, red health)
EXIT_USAGE = 64
EXIT_DATA = 65
EXIT_NO_INPUT = 66
EXIT_UNAVAILABLE = 69
EXIT_IO = 74
EXIT_TEMPORARY = 75
EXIT_NO_PERMISSION = 77
EXIT_CONFIG = 78

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success",
    EXIT_PROBLEMS: "finished, but with problems that need a person",
    EXIT_USAGE: "wrong command line usage",
    EXIT_DATA: "bad input data (some input was kept as an invalid dead letter)",
    EXIT_NO_INPUT: "an input file or a record that was asked for does not exist",
    EXIT_UNAVAILABLE: "Mercado Pago (or the sandbox) could not be reached",
    EXIT_IO: "the database could not be opened, read or written",
    EXIT_TEMPORARY: "temporary condition (a lock is held, the database is busy); try again",
    EXIT_NO_PERMISSION: "Mercado Pago refused the access token",
    EXIT_CONFIG: "configuration error",
}


class AppError(Exception):
    """Base of every error a user may see. `message_key` names a catalog entry."""

    code = "app_error"
    message_key = "error.internal"
    hint_key: str | None = None
    exit_code = EXIT_PROBLEMS
    http_status = 500

    def __init__(
        self,
        message_key: str | None = None,
        *,
        hint_key: str | None = None,
        details: dict[str, Any] | None = None,
        **params: Any,
    ) -> None:
        if message_key is not None:
            self.message_key = message_key
        if hint_key is not None:
            self.hint_key = hint_key
        self.params = params
        self.details = details or {}
        super().__init__(f"{self.code}: {self.message_key} {params}")


class UsageError(AppError):
    code = "usage_error"
    exit_code = EXIT_USAGE
    http_status = 400


class ValidationError(AppError):
    code = "validation_error"
    message_key = "error.validation"
    exit_code = EXIT_DATA
    http_status = 400


class NotFoundError(AppError):
    code = "not_found"
    message_key = "error.not_found"
    exit_code = EXIT_NO_INPUT
    http_status = 404


class AuthenticationError(AppError):
    code = "authentication_error"
    message_key = "error.authentication"
    exit_code = EXIT_NO_PERMISSION
    http_status = 401


class RateLimitError(AppError):
    code = "rate_limited"
    message_key = "error.rate_limited"
    exit_code = EXIT_TEMPORARY
    http_status = 429


class ConfigurationError(AppError):
    code = "configuration_error"
    message_key = "error.configuration"
    exit_code = EXIT_CONFIG
    http_status = 500


class StorageError(AppError):
    code = "storage_error"
    message_key = "error.storage"
    exit_code = EXIT_IO
    http_status = 503


class StorageBusyError(StorageError):
    code = "storage_busy"
    message_key = "error.storage_busy"
    exit_code = EXIT_TEMPORARY


class LockHeldError(AppError):
    code = "lock_held"
    message_key = "error.lock_held"
    exit_code = EXIT_TEMPORARY
    http_status = 409


class ExternalServiceError(AppError):
    """Mercado Pago answered with an error or not at all.

    `transient` says whether trying again later can succeed (timeouts, 5xx, 429); the retry
    policy reads it. `retry_after` is the server's `Retry-After`, in seconds, when it sent one.
    """

    code = "external_service_error"
    message_key = "error.mercadopago"
    exit_code = EXIT_UNAVAILABLE
    http_status = 502

    def __init__(
        self,
        message_key: str | None = None,
        *,
        transient: bool = True,
        status: int | None = None,
        retry_after: float | None = None,
        request_id: str | None = None,
        mp_message: str = "",
        **kwargs: Any,
    ) -> None:
        self.transient = transient
        self.status = status
        self.retry_after = retry_after
        self.request_id = request_id
        self.mp_message = mp_message
        details = {"status": status, "request_id": request_id, "mercadopago_message": mp_message}
        details = {key: value for key, value in details.items() if value not in (None, "")}
        kwargs.setdefault("detail", self.describe())
        super().__init__(message_key, details=details, **kwargs)

    def describe(self) -> str:
        """One line for the event history: what Mercado Pago said, never a credential."""
        parts = [f"HTTP {self.status}" if self.status else "no HTTP answer"]
        if self.mp_message:
            parts.append(self.mp_message)
        if self.request_id:
            parts.append(f"request id {self.request_id}")
        return "; ".join(parts)


class MercadoPagoUnavailableError(ExternalServiceError):
    code = "mercadopago_unavailable"
    message_key = "error.mercadopago_unavailable"


class MercadoPagoRateLimitedError(ExternalServiceError):
    code = "mercadopago_rate_limited"
    message_key = "error.mercadopago_rate_limited"
    exit_code = EXIT_TEMPORARY


class MercadoPagoRejectedError(ExternalServiceError):
    code = "mercadopago_rejected"
    message_key = "error.mercadopago_rejected"
    exit_code = EXIT_DATA
    http_status = 502


class MercadoPagoAuthError(ExternalServiceError):
    code = "mercadopago_auth"
    message_key = "error.mercadopago_auth"
    exit_code = EXIT_NO_PERMISSION
    http_status = 502


class MercadoPagoNotFoundError(ExternalServiceError):
    code = "mercadopago_not_found"
    message_key = "error.mercadopago_not_found"
    exit_code = EXIT_NO_INPUT
    http_status = 404


class ActionRefusedError(ValidationError):
    """A write to Mercado Pago that Mercado Pago would refuse: refused here, nothing sent."""

    code = "action_refused"


class AnswerLostError(ExternalServiceError):
    """A write was sent but its answer never came: it may have happened. The write stays open
    with its idempotency key, so the same command run again resends that key (Mercado Pago
    answers the write it already made instead of making another). `result` is what the
    re-fetched payment shows now."""

    code = "answer_lost"
    message_key = "action.answer_lost"
    hint_key = "action.answer_lost_hint"
    exit_code = EXIT_TEMPORARY

    def __init__(self, result: Any, cause: Exception | None) -> None:
        self.result = result
        status = getattr(cause, "status", None)
        message = getattr(cause, "mp_message", "") or (str(cause) if cause else "")
        super().__init__(
            status=status,
            mp_message=message[:300],
            payment_id=result.plan.payment_id,
            kind=result.plan.kind,
        )


def error_document(exc: AppError, t: Callable[..., str]) -> dict[str, Any]:
    """`{"error": {"code", "message", "hint", "details"}}` (hint and details only when there
    are some): what `--json` prints and what the server answers. `t` is a Translator."""
    from .models import to_jsonable

    body: dict[str, Any] = {"code": exc.code, "message": t(exc.message_key, **exc.params)}
    if exc.hint_key:
        body["hint"] = t(exc.hint_key, **exc.params)
    if exc.details:
        body["details"] = to_jsonable(exc.details)
    return {"error": body}


class OrderAnswerLostError(ExternalServiceError):
    """Creating an Orders-API order was sent but its answer never came: the order may exist.
    Its idempotency key is stored; the same command with the same `--reference` resends it,
    and Mercado Pago answers the order it already made instead of making a second one."""

    code = "answer_lost"
    message_key = "checkout.order_answer_lost"
    hint_key = "checkout.order_answer_lost_hint"
    exit_code = EXIT_TEMPORARY

    def __init__(self, reference: str, cause: ExternalServiceError) -> None:
        super().__init__(status=cause.status, mp_message=cause.mp_message, order_id=reference)
