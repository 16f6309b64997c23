"""The sandbox's Orders API over real HTTP (research mp-wave2 §5): idempotency keys on every
write, string amounts, Mercado Pago's spellings of each status, search with {data, paging},
signed `type: "order"` notifications carrying the order's snapshot and version, QR orders whose
money the Payments API shows too, and faults that make a write and then lose its answer. Time
moves through the sandbox clock, never by sleeping."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest
from mercadopago.webhook import WebhookSignatureValidator

from mpcheckout.signature import verify_headers
from tests.sandbox_support import (  # noqa: F401
    SANDBOX_SECRET,
    api_client,
    sandbox,
    sandbox_control,
    webhook_receiver,
)

ORDER_ID = re.compile(r"^ORD[0-9A-Z]{26}$")
PAY_ID = re.compile(r"^PAY01[0-9A-Z]{24}$")
REF_ID = re.compile(r"^REF01[0-9A-Z]{24}$")
SNAPSHOT_KEYS = {
    "id",
    "external_reference",
    "status",
    "status_detail",
    "total_amount",
    "total_paid_amount",
    "transactions",
    "type",
    "version",
}


@pytest.fixture
def api(sandbox):  # noqa: F811
    with api_client(sandbox) as client:
        yield client


def create(api, key="key-1", **fields):
    body = {"type": "online", "total_amount": "100.00", "external_reference": "ord-1", **fields}
    answer = api.post("/v1/orders", json=body, headers={"X-Idempotency-Key": key})
    assert answer.status_code == 201, answer.text
    return answer.json()


def pay(api, order_id, status="processed", notify=False, **fields):
    body = {"status": status, "notify": notify, **fields}
    answer = api.post(f"/_sandbox/orders/{order_id}/pay", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def get(api, order_id):
    return api.get(f"/v1/orders/{order_id}").json()


def write(api, order_id, action, body=None, key="write-1"):
    headers = {"x-idempotency-key": key} if key else {}
    if body is None:
        return api.post(f"/v1/orders/{order_id}/{action}", headers=headers)
    return api.post(f"/v1/orders/{order_id}/{action}", json=body, headers=headers)


def error_code(answer):
    """The Orders API's error list: `{"errors": [{"code", "message", "details"}]}`."""
    [error] = answer.json()["errors"]
    assert set(error) == {"code", "message", "details"}
    return error["code"]


def outbox(api):
    records = api.get("/_sandbox/outbox").json()
    api.delete("/_sandbox/outbox")
    return records


def freeze(api, moment):
    assert api.post("/_sandbox/clock", json={"now": moment}).status_code == 200


def advance(api, seconds):
    assert api.post("/_sandbox/clock", json={"advance_seconds": seconds}).status_code == 200


# --- creating an order -----------------------------------------------------------------------


def test_a_checkout_pro_order_answers_mercado_pagos_shape(api):
    items = [{"title": "Plan", "quantity": 1, "unit_price": "100.00"}]
    order = create(api, items=items, notification_url="https://shop.example/hook")
    assert ORDER_ID.match(order["id"]) and order["id"].startswith("ORD01")
    assert (order["status"], order["status_detail"], order["version"]) == ("created", "created", 1)
    assert (order["total_amount"], order["total_paid_amount"]) == ("100.00", "0.00")
    assert (order["type"], order["external_reference"]) == ("online", "ord-1")
    assert order["items"] == items
    assert order["notification_url"] == "https://shop.example/hook"
    assert isinstance(order["user_id"], str) and order["transactions"] == {"payments": []}
    assert order["checkout_url"] == order["init_point"]
    assert order["checkout_url"].startswith(str(api.base_url))
    page = httpx.get(order["checkout_url"], timeout=5).json()
    assert (page["order_id"], page["total_amount"]) == (order["id"], "100.00")
    assert get(api, order["id"]) == order


def test_creating_needs_an_idempotency_key_of_at_most_64_characters(api):
    body = {"type": "online", "total_amount": "100.00"}
    missing = api.post("/v1/orders", json=body)
    assert (missing.status_code, error_code(missing)) == (400, "empty_required_header")
    long = api.post("/v1/orders", json=body, headers={"X-Idempotency-Key": "k" * 65})
    assert (long.status_code, error_code(long)) == (400, "invalid_idempotency_key_length")
    assert api.get("/_sandbox/orders").json() == []


