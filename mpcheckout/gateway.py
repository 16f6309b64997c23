"""Mercado Pago's API: the official SDK for resources and error types, over one pooled httpx
client injected as the SDK's HTTP transport (the SDK's own `requests` stack is never used).

The base URL comes from config, so the sandbox and the real API are one setting apart: the SDK
builds `https://api.mercadopago.com/...` URLs and the transport rebases them. Idempotent calls
(GET) are retried here on 429/5xx/timeouts, honouring `Retry-After` up to a bound; what is still
failing becomes one of the project's errors, marked transient or permanent for the queue.
Safe to use from several threads at once: httpx.Client is, and the SDK resources hold no state.
"""

from __future__ import annotations

import functools
import json
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict, TypeVar

import httpx

from .clock import parse_iso, utc_iso
from .config import MercadoPagoSettings
from .errors import (
    ConfigurationError,
    ExternalServiceError,
    MercadoPagoAuthError,
    MercadoPagoNotFoundError,
    MercadoPagoRateLimitedError,
    MercadoPagoRejectedError,
    MercadoPagoUnavailableError,
)
from .models import (
    Chargeback,
    MerchantOrder,
    MpOrder,
    MpOrderPayment,
    MpOrderRefund,
    Payment,
    Preference,
    Refund,
)

R = TypeVar("R")
SDK_BASE_URL = "https://api.mercadopago.com"
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
SEARCH_PAGE_SIZE = 50  # Mercado Pago's maximum `limit` for /v1/payments/search
SEARCH_MAX_OFFSET = 10_000  # ... and its maximum `offset`: deeper pages narrow the window
ORDERS_PAGE_SIZE = 100  # the Orders search's maximum `limit` (OpenAPI; page_size in the reference)


