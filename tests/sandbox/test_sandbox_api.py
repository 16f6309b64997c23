"""The sandbox over real HTTP on 127.0.0.1: Mercado Pago's endpoints against the real payloads in
the shared fixtures, the control API, faults, and signed notifications checked with the official
SDK's validator. Time moves through the sandbox clock, never by sleeping."""

from __future__ import annotations

import json
import re
import socket
import time

import httpx
import pytest
from mercadopago.webhook import WebhookSignatureValidator

from mpcheckout.notifications import RawRequest, parse_notification
from mpcheckout.sandbox.server import SandboxServer
from tests.mp_fixtures import fixture_json, fixture_path
from tests.sandbox_support import (  # noqa: F401
    SANDBOX_SECRET,
    SANDBOX_TOKEN,
    api_client,
    sandbox,
    webhook_receiver,
)

MP_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}-04:00$")
ERROR_KEYS = {"message", "error", "status", "cause"}


@pytest.fixture
def api(sandbox):  # noqa: F811
    with api_client(sandbox) as client:
        yield client


def create_payment(api, **fields):
    answer = api.post("/_sandbox/payments", json={"notify": False, **fields})
    assert answer.status_code == 201, answer.text
    return answer.json()


def create_preference(api, **fields):
    body = {"items": [{"title": "Plan", "quantity": 2, "unit_price": 50.25}], **fields}
    answer = api.post("/checkout/preferences", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def freeze(api, moment):
    assert api.post("/_sandbox/clock", json={"now": moment}).status_code == 200


def same_json_kind(ours, theirs):
    kinds = (bool, (int, float), str, dict, list)
    return any(isinstance(ours, k) and isinstance(theirs, k) for k in kinds)


# --- GET /v1/payments/{id} -------------------------------------------------------------------


def test_a_payment_has_every_key_and_type_of_the_real_ones(api):
    payment = api.get(f"/v1/payments/{create_payment(api, external_reference='o-1')['id']}")
    assert payment.status_code == 200 and payment.headers["x-request-id"]
    body = payment.json()
    for name in (
        "github-mercadopago-sdk-java_mocks_response_payment_base.json",
        "github-mercadopago-openapi_fixtures3_payment.json",
    ):
        real = fixture_json(name)
        assert set(real) <= set(body), name
        for key, value in real.items():
            if value not in (None, "") and body[key] not in (None, {}):
                assert same_json_kind(body[key], value), key


def test_a_payment_carries_ids_amounts_and_dates_as_mercado_pago_writes_them(api):
    freeze(api, "2026-11-28T14:30:02Z")
    body = create_payment(api, external_reference="o-2", transaction_amount="100.50")
    assert body["id"] > 2**31 and body["id"] == 1_320_000_000_001
    assert body["transaction_amount"] == 100.5 and isinstance(body["transaction_amount"], float)
    assert body["date_approved"] == body["date_last_updated"] == "2026-11-28T10:30:02.000-04:00"
    assert all(MP_DATE.match(body[key]) for key in ("date_created", "date_last_updated"))
    assert (body["status"], body["status_detail"], body["live_mode"]) == (
        "approved",
        "accredited",
        False,
    )
    assert body["order"] == {"id": body["order"]["id"], "type": "mercadopago"}
    assert body["currency_id"] == "ARS" and body["external_reference"] == "o-2"


def test_an_unknown_payment_is_a_404_with_mercado_pagos_error_body(api):
    answer = api.get("/v1/payments/999")
    assert answer.status_code == 404 and answer.headers["x-request-id"]
    assert set(answer.json()) == ERROR_KEYS
    assert answer.json()["cause"][0]["code"] == 2000
    assert api.get("/v1/payments/not-a-number").status_code == 404


@pytest.mark.parametrize("token", ["wrong-token", None])
def test_any_other_token_is_refused_with_a_401(sandbox, token):  # noqa: F811
    with api_client(sandbox, token=token) as client:
        for path in ("/v1/payments/1", "/v1/payments/search", "/merchant_orders/1"):
            answer = client.get(path)
            assert answer.status_code == 401 and answer.headers["x-request-id"]
            assert set(answer.json()) == ERROR_KEYS and answer.json()["status"] == 401
        assert client.post("/checkout/preferences", json={}).status_code == 401


def test_unknown_routes_answer_in_the_error_shape_too(api):
    answer = api.get("/v1/unknown")
    assert answer.status_code == 404 and set(answer.json()) == ERROR_KEYS


# --- preferences -----------------------------------------------------------------------------


def test_a_preference_echoes_the_request_in_the_real_shape(api):
    preference = create_preference(
        api,
        external_reference="order-7",
        notification_url="https://shop.example/webhooks",
        back_urls={"success": "https://shop.example/ok"},
        auto_return="approved",
    )
    assert set(fixture_json("github-mercadopago-sdk-java_mocks_response_preference_base.json")) <= (
        set(preference)
    )
    assert re.fullmatch(
        r"\d+-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", preference["id"]
    )
    assert preference["init_point"].endswith(f"/checkout/v1/redirect?pref_id={preference['id']}")
    assert preference["sandbox_init_point"] == (
        f"{api.base_url}/_sandbox/preferences/{preference['id']}/checkout"
    )
    item = preference["items"][0]
    assert (item["title"], item["quantity"], item["unit_price"]) == ("Plan", 2, 50.25)
    assert preference["back_urls"]["success"] == "https://shop.example/ok"
    assert (preference["external_reference"], preference["auto_return"]) == ("order-7", "approved")
    assert MP_DATE.match(preference["date_created"])
    assert api.get(f"/checkout/preferences/{preference['id']}").json() == preference


def test_an_unknown_preference_is_a_404(api):
    answer = api.get("/checkout/preferences/123-nope")
    assert answer.status_code == 404 and set(answer.json()) == ERROR_KEYS


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "items"),
        ({"items": []}, "items"),
        ({"items": [{"quantity": 1, "unit_price": 10}]}, "items[0].title"),
        ({"items": [{"title": " ", "quantity": 1, "unit_price": 10}]}, "items[0].title"),
        ({"items": [{"title": "x", "quantity": 0, "unit_price": 10}]}, "items[0].quantity"),
        ({"items": [{"title": "x", "quantity": 1.5, "unit_price": 10}]}, "items[0].quantity"),
        ({"items": [{"title": "x", "quantity": 1, "unit_price": -1}]}, "items[0].unit_price"),
        ({"items": [{"title": "x", "quantity": 1, "unit_price": "10"}]}, "items[0].unit_price"),
        (
            {"items": [{"title": "x", "quantity": 1, "unit_price": 1, "currency_id": 5}]},
            "items[0].currency_id",
        ),
        ({"items": ["x"]}, "items[0]"),
    ],
)
def test_invalid_preferences_are_400s_naming_each_problem(api, body, field):
    answer = api.post("/checkout/preferences", json=body)
    assert answer.status_code == 400
    error = answer.json()
    assert set(error) == ERROR_KEYS and error["error"] == "invalid_items"
    assert field in [cause["data"] for cause in error["cause"]]
    assert error["message"] == error["cause"][0]["description"]