def test_a_reused_key_answers_the_same_order_and_with_another_body_is_a_409(api):
    first = create(api, key="same")
    again = create(api, key="same")
    assert again == first
    other = api.post(
        "/v1/orders",
        json={"type": "online", "total_amount": "50.00"},
        headers={"X-Idempotency-Key": "same"},
    )
    assert (other.status_code, error_code(other)) == (409, "idempotency_key_already_used")
    assert [order["id"] for order in api.get("/_sandbox/orders").json()] == [first["id"]]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"type": "online", "total_amount": 100}, "property_type"),  # amounts are strings
        ({"type": "online", "total_amount": "1e3"}, "property_value"),
        ({"type": "online", "total_amount": "-5.00"}, "property_value"),
        ({"type": "online"}, "required_properties"),
        ({"type": "store", "total_amount": "10.00"}, "property_value"),
        ({"type": "qr", "total_amount": "10.00", "external_reference": "a b"}, "property_value"),
        (
            {
                "type": "online",
                "total_amount": "10.00",
                "transactions": {"payments": [{"amount": "9.00"}]},
            },
            "invalid_total_amount",
        ),
    ],
)
def test_a_malformed_order_is_refused_with_the_documented_code(api, body, code):
    answer = api.post("/v1/orders", json=body, headers={"X-Idempotency-Key": "bad"})
    assert (answer.status_code, error_code(answer)) == (400, code)


def test_ids_are_checked_before_they_are_looked_up(api):
    malformed = api.get("/v1/orders/ORD123")
    assert (malformed.status_code, error_code(malformed)) == (400, "invalid_path_param")
    unknown = api.get("/v1/orders/ORD" + "0" * 26)
    assert (unknown.status_code, error_code(unknown)) == (404, "order_not_found")


# --- paying ------------------------------------------------------------------------------------


def test_the_buyer_pays_and_the_order_moves_with_its_version_and_date(api):
    freeze(api, "2026-06-01T12:00:00Z")
    order = create(api)
    advance(api, 90)
    paid = pay(api, order["id"])
    assert (paid["status"], paid["status_detail"], paid["version"]) == (
        "processed",
        "accredited",
        2,
    )
    assert paid["total_paid_amount"] == "100.00"
    assert paid["last_updated_date"] == "2026-06-01T12:01:30.000Z"
    assert paid["created_date"] == "2026-06-01T12:00:00.000Z"
    [transaction] = paid["transactions"]["payments"]
    assert PAY_ID.match(transaction["id"])
    assert (transaction["amount"], transaction["status"]) == ("100.00", "processed")
    assert get(api, order["id"]) == paid


@pytest.mark.parametrize(
    ("fields", "status", "detail"),
    [
        ({"status": "failed"}, "failed", "rejected_by_issuer"),
        ({"status": "failed", "status_detail": "high_risk"}, "failed", "high_risk"),
        ({"status": "action_required"}, "action_required", "waiting_payment"),
    ],
)
def test_a_payment_can_fail_or_wait(api, fields, status, detail):
    order = create(api)
    moved = pay(api, order["id"], **fields)
    assert (moved["status"], moved["status_detail"]) == (status, detail)
    assert moved["total_paid_amount"] == "0.00"


def test_a_manual_capture_waits_for_the_capture(api):
    order = create(api, capture_mode="manual")
    assert pay(api, order["id"], "action_required")["status_detail"] == "waiting_capture"
    captured = write(api, order["id"], "capture", key="cap")
    assert captured.status_code == 200
    assert (captured.json()["status"], captured.json()["status_detail"]) == (
        "processed",
        "accredited",
    )
    again = write(api, order["id"], "capture", key="cap-2")
    assert (again.status_code, error_code(again)) == (409, "cannot_capture_order")


def test_a_manual_order_with_transactions_is_processed_by_the_api(api):
    order = create(
        api,
        processing_mode="manual",
        transactions={"payments": [{"amount": "100.00", "payment_method": {"id": "visa"}}]},
    )
    [transaction] = order["transactions"]["payments"]
    assert (transaction["status"], transaction["payment_method"]) == ("created", {"id": "visa"})
    processed = write(api, order["id"], "process", key="p")
    assert (processed.status_code, processed.json()["status"]) == (200, "processed")
    assert processed.json()["transactions"]["payments"][0]["id"] == transaction["id"]
    twice = write(api, order["id"], "process", key="p2")
    assert (twice.status_code, error_code(twice)) == (409, "cannot_process_order")


# --- refunds -----------------------------------------------------------------------------------


