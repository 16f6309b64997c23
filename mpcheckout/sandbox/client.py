"""A client for the sandbox's control API (`/_sandbox/...`), for the demo and for scripts."""

from __future__ import annotations

from typing import Any

import httpx

from ..notifications import RawRequest


class SandboxControl:
    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self._http.request(method, f"/_sandbox{path}", json=body)
        response.raise_for_status()
        return response.json()

    def create_payment(self, **fields: Any) -> dict[str, Any]:
        return self._call("POST", "/payments", fields)

    def move_payment(self, payment_id: int, status: str, **fields: Any) -> dict[str, Any]:
        return self._call("POST", f"/payments/{payment_id}/status", {"status": status, **fields})

    def add_fault(self, **rule: Any) -> None:
        self._call("POST", "/faults", rule)

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def take_outbox(self) -> list[RawRequest]:
        """Every notification produced so far, as the requests a receiver would get; the
        outbox is emptied."""
        records = self._call("GET", "/outbox")
        self._call("DELETE", "/outbox")
        return [
            RawRequest(query=r["query"], headers=r["headers"], body=r["body"].encode())
            for r in records
        ]