def test_a_body_that_is_not_json_is_a_400(api):
    answer = api.post("/checkout/preferences", content=b"{not json")
    assert answer.status_code == 400 and set(answer.json()) == ERROR_KEYS


# --- merchant orders -------------------------------------------------------------------------


def test_a_merchant_order_opens_with_the_first_payment_and_lists_them_all(api):
    preference = create_preference(api, external_reference="order-9")
    first = create_payment(api, preference_id=preference["id"], status="rejected")
    order = api.get(f"/merchant_orders/{first['order']['id']}").json()
    real = fixture_json("github-mercadopago-sdk-java_mocks_response_merchant_order_base.json")
    assert set(real) <= set(order)
    assert (order["status"], order["order_status"], order["paid_amount"]) == (
        "opened",
        "payment_required",
        0,
    )
    second = create_payment(api, preference_id=preference["id"])
    assert second["order"]["id"] == first["order"]["id"] and second["transaction_amount"] == 100.5
    order = api.get(f"/merchant_orders/{first['order']['id']}").json()
    assert [p["id"] for p in order["payments"]] == [first["id"], second["id"]]
    assert (order["status"], order["order_status"]) == ("closed", "paid")
    assert (order["total_amount"], order["paid_amount"], order["preference_id"]) == (
        100.5,
        100.5,
        preference["id"],
    )
    entry_keys = {"id", "transaction_amount", "total_paid_amount", "currency_id", "status"}
    assert entry_keys | {"status_detail", "date_approved", "last_modified"} <= set(
        order["payments"][1]
    )