def test_a_partial_then_a_full_refund_leave_an_online_order_processed_refunded(api):
    order = create(api)
    paid = pay(api, order["id"])
    transaction = paid["transactions"]["payments"][0]["id"]
    partial = write(
        api, order["id"], "refund", {"transactions": [{"id": transaction, "amount": "25.00"}]}
    )
    assert partial.status_code == 201
    [made] = partial.json()["transactions"]["refunds"]
    assert REF_ID.match(made["id"]) and (made["transaction_id"], made["amount"]) == (
        transaction,
        "25.00",
    )
    assert (partial.json()["status"], partial.json()["status_detail"]) == (
        "processed",
        "partially_refunded",
    )
    full = write(api, order["id"], "refund", key="write-2")  # no body: everything left
    assert [r["amount"] for r in full.json()["transactions"]["refunds"]] == ["75.00"]
    final = get(api, order["id"])
    assert (final["status"], final["status_detail"], final["version"]) == (
        "processed",
        "refunded",
        4,
    )
    assert [r["amount"] for r in final["transactions"]["refunds"]] == ["25.00", "75.00"]
    done = write(api, order["id"], "refund", {}, key="write-3")
    assert (done.status_code, error_code(done)) == (409, "order_already_refunded")


def test_a_qr_order_becomes_refunded_and_the_payments_api_shows_the_same_money(api):
    order = create(api, type="qr", total_amount="80.00", external_reference="qr-1")
    paid = pay(api, order["id"], notify={}, payment_notify={})
    [transaction] = paid["transactions"]["payments"]
    payment_id = transaction["reference"]["id"]
    both = [parse_qs(record["query"]) for record in outbox(api)]
    assert both == [
        {"data.id": [payment_id], "type": ["payment"]},  # the Payments API's own notification
        {"data.id": [order["id"]], "type": ["order"]},
    ]
    payment = api.get(f"/v1/payments/{payment_id}").json()
    assert (payment["status"], payment["transaction_amount"], payment["external_reference"]) == (
        "approved",
        80,
        "qr-1",
    )
    body = {"transactions": [{"id": transaction["id"], "amount": "30.00"}]}
    [made] = write(api, order["id"], "refund", body).json()["transactions"]["refunds"]
    payment = api.get(f"/v1/payments/{payment_id}").json()
    assert (payment["status_detail"], payment["transaction_amount_refunded"]) == (
        "partially_refunded",
        30,
    )
    assert made["reference_id"] == str(payment["refunds"][0]["id"])
    write(api, order["id"], "refund", key="write-2")
    final = get(api, order["id"])
    assert (final["status"], final["status_detail"]) == ("refunded", "refunded")
    assert api.get(f"/v1/payments/{payment_id}").json()["status"] == "refunded"


def test_an_online_order_gets_no_payments_api_payment_unless_asked(api):
    plain = pay(api, create(api, key="a")["id"])
    assert "reference" not in plain["transactions"]["payments"][0]
    linked = pay(api, create(api, key="b")["id"], payments_api=True)
    assert linked["transactions"]["payments"][0]["reference"]["id"].isdigit()


@pytest.mark.parametrize(
    ("transactions", "status", "code"),
    [
        ([{"id": "PAY01" + "0" * 24, "amount": "10.00"}], 404, "transaction_not_found"),
        ("first:100.01", 400, "refund_amount_exceeds"),
        ("first:10", 400, "property_type"),  # a JSON number: amounts are strings
        ("first:0.00", 400, "property_value"),
    ],
)
def test_refunds_are_checked(api, transactions, status, code):
    paid = pay(api, create(api)["id"])
    if isinstance(transactions, str):
        text = transactions.split(":")[1]
        amount = float(text) if "." not in text else text
        transactions = [{"id": paid["transactions"]["payments"][0]["id"], "amount": amount}]
    answer = write(api, paid["id"], "refund", {"transactions": transactions})
    assert (answer.status_code, error_code(answer)) == (status, code)
    assert get(api, paid["id"])["version"] == paid["version"]  # nothing changed


def test_an_unpaid_order_cannot_be_refunded(api):
    order = create(api)
    answer = write(api, order["id"], "refund")
    assert (answer.status_code, error_code(answer)) == (409, "cannot_refund_order")
    missing_key = write(api, order["id"], "refund", key=None)
    assert (missing_key.status_code, error_code(missing_key)) == (400, "empty_required_header")


# --- cancel --------------------------------------------------------------------------------------


def test_only_a_created_or_waiting_order_is_canceled_with_one_l(api):
    created = create(api, key="a")
    canceled = write(api, created["id"], "cancel")
    assert canceled.status_code == 200
    assert (canceled.json()["status"], canceled.json()["status_detail"]) == (
        "canceled",
        "canceled",
    )
    again = write(api, created["id"], "cancel", key="write-2")
    assert (again.status_code, error_code(again)) == (409, "order_already_canceled")
    waiting = create(api, key="b")
    pay(api, waiting["id"], "action_required")
    assert write(api, waiting["id"], "cancel", key="write-3").json()["status"] == "canceled"
    paid = pay(api, create(api, key="c")["id"])
    refused = write(api, paid["id"], "cancel", key="write-4")
    assert (refused.status_code, error_code(refused)) == (409, "cannot_cancel_order")
    assert get(api, paid["id"])["status"] == "processed"


