"""Hostile input over HTTP: schemathesis generates requests from `serve`'s own /openapi.json (ones
that fit the schema and ones that break it) for every operation, monitoring included with the
right token, plus a few hand-made hostile cases per operation. No answer may be a 5xx, and every
answer must be one the document describes: its status code, its content type and its body."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from mpcheckout.config import load_settings
from mpcheckout.sandbox.server import SandboxServer
from mpcheckout.server import openapi
from mpcheckout.server.app import build_app
from mpcheckout.server.context import ServerContext
from mpcheckout.server.runner import start_in_background
from tests.reliability.conftest import scale
from tests.sandbox_support import SANDBOX_SECRET, SANDBOX_TOKEN
from tests.server.conftest import MONITOR, SECRET

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = scale(20, 500)  # per operation, and as many again for each receiver unsigned
OPERATIONS = [
    (path, method.upper()) for path, item in openapi.document()["paths"].items() for method in item
]
RECEIVERS = ("/webhooks/mercadopago", "/api/checkout/webhook")
# Receivers run twice: with a webhook secret (production) and without one, so that well-formed
# notifications also reach the store instead of stopping at the signature check.
CASES = [
    (path, method, signed)
    for path, method in OPERATIONS
    for signed in ((True, False) if path in RECEIVERS and method == "POST" else (True,))
]

ITEM = {"title": "Mate", "unit_price": "10.00", "currency": "ARS"}
DEEP = b'{"a":' * 5000 + b"1" + b"}" * 5000  # past Python's recursion limit: raw bytes


def raw(prefix: dict, key: str, value: bytes) -> bytes:
    """A JSON object with `key` set to raw JSON text no encoder would write (or could)."""
    return json.dumps(prefix).encode()[:-1] + f', "{key}": '.encode() + value + b"}"


HOSTILE_BODIES = {
    "/api/checkout/create-preference": [
        {"items": [ITEM], "expires_in": "99999999999999d"},  # past what a datetime holds
        {"items": [ITEM], "expires_in": "3000000d"},  # a timedelta, but not after now
        {"items": [ITEM], "expires_in": "1e3d"},
        {"items": [ITEM], "expires_in": 10**30},
        {"items": [ITEM], "expires_in": -60},
        {"items": [ITEM], "reference": "' OR 1=1 --"},
        {"items": [ITEM], "reference": "../../etc/passwd"},
        {"items": [ITEM], "reference": "x" * 100_000},
        {"items": [{**ITEM, "unit_price": "1e999999"}]},
        {"items": [{**ITEM, "unit_price": 10**400}]},
        {"items": [{**ITEM, "quantity": 10**400}]},
        {"items": [ITEM] * 101},
        raw({"items": [ITEM]}, "deep", DEEP),
        raw({"items": [ITEM]}, "expires_in", b"[" * 100_000),
    ],
    "webhook": [
        raw({"type": "payment", "data": {"id": "1"}}, "deep", DEEP),
        raw({"type": "payment", "data": {"id": "1"}}, "id", b"1" * 5000),
        raw({"type": "payment"}, "data", b"[" * 100_000),
        {"type": "payment\n", "data": {"id": "1"}},
        {"type": "payment", "data": {"id": "' OR 1=1 --"}},
        {"topic": "merchant_order", "resource": "https://api.mercadopago.com/merchant_orders/.."},
        {"type": "payment", "data": {"id": "1"}, "pad": "x" * (300 * 1024)},
    ],
}


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[dict[bool, tuple[str, object]]]:
    """`serve` started as tests/server/conftest.py's start_server does (monitor token, its own
    sandbox as Mercado Pago), once with a webhook secret and once without one (so that
    well-formed notifications also reach the store), for the whole module; limits high enough
    that the fuzzer reaches the handlers instead of only the rate limiter."""
    limits = {
        "create_preference": {"limit": 100_000, "window_seconds": 60},
        "bad_signature": {"limit": 100_000, "window_seconds": 60},
    }
    started, runners = {}, []
    with SandboxServer(access_token=SANDBOX_TOKEN, webhook_secret=SANDBOX_SECRET) as sandbox:
        for signed in (True, False):
            values = {
                "database.url": str(tmp_path_factory.mktemp("fuzz") / "shop.db"),
                "mercadopago.access_token": SANDBOX_TOKEN,
                "mercadopago.api_base": sandbox.url,
                "mercadopago.webhook_secrets": [SECRET] if signed else [],
                "mercadopago.max_retries": 0,
                "server.monitor_token": MONITOR,
                "server.rate_limits": limits,
                "locale": "en",
            }
            ctx = ServerContext(load_settings(environ={}, overrides=values))
            runner, url = start_in_background(ctx)
            runners.append(runner)
            started[signed] = (url, ctx)
        # one document for both: the servers differ in settings, not in what they serve
        schema = schemathesis.openapi.from_url(f"{started[True][0]}/openapi.json")
        yield {signed: (url, ctx, schema) for signed, (url, ctx) in started.items()}
        for runner in runners:
            runner.stop()


def hostile_cases(operation, path: str) -> list:
    key = "webhook" if path in RECEIVERS else path
    if operation.method.upper() != "POST":
        return []
    return [
        operation.Case(body=body, media_type="application/json")
        for body in HOSTILE_BODIES.get(key, [])
    ]


def test_the_document_describes_every_route_the_server_has(servers):
    _, ctx, _ = servers[True]
    served = {
        (route.path, method)
        for route in build_app(ctx).routes
        if not route.path.startswith("/ui")  # the status page: HTML for people (tests/browser)
        for method in route.methods
        if method != "HEAD"
    }
    assert served == set(OPERATIONS)


@pytest.mark.parametrize(
    ("path", "method", "signed"),
    CASES,
    ids=[f"{m} {p}{'' if s else ' unsigned'}" for p, m, s in CASES],
)
def test_every_operation_answers_within_its_schema(servers, path, method, signed):
    url, _, schema = servers[signed]
    operation = schema[path][method]
    auth = {"Authorization": f"Bearer {MONITOR}"}
    answered: Counter[int] = Counter()

    def check(case) -> None:
        response = case.call(base_url=url, headers=auth)
        answered[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    for case in hostile_cases(operation, path):
        check(case)

    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(
        case=st.one_of(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        )
    )
    def fuzz(case) -> None:
        check(case)

    fuzz()
    assert answered and max(answered) < 500, answered