def test_without_a_preference_payments_group_by_external_reference(api):
    first = create_payment(api, external_reference="ref-a")
    again = create_payment(api, external_reference="ref-a", status="refunded")
    other = create_payment(api, external_reference="ref-b")
    assert first["order"]["id"] == again["order"]["id"] != other["order"]["id"]
    order = api.get(f"/merchant_orders/{first['order']['id']}").json()
    assert (order["preference_id"], order["external_reference"]) == (None, "ref-a")
    assert order["refunded_amount"] == 100 and len(order["payments"]) == 2
    assert api.get("/merchant_orders/1").status_code == 404


# --- search ----------------------------------------------------------------------------------


@pytest.fixture
def three_payments(api):
    freeze(api, "2026-03-01T12:00:00Z")
    a = create_payment(api, external_reference="s-a", date_last_updated="2026-03-01T09:00:00Z")
    b = create_payment(api, external_reference="s-b", status="pending")
    c = create_payment(api, external_reference="s-c", date_last_updated="2026-03-01T11:30:00Z")
    return a, b, c


def search(api, **params):
    answer = api.get("/v1/payments/search", params=params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return body, [payment["id"] for payment in body["results"]]


def test_search_answers_paging_and_results_like_the_real_one(api, three_payments):
    body, _ = search(api)
    real = fixture_json("github-mercadopago-sdk-java_mocks_response_payment_search.json")
    assert set(body) == set(real) and set(body["paging"]) == set(real["paging"])
    assert body["paging"] == {"total": 3, "limit": 30, "offset": 0}
    assert set(real["results"][0]) <= set(body["results"][0])


def test_search_sorts_by_each_date_both_ways(api, three_payments):
    a, b, c = (payment["id"] for payment in three_payments)
    assert search(api, sort="date_last_updated", criteria="asc")[1] == [a, c, b]
    assert search(api, sort="date_last_updated", criteria="desc")[1] == [b, c, a]
    assert search(api, sort="date_created", criteria="asc")[1] == [a, c, b]
    assert search(api, sort="date_approved", criteria="asc")[1] == [b, a, c]
    assert search(api, sort="id", criteria="desc")[1] == [c, b, a]


def test_search_filters_by_range_reference_and_status(api, three_payments):
    a, b, c = (payment["id"] for payment in three_payments)
    window = {"range": "date_last_updated", "sort": "date_last_updated", "criteria": "asc"}
    iso = search(
        api,
        **window,
        begin_date="2026-03-01T07:00:00.000-04:00",
        end_date="2026-03-01T08:00:00.000-04:00",
    )[1]
    assert iso == [c, b]
    assert search(api, **window, begin_date="NOW-2HOURS", end_date="NOW")[1] == [c, b]
    assert search(api, **window, begin_date="NOW-30MINUTES")[1] == [c, b]
    assert search(api, **window, end_date="NOW-7DAYS")[1] == []
    assert search(api, range="date_approved", begin_date="NOW-1HOURS")[1] == [c]
    assert search(api, external_reference="s-b")[1] == [b]
    assert search(api, status="approved", sort="id", criteria="asc")[1] == [a, c]


def test_search_pages_with_limit_and_offset(api, three_payments):
    _, b, c = (payment["id"] for payment in three_payments)
    body, ids = search(api, sort="id", criteria="asc", limit=2, offset=1)
    assert ids == [b, c] and body["paging"] == {"total": 3, "limit": 2, "offset": 1}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"limit": 51}, 1000),
        ({"offset": 10001}, 1000),
        ({"limit": "x"}, 1),
        ({"sort": "amount"}, 1003),
        ({"criteria": "up"}, 1004),
        ({"range": "nope"}, 1),
        ({"begin_date": "yesterday"}, 1001),
        ({"end_date": "NOW-2FORTNIGHTS"}, 1001),
    ],
)
def test_search_refuses_what_mercado_pago_refuses(api, params, code):
    answer = api.get("/v1/payments/search", params=params)
    assert answer.status_code == 400
    assert set(answer.json()) == ERROR_KEYS and answer.json()["cause"][0]["code"] == code