class _NoCookies(httpx.Cookies):
    """Mercado Pago's API is token-authenticated; its cookies mean nothing to us. httpx runs
    every response through http.cookiejar, which builds urllib request objects: measured at
    over 100 us per call, more than the rest of a call to a local API. Skip it."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class ThreadClients:
    """One httpx.Client per thread, each keeping its own keep-alive connections.

    A single Client shared by the processor's fetch threads serialises them on its connection
    pool's lock: measured here at 338 requests/s with 32 threads against a local API, against
    450 with a client per thread. Threads are the processor's fetch pool, so the number of
    clients (and connections) stays bounded by `queue.concurrency`."""

    def __init__(self, settings: MercadoPagoSettings) -> None:
        self._settings = settings
        self._local = threading.local()
        self._all: list[httpx.Client] = []
        self._lock = threading.Lock()

    def get(self) -> httpx.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = _client(self._settings)
            with self._lock:
                self._all.append(client)
        return client

    def close(self) -> None:
        with self._lock:
            clients, self._all = self._all, []
        for client in clients:
            client.close()


def _client(settings: MercadoPagoSettings) -> httpx.Client:
    client = httpx.Client(
        timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
        limits=httpx.Limits(max_connections=4, max_keepalive_connections=4),
        verify=_tls_context(),
    )
    client._cookies = _NoCookies()  # see _NoCookies
    return client


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # httpx builds a TLS context per client unless given one: ~50 ms each, per thread.
    return ssl.create_default_context()


class HttpxTransport:
    """The SDK's HttpClient interface (get/post/put/delete -> request) over httpx clients.

    The SDK only accepts an instance of its own HttpClient, whose module imports `requests`
    (150 ms of start-up for every `mpcheckout` command, for a stack we never use), so the
    class the SDK sees is derived on first use: `sdk_transport`."""

    def __init__(
        self,
        clients: ThreadClients | Callable[[], httpx.Client],
        api_base: str,
        *,
        max_retries: int = 2,
        max_retry_wait: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.clients = clients
        self.api_base = api_base.rstrip("/")
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.sleep = sleep

    def request(
        self,
        method: str,
        url: str,
        maxretries: int | None = None,
        retry_on: Any = None,
        backoff_factor: Any = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        url = self.api_base + url.removeprefix(SDK_BASE_URL)
        retries = self.max_retries if method == "GET" else 0
        for attempt in range(retries + 1):
            result = self._once(method, url, kwargs)
            wait = _retry_wait(result, attempt)
            if attempt == retries or wait is None or wait > self.max_retry_wait:
                return result
            self.sleep(wait)
        return result  # pragma: no cover - the loop always returns

    def get(self, url: str, headers: Any, params: Any = None, **options: Any) -> dict[str, Any]:
        return self.request("GET", url, headers=headers, params=params, **options)

    def post(
        self, url: str, headers: Any, data: Any = None, params: Any = None, **options: Any
    ) -> dict[str, Any]:
        return self.request("POST", url, headers=headers, data=data, params=params, **options)

    def put(
        self, url: str, headers: Any, data: Any = None, params: Any = None, **options: Any
    ) -> dict[str, Any]:
        return self.request("PUT", url, headers=headers, data=data, params=params, **options)

    def delete(self, url: str, headers: Any, params: Any = None, **options: Any) -> dict[str, Any]:
        return self.request("DELETE", url, headers=headers, params=params, **options)

    def _once(self, method: str, url: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        client = self.clients.get() if isinstance(self.clients, ThreadClients) else self.clients()
        try:
            response = client.request(
                method,
                url,
                headers=kwargs.get("headers"),
                params=kwargs.get("params"),
                content=kwargs.get("data"),
            )
        except httpx.TimeoutException as exc:
            return {"status": 0, "response": None, "transport_error": f"timeout: {exc}"}
        except httpx.TransportError as exc:
            return {"status": 0, "response": None, "transport_error": f"connection: {exc}"}
        except httpx.InvalidURL:
            return {"status": 0, "response": None, "transport_error": "invalid URL"}
        result: dict[str, Any] = {
            "status": response.status_code,
            "response": None,
            "headers": response.headers,
        }
        if response.status_code != 204 and response.content:
            try:
                result["response"] = json.loads(response.content)
            except ValueError:
                result["malformed"] = True
        return result


@functools.cache
def _sdk_transport_class() -> type[HttpxTransport]:
    from mercadopago.http import HttpClient

    return type("SdkHttpxTransport", (HttpxTransport, HttpClient), {})


def sdk_transport(
    clients: ThreadClients | Callable[[], httpx.Client], api_base: str, **options: Any
) -> HttpxTransport:
    """An HttpxTransport the official SDK accepts as its http_client."""
    transport: HttpxTransport = _sdk_transport_class()(clients, api_base, **options)
    return transport


def _retry_wait(result: Mapping[str, Any], attempt: int) -> float | None:
    """Seconds to wait before trying again, or None when trying again cannot help."""
    status = result["status"]
    if status == 0 or result.get("malformed") or status in RETRYABLE_STATUSES:
        retry_after = _retry_after(result)
        return retry_after if retry_after is not None else 0.2 * 2**attempt
    return None


def _retry_after(result: Mapping[str, Any]) -> float | None:
    headers = result.get("headers") or {}
    value = headers.get("retry-after")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


# -- settlement and release reports (research mp-wave2 §4.2) ----------------------------------
REPORT_PREFIX = {
    "settlement": "/v1/account/settlement_report",
    "release": "/v1/account/release_report",
}
DOWNLOAD_CHUNK = 1 << 16
_REPORT_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


@dataclass(slots=True, frozen=True)
class ReportCreation:
    """How Mercado Pago took a report request: 202 accepted (generated later), 203 "not
    possible now: ask again" (with the wait it asked for, if any), or 200/201 done at once."""

    status: int
    retry_after: float | None
    body: Any


@dataclass(slots=True, frozen=True)
class ReportListing:
    id: str
    file_name: str | None
    begin_date: datetime | None
    end_date: datetime | None
    status: str | None  # pending | processing | processed | failed | ...; None where absent
    date_created: datetime | None


def report_date(moment: datetime) -> str:
    """The API's date form for a report range: UTC, whole seconds, `YYYY-MM-DDTHH:MM:SSZ`."""
    return utc_iso(moment)[:19] + "Z"


def _report_kind(kind: str) -> str:
    if kind not in REPORT_PREFIX:
        raise MercadoPagoRejectedError(transient=False, mp_message=f"unknown report {kind!r}")
    return REPORT_PREFIX[kind]