def test_an_unpaid_order_expires(api):
    order = create(api)
    expired = api.post(f"/_sandbox/orders/{order['id']}/expire", json={"notify": False}).json()
    assert (expired["status"], expired["status_detail"]) == ("expired", "expired")
    assert api.post(f"/_sandbox/orders/{order['id']}/pay", json={}).status_code == 409


# --- search ------------------------------------------------------------------------------------


def test_the_search_pages_through_more_than_a_hundred_orders(api):
    freeze(api, "2026-06-01T12:00:00Z")
    created = []
    for index in range(130):
        created.append(create(api, key=f"k{index}", external_reference=f"ord-{index}")["id"])
        advance(api, 1)
    window = {"begin_date": "2026-06-01T00:00:00Z", "end_date": "2026-06-02T00:00:00Z"}
    too_big = api.get("/v1/orders", params={**window, "limit": 101})
    assert (too_big.status_code, error_code(too_big)) == (400, "invalid_parameter")
    found, offset = [], 0
    while True:
        params = {**window, "limit": 100, "offset": offset, "sort_order": "asc"}
        answer = api.get("/v1/orders", params=params).json()
        assert answer["paging"] == {"total": 130, "offset": offset, "limit": 100}
        found += [order["id"] for order in answer["data"]]
        if len(answer["data"]) < 100:
            break
        offset += 100
    assert found == created
    newest_first = api.get("/v1/orders", params={**window, "page": 2, "page_size": 20}).json()
    assert [o["id"] for o in newest_first["data"]] == created[::-1][20:40]


def test_the_search_filters_on_creation_date_reference_and_status(api):
    freeze(api, "2026-06-01T12:00:00Z")
    old = create(api, key="a", external_reference="old")
    advance(api, 3600)
    pay(api, old["id"])  # changed inside the window, created before it
    new = create(api, key="b", external_reference="new")
    window = {"begin_date": "2026-06-01T12:30:00Z", "end_date": "NOW"}
    found = api.get("/v1/orders", params=window).json()["data"]
    assert [order["id"] for order in found] == [new["id"]]
    everything = {"begin_date": "2026-06-01T00:00:00Z", "end_date": "NOW"}
    by_reference = api.get("/v1/orders", params={**everything, "external_reference": "old"})
    assert [order["id"] for order in by_reference.json()["data"]] == [old["id"]]
    by_status = api.get("/v1/orders", params={**everything, "status": "created"})
    assert [order["id"] for order in by_status.json()["data"]] == [new["id"]]
    missing = api.get("/v1/orders", params={"begin_date": "2026-06-01T00:00:00Z"})
    assert (missing.status_code, error_code(missing)) == (400, "missing_required_params")


# --- notifications -----------------------------------------------------------------------------


def test_paying_sends_a_signed_order_notification_with_the_snapshot(api, webhook_receiver):  # noqa: F811
    order = create(api)
    paid = pay(api, order["id"], notify={"url": webhook_receiver.url, "duplicates": 1})
    first, redelivery = webhook_receiver.requests
    assert parse_qs(first.query) == {"data.id": [order["id"]], "type": ["order"]}
    body = first.json()
    assert (body["type"], body["action"], body["api_version"]) == ("order", "order.processed", "v1")
    assert isinstance(body["user_id"], str) and isinstance(body["application_id"], str)
    assert set(body["data"]) == SNAPSHOT_KEYS
    assert body["data"]["version"] == paid["version"] == 2
    assert body["data"]["transactions"] == paid["transactions"]
    assert (body["data"]["status"], body["data"]["total_paid_amount"]) == ("processed", "100.00")
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$", body["date_created"])
    for request in (first, redelivery):
        verify_headers(request.headers, order["id"], [SANDBOX_SECRET], now=time.time)
        WebhookSignatureValidator.validate(
            request.headers["x-signature"],
            request.headers["x-request-id"],
            order["id"],
            SANDBOX_SECRET,
        )
    assert redelivery.body == first.body and redelivery.headers["x-retry"] == "1"


