"""Every API request the sandbox received, as it arrived, so that a test can assert what reached
"Mercado Pago": that a refused command made no write call, that a retried refund carried the
same idempotency key once per request. Control calls (/_sandbox/...) are not API requests and
are not logged.

The Authorization header is kept only as its scheme: the log is served by the control API and
must never show a token. Bounded: a benchmark's half a million searches keep the newest
MAX_RECORDS, and `dropped` says how many went.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MAX_RECORDS = 50_000
REDACTED_HEADERS = frozenset({"authorization"})


@dataclass(slots=True)
class RequestRecord:
    seq: int
    method: str
    path: str
    query: str
    headers: dict[str, str]
    received_at: datetime
    endpoint: str | None
    body: str = ""
    status: int | None = None  # None: no HTTP answer was sent (a dropped connection)
    fault: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body,
            "endpoint": self.endpoint,
            "status": self.status,
            "fault": self.fault,
            "received_at": self.received_at.isoformat(timespec="milliseconds"),
        }


def header_map(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Lower-cased names; a repeated header's values joined with ", " as HTTP reads them, so a
    request that carries a header twice shows it."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in raw:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name in REDACTED_HEADERS:
            value = value.partition(" ")[0] + " [redacted]"
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


class RequestLog:
    def __init__(self, limit: int = MAX_RECORDS) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=limit)
        self._next_seq = 1
        self.dropped = 0

    def open(
        self,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        now: datetime,
        endpoint: str | None,
    ) -> RequestRecord:
        record = RequestRecord(self._next_seq, method, path, query, headers, now, endpoint)
        self._next_seq += 1
        if len(self._records) == self._records.maxlen:
            self.dropped += 1
        self._records.append(record)
        return record

    def records(self) -> list[RequestRecord]:
        return list(self._records)

    def clear(self) -> None:
        self._records.clear()
        self.dropped = 0