class _ReportCalls:
    """The report calls, mixed into MercadoPagoGateway."""

    _clients: ThreadClients | httpx.Client
    _api_base: str
    _access_token: str | None

    def request_report(self, kind: str, begin: datetime, end: datetime) -> ReportCreation:
        """POST {prefix} with the range; a 202 or 203 is an answer, not an error."""
        body = json.dumps({"begin_date": report_date(begin), "end_date": report_date(end)})
        response = self._report_call("POST", _report_kind(kind), content=body.encode())
        if response.status_code in (200, 201, 202, 203):
            return ReportCreation(
                response.status_code,
                _retry_after({"headers": response.headers}),
                _json_or_none(response),
            )
        raise _error_for(response.status_code, _as_result(response))

    def list_reports(self, kind: str) -> list[ReportListing]:
        """GET {prefix}/list: the account's report files and tasks, as Mercado Pago lists them."""
        response = self._report_call("GET", _report_kind(kind) + "/list")
        body = _checked(_as_result(response))
        items = body.get("results", []) if isinstance(body, dict) else body
        if not isinstance(items, list):
            raise _malformed("report list")
        return [_listing(item) for item in items if isinstance(item, dict)]

    def download_report(self, kind: str, file_name: str, destination: Any) -> int:
        """GET {prefix}/{file_name} into `destination` (a binary file), streamed; returns the
        bytes written. A body cut short of its Content-Length raises MercadoPagoUnavailableError
        (transient): the caller must not import what it got."""
        if not _REPORT_FILE_NAME.fullmatch(file_name) or ".." in file_name:
            raise MercadoPagoRejectedError(transient=False, mp_message="not a report file name")
        url = f"{self._api_base}{_report_kind(kind)}/{file_name}"
        written = 0
        try:
            with self._report_client().stream("GET", url, headers=self._report_headers()) as reply:
                if reply.status_code != 200:
                    reply.read()
                    raise _error_for(reply.status_code, _as_result(reply))
                expected = reply.headers.get("content-length")
                for chunk in reply.iter_bytes(DOWNLOAD_CHUNK):
                    destination.write(chunk)
                    written += len(chunk)
        except httpx.HTTPError as exc:
            raise MercadoPagoUnavailableError(mp_message=f"download cut: {exc}") from None
        if expected is not None and expected.isdigit() and int(expected) != written:
            raise MercadoPagoUnavailableError(mp_message="download cut short")
        return written

    def _report_call(self, method: str, path: str, content: bytes | None = None) -> httpx.Response:
        headers = self._report_headers()
        if content is not None:
            headers["Content-Type"] = "application/json"
        try:
            return self._report_client().request(
                method, self._api_base + path, headers=headers, content=content
            )
        except httpx.HTTPError as exc:
            raise MercadoPagoUnavailableError(mp_message=f"connection: {exc}") from None

    def _report_headers(self) -> dict[str, str]:
        if self._access_token is None:
            raise ConfigurationError("error.no_access_token", hint_key="hint.no_access_token")
        return {"Authorization": f"Bearer {self._access_token}", "Accept": "*/*"}

    def _report_client(self) -> httpx.Client:
        clients = self._clients
        return clients.get() if isinstance(clients, ThreadClients) else clients


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content) if response.content else None
    except ValueError:
        return None


def _as_result(response: httpx.Response) -> dict[str, Any]:
    result: dict[str, Any] = {"status": response.status_code, "headers": response.headers}
    result["response"] = _json_or_none(response)
    if response.content and result["response"] is None:
        result["malformed"] = True
    return result


def _listing(item: dict[str, Any]) -> ReportListing:
    file_name = item.get("file_name")
    return ReportListing(
        id=str(item.get("id", "")),
        file_name=str(file_name) if file_name else None,
        begin_date=_date(item.get("begin_date")),
        end_date=_date(item.get("end_date")),
        status=_optional_text(item.get("status")),
        date_created=_date(item.get("date_created")),
    )


@dataclass(slots=True, frozen=True)
class PreferenceRequest:
    items: list[dict[str, Any]]
    external_reference: str
    notification_url: str | None = None
    expires_at: datetime | None = None
    back_urls: dict[str, str] | None = None