def test_bulk_creates_12000_payments_fast_for_deep_paging(api):
    started = time.perf_counter()
    created = api.post(
        "/_sandbox/payments/bulk",
        json={
            "count": 12_000,
            "status": "approved",
            "external_reference_prefix": "bulk-",
            "transaction_amount": "25.5",
            "currency_id": "BRL",
            "start": "2026-01-01T00:00:00Z",
            "step_seconds": 0.5,
        },
    )
    assert time.perf_counter() - started < 2.0
    assert created.status_code == 201
    answer = created.json()
    assert answer["created"] == 12_000 and answer["last_id"] - answer["first_id"] == 11_999
    body, _ = search(api, sort="date_last_updated", criteria="asc", limit=50, offset=10_000)
    assert body["paging"]["total"] == 12_000 and len(body["results"]) == 50
    first = body["results"][0]
    assert first["date_last_updated"] == "2025-12-31T21:23:20.000-04:00"  # start + 10000 * 0.5
    assert (first["external_reference"], first["transaction_amount"]) == ("bulk-10000", 25.5)


# --- control API -----------------------------------------------------------------------------


def test_status_moves_update_dates_from_the_sandbox_clock(api):
    freeze(api, "2026-05-01T10:00:00Z")
    payment = create_payment(api, external_reference="m-1", status="pending")
    assert payment["date_approved"] is None
    api.post("/_sandbox/clock", json={"advance_seconds": 90})
    moved = api.post(f"/_sandbox/payments/{payment['id']}/status", json={"status": "approved"})
    assert moved.json()["date_approved"] == moved.json()["date_last_updated"]
    assert moved.json()["date_last_updated"] == "2026-05-01T06:01:30.000-04:00"
    refunded = api.post(
        f"/_sandbox/payments/{payment['id']}/status",
        json={"status": "refunded", "date_last_updated": "2026-05-02T00:00:00Z"},
    ).json()
    assert (refunded["status"], refunded["status_detail"]) == ("refunded", "refunded")
    assert refunded["date_approved"] == moved.json()["date_approved"]
    assert refunded["transaction_amount_refunded"] == 100 and len(refunded["refunds"]) == 1
    assert api.get(f"/v1/payments/{payment['id']}").json() == refunded


def test_control_inputs_are_checked(api):
    assert api.post("/_sandbox/payments", json={"status": "approved"}).status_code == 400
    bad_status = {"external_reference": "x", "status": "paid"}
    assert api.post("/_sandbox/payments", json=bad_status).status_code == 400
    unknown_preference = {"preference_id": "1-nope"}
    assert api.post("/_sandbox/payments", json=unknown_preference).status_code == 404
    assert api.post("/_sandbox/payments/1/status", json={"status": "approved"}).status_code == 404
    assert api.post("/_sandbox/clock", json={"now": "soon"}).status_code == 400


