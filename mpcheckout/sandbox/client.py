"""A client for the sandbox's control API (`/_sandbox/...`), for the demo, scripts and tests: it
changes the world Mercado Pago would change (payments, refunds made in the panel, chargebacks,
notifications, faults, time) and reads what the sandbox saw (outbox, request log)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from ..notifications import RawRequest

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _amount(value: Decimal | str | int | None) -> str | None:
    """The control API takes amounts as numeric strings: JSON has no Decimal, and a float
    would not be the amount the caller meant."""
    return None if value is None else str(value)


class SandboxControl:
    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, body: Any = None, params: Any = None) -> Any:
        response = self._http.request(method, f"/_sandbox{path}", json=body, params=params)
        response.raise_for_status()
        return response.json()

    # -- payments -----------------------------------------------------------------------------
    def create_payment(self, **fields: Any) -> dict[str, Any]:
        return self._call("POST", "/payments", fields)

    def create_authorization(self, **fields: Any) -> dict[str, Any]:
        """An authorized payment waiting for its capture (authorized/pending_capture)."""
        return self.create_payment(capture=False, **fields)

    def move_payment(self, payment_id: int, status: str, **fields: Any) -> dict[str, Any]:
        return self._call("POST", f"/payments/{payment_id}/status", {"status": status, **fields})

    def approve(self, payment_id: int, **fields: Any) -> dict[str, Any]:
        return self.move_payment(payment_id, "approved", **fields)

    def refund(
        self, payment_id: int, amount: Decimal | str | int | None = None, **fields: Any
    ) -> dict[str, Any]:
        """A refund made outside the shop (Mercado Pago's panel): no idempotency key, notified
        as `notify` says (default: to the outbox; `notify=False`: silently)."""
        body = {"amount": _amount(amount), **fields}
        return self._call("POST", f"/payments/{payment_id}/refunds", body)

    def notify_payment(self, payment_id: int, **spec: Any) -> list[dict[str, Any]]:
        return self._call("POST", f"/payments/{payment_id}/notify", spec)["deliveries"]

    def notify_merchant_order(
        self, *, payment_id: int | None = None, order_id: int | None = None, **spec: Any
    ) -> list[dict[str, Any]]:
        """A topic_merchant_order_wh notification for a merchant order, named directly or by
        one of its payments; `action="create"|"update"` (default update)."""
        if order_id is not None:
            return self._call("POST", f"/merchant_orders/{order_id}/notify", spec)["deliveries"]
        body = {"topic": "merchant_order", **spec}
        return self._call("POST", f"/payments/{payment_id}/notify", body)["deliveries"]

    # -- accounts -----------------------------------------------------------------------------
    def add_other_account(self, access_token: str, account_id: int, **fields: Any) -> None:
        """A token of another seller: it sees that seller at /users/me and 404 for every one of
        the sandbox's resources (`test_user`, `nickname`, `site_id` as /_sandbox/account)."""
        self._call(
            "POST", "/other-accounts", {"access_token": access_token, "id": account_id, **fields}
        )

    # -- chargebacks --------------------------------------------------------------------------
    def open_chargeback(self, payment_id: int, **fields: Any) -> dict[str, Any]:
        """The payment becomes charged_back/in_process; answers the chargeback (its `id` an
        18-digit string)."""
        if "amount" in fields:
            fields["amount"] = _amount(fields["amount"])
        return self._call("POST", f"/payments/{payment_id}/chargebacks", fields)

    def resolve_chargeback(self, chargeback_id: str, outcome: str, **fields: Any) -> dict[str, Any]:
        """`settled` (the shop loses) or `reimbursed` (Mercado Pago covers it)."""
        body = {"outcome": outcome, **fields}
        return self._call("POST", f"/chargebacks/{chargeback_id}/resolve", body)

    def notify_chargeback(self, chargeback_id: str, **spec: Any) -> list[dict[str, Any]]:
        return self._call("POST", f"/chargebacks/{chargeback_id}/notify", spec)["deliveries"]

    def chargebacks(self) -> list[dict[str, Any]]:
        return self._call("GET", "/chargebacks")

    # -- orders (Orders API) ------------------------------------------------------------------
    def pay_order(self, order_id: str, status: str = "processed", **fields: Any) -> dict[str, Any]:
        """The buyer pays (`processed`), fails (`failed`) or leaves it waiting
        (`action_required`); `notify=False` or a spec; `payments_api=True` links a
        Payments-API payment (default for QR and Point orders)."""
        return self._call("POST", f"/orders/{order_id}/pay", {"status": status, **fields})

    def expire_order(self, order_id: str, **fields: Any) -> dict[str, Any]:
        return self._call("POST", f"/orders/{order_id}/expire", fields)

    def notify_order(self, order_id: str, **spec: Any) -> list[dict[str, Any]]:
        return self._call("POST", f"/orders/{order_id}/notify", spec)["deliveries"]

    def orders(self) -> list[dict[str, Any]]:
        return self._call("GET", "/orders")

    # -- faults, notifications, time ----------------------------------------------------------
    def add_fault(self, **rule: Any) -> None:
        self._call("POST", "/faults", rule)

    def drop_after_write(self, endpoint: str = "refunds.create", times: int = 1) -> None:
        """The next `times` requests to `endpoint` are carried out, then their connection is
        closed without an answer: the client cannot know the write happened."""
        self.add_fault(endpoint=endpoint, drop_rate=1.0, times=times, after_write=True)

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def set_api_notify(self, spec: dict[str, Any] | bool) -> None:
        """How refunds, cancels and captures made through the API are notified: a notify spec
        (`{"url": ..., "duplicates": 1}`), True for the outbox only, False for not at all."""
        self._call("POST", "/api-notify", {"notify": spec})

    def freeze_clock(self, moment: str) -> None:
        self._call("POST", "/clock", {"now": moment})

    def advance_clock(self, seconds: float) -> None:
        self._call("POST", "/clock", {"advance_seconds": seconds})

    def reset(self) -> None:
        self._call("POST", "/reset")

    # -- what the sandbox saw -----------------------------------------------------------------
    def take_outbox(self) -> list[RawRequest]:
        """Every notification produced so far, as the requests a receiver would get; the
        outbox is emptied."""
        records = self._call("GET", "/outbox")
        self._call("DELETE", "/outbox")
        return [
            RawRequest(query=r["query"], headers=r["headers"], body=r["body"].encode())
            for r in records
        ]

    def requests(
        self, *, endpoint: str | None = None, method: str | None = None
    ) -> list[dict[str, Any]]:
        """The API requests the sandbox received, oldest first: method, path, query, headers
        (lower-cased; Authorization redacted), body, endpoint (`refunds.create`, ...), the
        status answered (None: dropped) and the fault applied."""
        params = {k: v for k, v in (("endpoint", endpoint), ("method", method)) if v}
        return self._call("GET", "/requests", params=params)["requests"]

    def write_requests(self) -> list[dict[str, Any]]:
        """The requests that could have changed something at Mercado Pago."""
        return [r for r in self.requests() if r["method"] in WRITE_METHODS]

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")