class MercadoPagoGateway(_ReportCalls):
    def __init__(
        self,
        sdk: Any,
        clients: ThreadClients | httpx.Client,
        *,
        api_base: str = SDK_BASE_URL,
        access_token: str | None = None,
    ) -> None:
        self._clients = clients
        # The reports endpoints have no SDK resource (research mp-wave2 §4.2): they are called
        # over the same httpx clients with the token in the Authorization header.
        self._api_base = api_base.rstrip("/")
        self._access_token = access_token
        self._payments = sdk.payment()
        self._merchant_orders = sdk.merchant_order()
        self._preferences = sdk.preference()
        self._refunds = sdk.refund()
        self._chargebacks = sdk.chargeback()
        self._users = sdk.user()
        self._orders = sdk.order()  # the Orders API, beta in the SDK (research mp-wave2 §5.5)

    def close(self) -> None:
        self._clients.close()

    def get_payment(self, payment_id: str) -> Payment:
        return parse_payment(_checked(self._payments.get(resource_id(payment_id))))

    def get_merchant_order(self, merchant_order_id: str) -> MerchantOrder:
        order_id = resource_id(merchant_order_id)
        return parse_merchant_order(_checked(self._merchant_orders.get(order_id)))

    def get_chargeback(self, chargeback_id: str) -> Chargeback:
        return parse_chargeback(_checked(self._chargebacks.get(resource_id(chargeback_id))))

    def refund_payment(self, payment_id: str, body: dict[str, Any] | None, key: str) -> Refund:
        """POST /v1/payments/{id}/refunds: no body refunds what is left; `{"amount": n}` a
        part. `key` is sent once, as the lower-case `x-idempotency-key` (research §0.4)."""
        answer = self._refunds.create(
            resource_id(payment_id), body, request_options=_idempotent(key)
        )
        return parse_refund(_checked(answer), payment_id)

    def update_payment(self, payment_id: str, body: dict[str, Any], key: str) -> Payment:
        """PUT /v1/payments/{id}: `{"status": "cancelled"}` cancels, `{"capture": true}`
        captures (research §2)."""
        answer = self._payments.update(
            resource_id(payment_id), body, request_options=_idempotent(key)
        )
        return parse_payment(_checked(answer))

    def create_preference(self, request: PreferenceRequest) -> Preference:
        return parse_preference(_checked(self._preferences.create(_preference_body(request))))

    def search_page(self, begin: datetime, end: datetime, offset: int) -> list[Payment]:
        filters = {
            "range": "date_last_updated",
            "begin_date": utc_iso_ms(begin),
            "end_date": utc_iso_ms(end),
            "sort": "date_last_updated",
            "criteria": "asc",
            "limit": SEARCH_PAGE_SIZE,
            "offset": offset,
        }
        body = _checked(self._payments.search(filters))
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list):
            raise MercadoPagoRejectedError(transient=True, mp_message="search without results")
        return [parse_payment(item) for item in results]

    def search_payments(self, updated_from: datetime, updated_to: datetime) -> Iterator[Payment]:
        """Every payment whose date_last_updated is in [from, to], oldest first, each once
        (paged by date: `_paged_by_date`)."""
        return _paged_by_date(
            lambda start, offset: self.search_page(start, updated_to, offset),
            updated_from,
            SEARCH_PAGE_SIZE,
            lambda payment: payment.date_last_updated,
            "payments",
        )

    def get_user_me(self) -> MercadoPagoAccount:
        """The account behind the token (`GET /users/me`), with Mercado Pago's clock from the
        answer's `Date` header. Raises MercadoPagoAuthError for a refused token."""
        result = self._users.get()
        body = _checked(result)
        return parse_account(body, _http_date((result.get("headers") or {}).get("date")))

    # -- Orders API: the SDK's sdk.order() wraps every call used here ------------------------
    def get_order(self, order_id: str) -> MpOrder:
        return parse_mp_order(_orders_checked(self._orders.get(resource_id(order_id))))

    def create_order(self, body: Mapping[str, Any], idempotency_key: str) -> MpOrder:
        """POST /v1/orders (201): `body` as the API takes it, amounts as strings ("100.00")."""
        options = _idempotency_options(idempotency_key)
        result = self._orders.create(dict(body), request_options=options)
        return parse_mp_order(_orders_checked(result))

    def refund_order(
        self, order_id: str, body: Mapping[str, Any] | None, idempotency_key: str
    ) -> tuple[MpOrderRefund, ...]:
        """POST /v1/orders/{id}/refund: `body` None refunds everything (no body is sent);
        `{"transactions": [{"id": "PAY01…", "amount": "25.00"}]}` refunds part. Answers the
        refunds the call made; the order itself is worth re-fetching (`get_order`)."""
        options = _idempotency_options(idempotency_key)
        refund_body = dict(body) if body is not None else None
        result = self._orders.refund(resource_id(order_id), refund_body, request_options=options)
        return parse_order_refunds(_orders_checked(result))

    def cancel_order(self, order_id: str, idempotency_key: str) -> MpOrder:
        """POST /v1/orders/{id}/cancel: only a created or action_required order (else 409)."""
        options = _idempotency_options(idempotency_key)
        result = self._orders.cancel(resource_id(order_id), request_options=options)
        return parse_mp_order(_orders_checked(result))

    def search_orders_page(self, begin: datetime, end: datetime, offset: int) -> list[MpOrder]:
        filters = {
            "begin_date": utc_iso_ms(begin),
            "end_date": utc_iso_ms(end),
            "sort_by": "created_date",
            "sort_order": "asc",
            "limit": ORDERS_PAGE_SIZE,
            "offset": offset,
        }
        body = _orders_checked(self._orders.search(filters))
        data = body.get("data") if isinstance(body, dict) else None
        if isinstance(data, dict):  # one reference example prints a lone order as `data`
            data = [data]
        if not isinstance(data, list):
            raise MercadoPagoRejectedError(transient=True, mp_message="order search without data")
        return [parse_mp_order(item) for item in data]

    def search_orders(self, begin: datetime, end: datetime) -> Iterator[MpOrder]:
        """Every order created in [begin, end], oldest first, each once. The Orders search
        filters on the creation date (its reference: "filter orders by creation date"), so an
        order created before `begin` and changed since is not found here. Pages as
        search_payments does: the window's start moves to the last creation date seen."""
        return _paged_by_date(
            lambda start, offset: self.search_orders_page(start, end, offset),
            begin,
            ORDERS_PAGE_SIZE,
            lambda order: order.created_date,
            "orders",
        )