def test_the_clock_freezes_advances_and_returns_to_real_time(api):
    frozen = api.post("/_sandbox/clock", json={"now": "2026-02-03T04:05:06Z"}).json()
    assert frozen == {"now": "2026-02-03T04:05:06.000Z", "frozen": True}
    moved = api.post("/_sandbox/clock", json={"advance_seconds": 3600}).json()
    assert moved["now"] == "2026-02-03T05:05:06.000Z"
    assert api.post("/_sandbox/clock", json={"real": True}).json()["frozen"] is False


def test_listing_and_reset(api):
    create_payment(api, external_reference="r-1")
    api.post("/_sandbox/faults", json={"error_rate": 1.0})
    listed = api.get("/_sandbox/payments")
    assert listed.headers["x-request-id"]
    assert [p["external_reference"] for p in listed.json()] == ["r-1"]
    assert api.post("/_sandbox/reset").json() == {"reset": True}
    assert api.get("/_sandbox/payments").json() == []
    assert api.get("/_sandbox/faults").json() == {"faults": []}
    assert create_payment(api, external_reference="r-2")["id"] == 1_320_000_000_001


def test_a_seed_file_loads_preferences_then_payments(tmp_path):
    seed = tmp_path / "seed.json"
    preference = {
        "id": "724484980-seeded",
        "external_reference": "seeded-1",
        "items": [{"title": "Seeded", "quantity": 1, "unit_price": 42}],
    }
    payment = {"id": 1_400_000_000_000, "preference_id": "724484980-seeded", "status": "pending"}
    seed.write_text(json.dumps({"preferences": [preference], "payments": [payment]}))
    with (
        SandboxServer(access_token=SANDBOX_TOKEN, seed_file=seed) as server,
        api_client(server) as client,
    ):
        body = client.get("/v1/payments/1400000000000").json()
        assert (body["external_reference"], body["transaction_amount"]) == ("seeded-1", 42)
        assert client.get("/checkout/preferences/724484980-seeded").status_code == 200
        assert client.get("/_sandbox/outbox").json() == []


# --- faults ----------------------------------------------------------------------------------


def add_fault(api, **rule):
    answer = api.post("/_sandbox/faults", json=rule)
    assert answer.status_code == 200, answer.text


def test_latency_delays_only_the_faulted_endpoint(api):
    payment = create_payment(api, external_reference="f-1")
    add_fault(api, endpoint="payments.get", latency_ms=150)
    started = time.perf_counter()
    assert api.get(f"/v1/payments/{payment['id']}").status_code == 200
    assert time.perf_counter() - started >= 0.15
    started = time.perf_counter()
    assert api.get("/v1/payments/search").status_code == 200
    assert time.perf_counter() - started < 0.15


def test_server_errors_use_the_listed_statuses_and_the_error_shape(api):
    add_fault(api, endpoint="payments.search", error_rate=1.0, error_statuses=[502])
    answer = api.get("/v1/payments/search")
    assert answer.status_code == 502 and set(answer.json()) == ERROR_KEYS
    assert answer.headers["x-request-id"]


def test_rate_limits_come_with_retry_after(api):
    add_fault(api, endpoint="*", rate_limit_rate=1.0, retry_after=7)
    answer = api.get("/merchant_orders/1")
    assert answer.status_code == 429 and answer.headers["retry-after"] == "7"
    assert answer.json()["error"] == "too_many_requests"


def test_a_timeout_hangs_past_the_clients_timeout(api):
    payment = create_payment(api, external_reference="f-2")
    add_fault(api, endpoint="payments.get", timeout_rate=1.0, hang_seconds=10, times=1)
    started = time.perf_counter()
    with pytest.raises(httpx.ReadTimeout):
        api.get(f"/v1/payments/{payment['id']}", timeout=0.2)
    assert time.perf_counter() - started < 2
    assert api.get(f"/v1/payments/{payment['id']}").status_code == 200