def test_each_change_notifies_its_own_action_with_a_growing_version(api):
    paid = pay(api, create(api, key="a")["id"], notify={})
    transaction = paid["transactions"]["payments"][0]["id"]
    write(api, paid["id"], "refund", {"transactions": [{"id": transaction, "amount": "5.00"}]})
    canceled = create(api, key="b")
    write(api, canceled["id"], "cancel", key="write-2")
    failed = pay(api, create(api, key="c")["id"], "failed", notify={})
    waiting = pay(api, create(api, key="d")["id"], "action_required", notify={})
    api.post(f"/_sandbox/orders/{waiting['id']}/expire", json={})
    seen = [json.loads(record["body"]) for record in outbox(api)]
    assert [(n["action"], n["data"]["id"], n["data"]["version"]) for n in seen] == [
        ("order.processed", paid["id"], 2),
        ("order.refunded", paid["id"], 3),
        ("order.canceled", canceled["id"], 2),
        ("order.failed", failed["id"], 2),
        ("order.action_required", waiting["id"], 2),
        ("order.expired", waiting["id"], 3),
    ]
    assert seen[1]["data"]["status_detail"] == "partially_refunded"


def test_a_stale_redelivery_can_be_replayed_from_the_outbox_and_notify_resends_now(api):
    paid = pay(api, create(api)["id"], notify={})
    write(api, paid["id"], "refund")
    older, newer = outbox(api)
    versions = [json.loads(record["body"])["data"]["version"] for record in (older, newer)]
    assert versions == [2, 3]
    [again] = api.post(f"/_sandbox/orders/{paid['id']}/notify", json={}).json()["deliveries"]
    assert json.loads(again["body"])["data"]["version"] == get(api, paid["id"])["version"]
    refused = api.post(f"/_sandbox/orders/{paid['id']}/notify", json={"action": "payment.updated"})
    assert refused.status_code == 400


# --- faults ------------------------------------------------------------------------------------


def test_a_create_whose_answer_is_dropped_is_made_once_and_replayed(api):
    fault = {"endpoint": "orders.create", "drop_rate": 1.0, "times": 1, "after_write": True}
    assert api.post("/_sandbox/faults", json=fault).status_code == 200
    body = {"type": "online", "total_amount": "100.00", "external_reference": "ord-9"}
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/v1/orders", json=body, headers={"X-Idempotency-Key": "retry-me"})
    [made] = api.get("/_sandbox/orders").json()
    retried = api.post("/v1/orders", json=body, headers={"X-Idempotency-Key": "retry-me"})
    assert (retried.status_code, retried.json()["id"]) == (201, made["id"])
    assert len(api.get("/_sandbox/orders").json()) == 1
    log = api.get("/_sandbox/requests", params={"endpoint": "orders.create"}).json()["requests"]
    assert [(r["status"], r["fault"]) for r in log] == [(None, "drop_after_write"), (201, None)]


def test_a_refund_whose_answer_is_dropped_refunds_once(api):
    paid = pay(api, create(api)["id"])
    api.post(
        "/_sandbox/faults",
        json={"endpoint": "orders.refund", "drop_rate": 1.0, "times": 1, "after_write": True},
    )
    with pytest.raises(httpx.RemoteProtocolError):
        write(api, paid["id"], "refund", key="once")
    assert get(api, paid["id"])["status_detail"] == "refunded"
    assert write(api, paid["id"], "refund", key="once").status_code == 201
    assert len(get(api, paid["id"])["transactions"]["refunds"]) == 1


def test_faults_reach_reads_and_searches(api):
    order = create(api)
    error = {"endpoint": "orders.get", "times": 1, "error_statuses": [503]}
    api.post("/_sandbox/faults", json=error)
    assert api.get(f"/v1/orders/{order['id']}").status_code == 503
    assert api.get(f"/v1/orders/{order['id']}").status_code == 200
    limited = {"endpoint": "orders.search", "times": 1, "rate_limit_rate": 1}
    api.post("/_sandbox/faults", json=limited)
    window = {"begin_date": "NOW-1HOURS", "end_date": "NOW"}
    assert api.get("/v1/orders", params=window).status_code == 429


def test_the_orders_api_needs_the_token(sandbox):  # noqa: F811
    with api_client(sandbox, token="wrong") as stranger:
        assert stranger.get("/v1/orders/ORD" + "0" * 26).status_code == 401


def test_a_frozen_clock_still_gives_distinct_sortable_ids(api):
    freeze(api, "2026-06-01T12:00:00Z")
    ids = [create(api, key=f"k{i}")["id"] for i in range(5)]
    assert len(set(ids)) == 5
    moment = datetime(2026, 6, 1, 12, tzinfo=UTC)
    later = moment + timedelta(days=1)
    api.post("/_sandbox/clock", json={"now": later.isoformat()})
    assert create(api, key="later")["id"] > max(ids)