def _paged_by_date(
    fetch: Callable[[datetime, int], list[R]],
    start: datetime,
    page_size: int,
    date_of: Callable[[R], datetime | None],
    what: str,
) -> Iterator[R]:
    """Every item of a date-sorted search from `start` on, each once. Pages by moving the
    window's start to the last date seen instead of by offset: offset stops at 10,000, and an
    item updated during the sweep moves to the end of the order, which would make offset
    paging skip another one."""
    cursor, offset, seen_at_cursor = start, 0, set()
    while True:
        page = fetch(cursor, offset)
        yield from (item for item in page if _id_of(item) not in seen_at_cursor)
        if len(page) < page_size:
            return
        last = date_of(page[-1])
        if last is not None and last > cursor:
            cursor, offset = last, 0
            seen_at_cursor = {_id_of(item) for item in page if date_of(item) == last}
        else:  # a whole page shares one timestamp: only offset can move past it
            seen_at_cursor |= {_id_of(item) for item in page}
            offset += page_size
            if offset > SEARCH_MAX_OFFSET:
                raise MercadoPagoRejectedError(
                    transient=False, mp_message=f"over 10,000 {what} share one timestamp"
                )


def _id_of(item: Any) -> str:
    return str(item.id)


_RESOURCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,63}")


def resource_id(value: str) -> str:
    """An id safe to put in an API path. The SDK quotes ids, but leaves `.` and `..` alone and
    httpx then resolves them (`/merchant_orders/..` would GET `/` with the token): Mercado
    Pago's ids are letters, digits, `-` and `_`, so nothing else is sent."""
    if not isinstance(value, str) or not _RESOURCE_ID.fullmatch(value):
        raise MercadoPagoRejectedError(
            "error.bad_resource_id", transient=False, mp_message="not a Mercado Pago id"
        )
    return value


def utc_iso_ms(moment: datetime) -> str:
    return utc_iso(moment)[:23] + "Z"


def build_gateway(
    settings: MercadoPagoSettings, *, sleep: Callable[[float], None] = time.sleep
) -> MercadoPagoGateway:
    if settings.access_token is None:
        raise ConfigurationError("error.no_access_token", hint_key="hint.no_access_token")
    clients = ThreadClients(settings)
    transport = sdk_transport(
        clients,
        settings.api_base,
        max_retries=settings.max_retries,
        max_retry_wait=settings.max_retry_wait_seconds,
        sleep=sleep,
    )
    import mercadopago  # here, not at the top: see HttpxTransport
    from mercadopago.config import RequestOptions

    sdk = mercadopago.SDK(
        settings.access_token.get_secret_value(),
        http_client=transport,
        request_options=RequestOptions(max_retries=0),
    )
    return MercadoPagoGateway(
        sdk,
        clients,
        api_base=settings.api_base,
        access_token=settings.access_token.get_secret_value(),
    )