def test_a_dropped_connection_gets_no_http_answer(api):
    add_fault(api, endpoint="payments.search", drop_rate=1.0, times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        api.get("/v1/payments/search")
    assert api.get("/v1/payments/search").status_code == 200


def test_malformed_answers_are_200s_with_truncated_json(api):
    preference = create_preference(api)
    add_fault(api, endpoint="preferences.get", malformed_rate=1.0, times=1)
    answer = api.get(f"/checkout/preferences/{preference['id']}")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith(
        "application/json"
    )
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer.text)


def test_times_applies_a_fault_to_exactly_the_next_n_requests(api):
    add_fault(api, endpoint="payments.search", error_statuses=[503], times=2)
    statuses = [api.get("/v1/payments/search").status_code for _ in range(4)]
    assert statuses == [503, 503, 200, 200]
    assert api.get("/_sandbox/faults").json() == {"faults": []}


def test_a_seed_makes_the_faults_repeat(api):
    def run():
        api.post("/_sandbox/faults", json={"error_rate": 0.3, "rate_limit_rate": 0.2, "seed": 42})
        statuses = [api.get("/v1/payments/search").status_code for _ in range(30)]
        api.delete("/_sandbox/faults")
        return statuses

    first, second = run(), run()
    assert first == second
    assert {200, 429} <= set(first) and set(first) & {500, 502, 503}


def test_faults_can_be_set_at_start_and_are_checked(api, sandbox):  # noqa: F811
    assert api.post("/_sandbox/faults", json={"error_rate": 2}).status_code == 400
    assert api.post("/_sandbox/faults", json={"endpoint": "nope"}).status_code == 400
    rule = {"endpoint": "payments.search", "error_rate": 1.0, "error_statuses": [500]}
    server = SandboxServer(access_token=SANDBOX_TOKEN, faults=[rule])
    with server, api_client(server) as client:
        assert client.get("/v1/payments/search").status_code == 500
        assert client.get("/_sandbox/outbox").status_code == 200  # the control API: never


# --- notifications ---------------------------------------------------------------------------


def test_a_notification_is_signed_as_mercado_pago_signs_it(api, webhook_receiver):  # noqa: F811
    freeze(api, "2026-11-28T14:05:40Z")
    payment = create_payment(api, external_reference="n-1", notify={"url": webhook_receiver.url})
    [received] = webhook_receiver.requests
    data_id = str(payment["id"])
    assert received.path == "/webhooks/mercadopago"
    assert received.query == f"data.id={data_id}&type=payment"
    WebhookSignatureValidator.validate(
        received.headers["x-signature"], received.headers["x-request-id"], data_id, SANDBOX_SECRET
    )
    assert re.fullmatch(r"ts=\d{13},v1=[0-9a-f]{64}", received.headers["x-signature"])
    assert received.headers["x-signature"].startswith("ts=1795874740000,")
    assert received.headers["user-agent"] == "restclient-node/4.15.3"
    assert (received.headers["x-retry"], received.headers["x-socket-timeout"]) == ("0", "22000")
    assert received.headers["content-type"] == "application/json"
    body = received.json()
    real = json.loads(
        (
            fixture_path("mp-docs-checkout-pro-payment-notifications-pt_payment-updated.json")
        ).read_text()
    )
    assert set(body) == set(real)
    assert body["data"] == {"id": data_id} and body["action"] == "payment.created"
    assert (body["type"], body["live_mode"], body["date_created"]) == (
        "payment",
        False,
        "2026-11-28T14:05:40Z",
    )
    assert isinstance(body["id"], int) and isinstance(body["user_id"], int)