def _idempotent(key: str) -> Any:
    from mercadopago.config import RequestOptions

    return RequestOptions(custom_headers={"x-idempotency-key": key}, max_retries=0)


def _checked(result: Mapping[str, Any]) -> Any:
    """The response body of a successful call; otherwise the matching project error."""
    status = result["status"]
    if "transport_error" in result:
        raise MercadoPagoUnavailableError(mp_message=result["transport_error"])
    if result.get("malformed"):
        raise MercadoPagoUnavailableError(status=status, mp_message="malformed JSON in response")
    if 200 <= status < 300:
        return result["response"]
    raise _error_for(status, result)


class _ErrorDetails(TypedDict):
    status: int
    request_id: str | None
    mp_message: str


def _error_for(status: int, result: Mapping[str, Any]) -> ExternalServiceError:
    response = result.get("response")
    body: dict[str, Any] = response if isinstance(response, dict) else {}
    headers = result.get("headers") or {}
    details: _ErrorDetails = {
        "status": status,
        "request_id": headers.get("x-request-id"),
        "mp_message": str(body.get("message") or body.get("error") or "")[:300],
    }
    if status == 429:
        return MercadoPagoRateLimitedError(retry_after=_retry_after(result), **details)
    if status >= 500 or status in (408, 423, 424):
        return MercadoPagoUnavailableError(**details)
    if status in (401, 403):
        return MercadoPagoAuthError(transient=False, **details)
    if status == 404:
        return MercadoPagoNotFoundError(transient=False, **details)
    return MercadoPagoRejectedError(transient=False, **details)


def _malformed(what: str) -> MercadoPagoRejectedError:
    return MercadoPagoRejectedError(transient=False, mp_message=f"malformed resource: {what}")


def _amount(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise _malformed("transaction_amount is not a number") from None


def _date(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return parse_iso(str(value))
    except ValueError:
        raise _malformed(f"bad date {value!r}") from None


def _id(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str) or str(value) == "":
        raise _malformed(f"{what} has no id")
    return str(value)


def parse_payment(data: Any) -> Payment:
    if not isinstance(data, dict) or not isinstance(data.get("status"), str):
        raise _malformed("payment without a status")
    reference = data.get("external_reference")
    return Payment(
        id=_id(data.get("id"), "payment"),
        status=data["status"],
        status_detail=data.get("status_detail"),
        external_reference=str(reference) if reference not in (None, "") else None,
        amount=_amount(data.get("transaction_amount")),
        currency=data.get("currency_id"),
        date_last_updated=_date(data.get("date_last_updated")),
        date_approved=_date(data.get("date_approved")),
        raw=data,
        refunded_amount=_amount(data.get("transaction_amount_refunded")),
        refunds=_refunds(data.get("refunds"), str(data.get("id"))),
    )


def _refunds(value: Any, payment_id: str) -> tuple[Refund, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(parse_refund(item, payment_id) for item in value)


def parse_refund(data: Any, payment_id: str) -> Refund:
    if not isinstance(data, dict):
        raise _malformed("refund")
    amount = _amount(data.get("amount"))
    if amount is None:
        raise _malformed("refund without an amount")
    source = data.get("source")
    return Refund(
        id=_id(data.get("id"), "refund"),
        payment_id=str(data.get("payment_id") or payment_id),
        amount=amount,
        status=str(data.get("status") or "approved"),
        source_type=source.get("type") if isinstance(source, dict) else None,
        date_created=_date(data.get("date_created")),
        raw=data,
    )


def parse_chargeback(data: Any) -> Chargeback:
    """Mercado Pago's documented shape; the older reference sample sends `"108.43"` and
    `"true"` as strings, and the SDKs' own mocks (`payment_id`, `status`) are wrong."""
    if not isinstance(data, dict):
        raise _malformed("chargeback")
    listed = data.get("payments")
    payments: list[Any] = listed if isinstance(listed, list) else []
    if not payments and data.get("payment_id") is not None:
        payments = [data["payment_id"]]
    return Chargeback(
        id=_id(data.get("id"), "chargeback"),
        payment_ids=tuple(_id(item, "payment") for item in payments),
        amount=_amount(data.get("amount")),
        currency=data.get("currency") or data.get("currency_id"),
        coverage_applied=_flag(data.get("coverage_applied")),
        coverage_eligible=_flag(data.get("coverage_elegible", data.get("coverage_eligible"))),
        documentation_required=bool(_flag(data.get("documentation_required"))),
        documentation_status=data.get("documentation_status"),
        documentation_deadline=_date(data.get("date_documentation_deadline")),
        date_created=_date(data.get("date_created")),
        date_last_updated=_date(data.get("date_last_updated")),
        live_mode=_flag(data.get("live_mode")),
        raw=data,
    )


def _flag(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _malformed(f"not a boolean: {value!r}")


def parse_merchant_order(data: Any) -> MerchantOrder:
    if not isinstance(data, dict) or not isinstance(data.get("payments", []), list):
        raise _malformed("merchant order")
    payments = data.get("payments") or []
    reference = data.get("external_reference")
    return MerchantOrder(
        id=_id(data.get("id"), "merchant order"),
        status=data.get("status"),
        external_reference=str(reference) if reference not in (None, "") else None,
        preference_id=data.get("preference_id"),
        payment_ids=tuple(
            _id(p.get("id") if isinstance(p, dict) else None, "payment") for p in payments
        ),
        raw=data,
    )


def parse_preference(data: Any) -> Preference:
    if not isinstance(data, dict):
        raise _malformed("preference")
    return Preference(
        id=_id(data.get("id"), "preference"),
        init_point=data.get("init_point"),
        sandbox_init_point=data.get("sandbox_init_point"),
        external_reference=data.get("external_reference"),
        raw=data,
    )


def _preference_body(request: PreferenceRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "items": request.items,
        "external_reference": request.external_reference,
    }
    if request.notification_url:
        body["notification_url"] = request.notification_url
    if request.back_urls:
        body["back_urls"] = request.back_urls
    if request.expires_at:
        body["expires"] = True
        body["expiration_date_to"] = utc_iso_ms(request.expires_at)
    return body


@dataclass(slots=True, frozen=True)
class MercadoPagoAccount:
    """Who a token belongs to. `test_user` comes from the `test_user` tag Mercado Pago puts on
    test accounts; `test_user_evidence` says what it was read from (never the token: since
    test users hold `APP_USR-` tokens too, the prefix proves nothing)."""

    id: str
    nickname: str | None
    site_id: str | None
    country_id: str | None
    test_user: bool
    test_user_evidence: str
    server_date: datetime | None  # Mercado Pago's clock when it answered (Date header)


def parse_account(data: Any, server_date: datetime | None = None) -> MercadoPagoAccount:
    if not isinstance(data, dict):
        raise _malformed("user")
    raw_tags, raw_email = data.get("tags"), data.get("email")
    tags: list[Any] = raw_tags if isinstance(raw_tags, list) else []
    email: str = raw_email if isinstance(raw_email, str) else ""
    if "test_user" in tags:
        test_user, evidence = True, "tags: test_user"
    elif email.lower().endswith("@testuser.com"):
        test_user, evidence = True, "email: @testuser.com"
    else:
        test_user, evidence = False, "tags: " + (",".join(str(tag) for tag in tags) or "-")
    return MercadoPagoAccount(
        id=_id(data.get("id"), "user"),
        nickname=_optional_text(data.get("nickname")),
        site_id=_optional_text(data.get("site_id")),
        country_id=_optional_text(data.get("country_id")),
        test_user=test_user,
        test_user_evidence=evidence,
        server_date=server_date,
    )


def _optional_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _http_date(value: str | None) -> datetime | None:
    from email.utils import parsedate_to_datetime

    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else None


# -- Orders API -----------------------------------------------------------------------------------
# Research mp-wave2 §5: amounts are strings, ids `ORD…`/`PAY01…`/`REF01…`, errors a list
# `{"errors": [{"code", "message", "details"}]}` named by string codes.
_PAYMENTS_API_ID = re.compile(r"\d{1,20}")


def _idempotency_options(key: str) -> Any:
    """Per-call SDK options that send `key` once, as lower-case `x-idempotency-key`: the SDK
    sets its own random key under that name, and a custom header spelled otherwise would be
    sent beside it (research mp-wave2 §0.3-0.4)."""
    from mercadopago.config import RequestOptions

    try:
        return RequestOptions(custom_headers={"x-idempotency-key": key}, max_retries=0)
    except ValueError:  # the SDK takes 1-64 characters
        raise MercadoPagoRejectedError(
            transient=False, mp_message="idempotency key must be 1-64 characters"
        ) from None


def _orders_checked(result: Mapping[str, Any]) -> Any:
    """`_checked`, reading the Orders API's error list into the one message the project's
    errors carry: `code: message` of the first error (e.g. `idempotency_key_already_used:
    ...`), so the code reaches the event history and the CLI."""
    response = result.get("response")
    body: dict[str, Any] = response if isinstance(response, dict) else {}
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        text = ": ".join(str(first[k]) for k in ("code", "message") if first.get(k))
        result = {**result, "response": {**body, "message": text}}
    return _checked(result)


def orders_error_code(exc: ExternalServiceError) -> str | None:
    """The Orders API's error code in an error from these calls (`cannot_cancel_order`...)."""
    code, sep, _ = exc.mp_message.partition(": ")
    return code if sep and re.fullmatch(r"[a-z_]+", code) else None


def _order_amount(value: Any, what: str) -> Decimal:
    """An Orders amount: a string such as "100.00", read exactly."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _malformed(f"{what} is not an amount")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise _malformed(f"{what} is not an amount") from None
    if not amount.is_finite():
        raise _malformed(f"{what} is not an amount")
    return amount


def _optional_order_amount(value: Any, what: str) -> Decimal | None:
    return None if value in (None, "") else _order_amount(value, what)


def _version(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise _malformed("order version is not a whole number")
    return int(value)


def parse_mp_order(data: Any) -> MpOrder:
    if not isinstance(data, dict) or not isinstance(data.get("status"), str):
        raise _malformed("order without a status")
    transactions = data.get("transactions") or {}
    if not isinstance(transactions, dict):
        raise _malformed("order transactions")
    reference = data.get("external_reference")
    return MpOrder(
        id=_id(data.get("id"), "order"),
        status=data["status"],
        status_detail=_optional_text(data.get("status_detail")),
        external_reference=str(reference) if reference not in (None, "") else None,
        total_amount=_order_amount(data.get("total_amount"), "total_amount"),
        total_paid_amount=_optional_order_amount(data.get("total_paid_amount"), "total_paid"),
        currency=_optional_text(data.get("currency")),
        type=_optional_text(data.get("type")) or "online",
        version=_version(data.get("version")),
        last_updated_date=_date(data.get("last_updated_date")),
        created_date=_date(data.get("created_date")),
        transactions=tuple(_order_payment(p) for p in _list(transactions.get("payments"))),
        refunds=tuple(_order_refund(r) for r in _list(transactions.get("refunds"))),
        raw=data,
    )


def parse_order_refunds(data: Any) -> tuple[MpOrderRefund, ...]:
    """The refunds a refund call answers (`{id, status, status_detail, transactions:
    {refunds: [...]}}`)."""
    transactions = data.get("transactions") if isinstance(data, dict) else None
    if not isinstance(transactions, dict):
        raise _malformed("refund answer without transactions")
    return tuple(_order_refund(r) for r in _list(transactions.get("refunds")))


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _malformed("order transactions are not a list")
    return value


def _order_payment(data: Any) -> MpOrderPayment:
    if not isinstance(data, dict):
        raise _malformed("order payment")
    return MpOrderPayment(
        id=_id(data.get("id"), "order payment"),
        amount=_order_amount(data.get("amount"), "payment amount"),
        paid_amount=_optional_order_amount(data.get("paid_amount"), "paid_amount"),
        status=_optional_text(data.get("status")),
        status_detail=_optional_text(data.get("status_detail")),
        reference_id=_payments_api_id(data),
    )


def _payments_api_id(data: dict[str, Any]) -> str | None:
    """The Payments-API payment behind a transaction: `reference.id` in QR notifications; a
    bare `reference_id` counts only when it is a payment id (digits): the online reference
    examples put a ULID there, which names nothing in the Payments API."""
    reference = data.get("reference")
    candidate = reference.get("id") if isinstance(reference, dict) else data.get("reference_id")
    text = str(candidate) if isinstance(candidate, int | str) else ""
    return text if _PAYMENTS_API_ID.fullmatch(text) else None


def _order_refund(data: Any) -> MpOrderRefund:
    if not isinstance(data, dict):
        raise _malformed("order refund")
    reference = data.get("reference_id")
    return MpOrderRefund(
        id=_id(data.get("id"), "order refund"),
        transaction_id=_optional_text(data.get("transaction_id")),
        amount=_order_amount(data.get("amount"), "refund amount"),
        status=_optional_text(data.get("status")),
        reference_id=str(reference) if isinstance(reference, int | str) and reference else None,
    )