def test_duplicates_repeat_the_notification_and_the_ipn_twin_is_unsigned(api, webhook_receiver):  # noqa: F811
    payment = create_payment(api, external_reference="n-2", notify=False)
    answer = api.post(
        f"/_sandbox/payments/{payment['id']}/notify",
        json={"url": webhook_receiver.url, "duplicates": 2, "ipn": True, "secret": "other"},
    )
    deliveries = answer.json()["deliveries"]
    assert [d["status_code"] for d in deliveries] == [200, 200, 200, 200]
    *webhooks, ipn = webhook_receiver.requests
    assert len({r.body for r in webhooks}) == 1 and json.loads(webhooks[0].body)["action"] == (
        "payment.updated"
    )
    assert [r.headers["x-retry"] for r in webhooks] == ["0", "1", "2"]
    assert len({r.headers["x-request-id"] for r in webhooks}) == 3
    for request in webhooks:
        WebhookSignatureValidator.validate(
            request.headers["x-signature"],
            request.headers["x-request-id"],
            str(payment["id"]),
            "other",
        )
    assert ipn.query == f"topic=payment&id={payment['id']}"
    assert ipn.json() == {"resource": str(payment["id"]), "topic": "payment"}
    assert "x-signature" not in ipn.headers


def test_status_moves_notify_payment_updated(api, webhook_receiver):  # noqa: F811
    payment = create_payment(api, external_reference="n-3", status="pending")
    api.post(
        f"/_sandbox/payments/{payment['id']}/status",
        json={"status": "approved", "notify": {"url": webhook_receiver.url}},
    )
    [received] = webhook_receiver.requests
    assert received.json()["action"] == "payment.updated"


def test_the_outbox_keeps_every_notification_as_a_raw_request(api):
    payment = create_payment(api, external_reference="n-4", notify={"ipn": True})
    create_payment(api, external_reference="n-5", notify=False)
    records = api.get("/_sandbox/outbox").json()
    assert [r["kind"] for r in records] == ["webhook", "ipn"]
    webhook = records[0]
    assert {"method", "path", "query", "headers", "body", "delivered_to", "status_code"} <= set(
        webhook
    )
    assert (webhook["delivered_to"], webhook["status_code"], webhook["method"]) == (
        None,
        None,
        "POST",
    )
    raw = RawRequest(webhook["query"], webhook["headers"], webhook["body"].encode())
    notification = parse_notification(raw)
    assert (notification.topic, notification.resource_id) == ("payment", str(payment["id"]))
    assert api.delete("/_sandbox/outbox").json() == {"cleared": 2}
    assert api.get("/_sandbox/outbox").json() == []


def test_a_failed_delivery_is_recorded_and_the_sandbox_carries_on(api):
    with socket.socket() as probe:  # a port nothing listens on any more
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    payment = create_payment(api, external_reference="n-6", notify={"url": url})
    [record] = api.get("/_sandbox/outbox").json()
    assert record["status_code"] is None and record["error"]
    assert record["delivered_to"].startswith(url + "?data.id=")
    assert api.get(f"/v1/payments/{payment['id']}").status_code == 200


def test_without_a_url_notifications_are_only_recorded(api, webhook_receiver):  # noqa: F811
    preference = create_preference(api, notification_url=webhook_receiver.url)
    create_payment(api, preference_id=preference["id"], external_reference="n-7", notify={})
    assert webhook_receiver.requests == []
    [record] = api.get("/_sandbox/outbox").json()
    assert (record["kind"], record["delivered_to"], record["status_code"]) == (
        "webhook",
        None,
        None,
    )


# --- secrets ---------------------------------------------------------------------------------


def test_the_access_token_never_reaches_logs_or_output(capfd, caplog):
    token = "TEST-never-print-this-token-5f1c2e"
    with SandboxServer(
        access_token=token, faults=[{"endpoint": "payments.get", "drop_rate": 1.0, "times": 1}]
    ) as server:
        with api_client(server, token=token) as client:
            with pytest.raises(httpx.RemoteProtocolError):
                client.get("/v1/payments/1")
            client.get("/v1/payments/1")
            client.get("/v1/payments/search", params={"limit": 999})
        with api_client(server, token=token + "-wrong") as client:
            client.get("/v1/payments/1")
    captured = capfd.readouterr()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert token not in captured.out + captured.err + logged
