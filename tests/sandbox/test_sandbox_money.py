"""The sandbox's money endpoints over real HTTP: refunds, cancels, captures, chargebacks and
merchant-order Webhooks as Mercado Pago documents them (research mp-wave2 §1-§3, §6-§7), the
faults that make a write and then lose its answer, and the request log that shows what reached
the sandbox. Time moves through the sandbox clock, never by sleeping."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from mercadopago.webhook import WebhookSignatureValidator

from tests.mp_fixtures import fixture_json
from tests.sandbox_support import (  # noqa: F401
    SANDBOX_SECRET,
    api_client,
    sandbox,
    sandbox_control,
    webhook_receiver,
)

ERROR_KEYS = {"message", "error", "status", "cause"}
# The refunds reference's example answer (POST /v1/payments/{id}/refunds), keys only.
REFUND_REFERENCE_KEYS = {
    "id",
    "payment_id",
    "amount",
    "metadata",
    "source",
    "date_created",
    "unique_sequence_number",
    "refund_mode",
    "adjustment_amount",
    "status",
    "reason",
}
# Mercado Pago's documented chargeback notification ("Chargebacks notifications", Checkout Pro
# docs, 2024): the doc prints data.id as 217000061307271000, already rounded by JavaScript.
CHARGEBACK_NOTIFICATION_DOC = {
    "actions": ["changed_case_status"],
    "api_version": "v1",
    "application_id": 9007201037432480,
    "data": {
        "checkout": "PRO",
        "date_updated": "0001-01-01T00:00:00Z",
        "id": 217000061307271000,
        "payment_id": 81034165129,
        "product_id": "BC32A57TRPP001U8NHHG",
        "site_id": "MLA",
        "transaction_intent_id": "",
    },
    "date_created": "2024-07-02T22:03:24-04:00",
    "id": 114544942708,
    "live_mode": True,
    "type": "topic_chargebacks_wh",
    "user_id": 425424311,
    "version": 1720427447,
}
# A captured merchant-order Webhooks body (research mp-wave2 §6.3): no data.id.
MERCHANT_ORDER_CAPTURE = {
    "action": "create",
    "application_id": "",
    "data": {"currency_id": "", "marketplace": "NONE", "status": "opened"},
    "date_created": "2025-10-16T16:13:12.616-04:00",
    "id": "34798354725",
    "live_mode": True,
    "status": "opened",
    "type": "topic_merchant_order_wh",
    "user_id": 1227980651,
    "version": 0,
}


@pytest.fixture
def api(sandbox):  # noqa: F811
    with api_client(sandbox) as client:
        yield client


def freeze(api, moment):
    assert api.post("/_sandbox/clock", json={"now": moment}).status_code == 200


def advance(api, seconds):
    assert api.post("/_sandbox/clock", json={"advance_seconds": seconds}).status_code == 200


def create_payment(api, **fields):
    body = {"external_reference": "order-1", "transaction_amount": "100.00", "notify": False}
    answer = api.post("/_sandbox/payments", json={**body, **fields})
    assert answer.status_code == 201, answer.text
    return answer.json()


def refund(api, payment_id, body=None, key="key-1", **kwargs):
    headers = {"x-idempotency-key": key} if key else {}
    if body is None:
        return api.post(f"/v1/payments/{payment_id}/refunds", headers=headers, **kwargs)
    return api.post(f"/v1/payments/{payment_id}/refunds", json=body, headers=headers, **kwargs)


def payment(api, payment_id):
    return api.get(f"/v1/payments/{payment_id}").json()


def outbox(api):
    records = api.get("/_sandbox/outbox").json()
    api.delete("/_sandbox/outbox")
    return records


def cause_code(answer):
    assert set(answer.json()) == ERROR_KEYS, answer.text
    return answer.json()["cause"][0]["code"]


def assert_signed(record, data_id, secret=SANDBOX_SECRET):
    WebhookSignatureValidator.validate(
        record["headers"]["x-signature"], record["headers"]["x-request-id"], data_id, secret
    )


# --- refunds ---------------------------------------------------------------------------------


def test_two_partial_refunds_then_the_rest_move_the_payment_as_mercado_pago_does(api):
    freeze(api, "2026-06-01T12:00:00Z")
    paid = create_payment(api)
    net = paid["transaction_details"]["net_received_amount"]
    advance(api, 60)
    first = refund(api, paid["id"], {"amount": 30.5}, key="k-1")
    assert first.status_code == 201
    after_first = payment(api, paid["id"])
    assert (after_first["status"], after_first["status_detail"]) == (
        "approved",
        "partially_refunded",
    )
    assert after_first["transaction_amount_refunded"] == 30.5
    assert after_first["date_last_updated"] == "2026-06-01T08:01:00.000-04:00"
    advance(api, 60)
    refund(api, paid["id"], {"amount": 19.5}, key="k-2")
    advance(api, 60)
    rest = refund(api, paid["id"], key="k-3")  # no body: everything that is left
    assert rest.status_code == 201 and rest.json()["amount"] == 50
    done = payment(api, paid["id"])
    assert (done["status"], done["status_detail"]) == ("refunded", "refunded")
    assert done["transaction_amount_refunded"] == 100
    assert [r["amount"] for r in done["refunds"]] == [30.5, 19.5, 50]
    assert len({r["id"] for r in done["refunds"]}) == 3
    assert done["transaction_details"]["net_received_amount"] == net
    assert done["date_last_updated"] == "2026-06-01T08:03:00.000-04:00"


def test_a_refund_answers_201_and_the_refund_object(api):
    paid = create_payment(api)
    answer = refund(api, paid["id"], {"amount": 10})
    assert answer.status_code == 201
    body = answer.json()
    assert set(body) >= REFUND_REFERENCE_KEYS
    assert isinstance(body["id"], int) and body["payment_id"] == paid["id"]
    assert (body["amount"], body["status"], body["refund_mode"]) == (10, "approved", "standard")
    assert body["source"]["type"] == "collector" and isinstance(body["source"]["id"], str)
    assert (body["adjustment_amount"], body["unique_sequence_number"]) == (0, None)
    assert body["metadata"] == {}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}-04:00", body["date_created"])


def test_an_empty_object_refunds_the_remaining_balance(api):
    paid = create_payment(api)
    refund(api, paid["id"], {"amount": 40}, key="a")
    rest = refund(api, paid["id"], {}, key="b")
    assert rest.status_code == 201 and rest.json()["amount"] == 60
    assert payment(api, paid["id"])["status"] == "refunded"


def test_each_refund_notifies_a_signed_payment_updated(api):
    paid = create_payment(api)
    refund(api, paid["id"], {"amount": 10}, key="a")
    [record] = outbox(api)
    assert record["query"] == f"data.id={paid['id']}&type=payment"
    assert json.loads(record["body"])["action"] == "payment.updated"
    assert_signed(record, str(paid["id"]))


def test_the_api_notify_setting_delivers_api_changes_or_silences_them(api, webhook_receiver):  # noqa: F811
    paid = create_payment(api)
    api.post("/_sandbox/api-notify", json={"notify": {"url": webhook_receiver.url}})
    refund(api, paid["id"], {"amount": 10}, key="a")
    [received] = webhook_receiver.requests
    assert received.json()["data"] == {"id": str(paid["id"])}
    outbox(api)
    assert api.post("/_sandbox/api-notify", json={"notify": False}).json() == {"notify": None}
    refund(api, paid["id"], {"amount": 10}, key="b")
    assert outbox(api) == [] and len(webhook_receiver.requests) == 1


def test_a_search_by_date_last_updated_finds_a_refund_made_later(api):
    freeze(api, "2026-06-01T12:00:00Z")
    paid = create_payment(api)
    advance(api, 3600)
    api.post(f"/_sandbox/payments/{paid['id']}/refunds", json={"amount": "5", "notify": False})
    found = api.get(
        "/v1/payments/search",
        params={"range": "date_last_updated", "begin_date": "NOW-30MINUTES", "end_date": "NOW"},
    ).json()
    assert [p["id"] for p in found["results"]] == [paid["id"]]
    assert found["results"][0]["transaction_amount_refunded"] == 5


def test_the_same_key_and_request_answers_the_same_refund_without_a_second_one(api):
    paid = create_payment(api)
    first = refund(api, paid["id"], {"amount": 10}, key="same")
    again = api.post(
        f"/v1/payments/{paid['id']}/refunds",
        json={"amount": 10.0},
        headers={"X-Idempotency-Key": "same"},
    )
    assert again.status_code == 201 and again.json() == first.json()
    assert len(api.get(f"/v1/payments/{paid['id']}/refunds").json()) == 1
    assert payment(api, paid["id"])["transaction_amount_refunded"] == 10
    assert len(outbox(api)) == 1  # the replay changed nothing, so it notified nothing


def test_a_full_refund_without_a_body_and_with_an_empty_object_is_one_request(api):
    paid = create_payment(api)
    first = refund(api, paid["id"], key="full", content=b"")
    assert refund(api, paid["id"], {}, key="full").json() == first.json()


def test_the_same_key_with_another_request_is_a_409(api):
    paid = create_payment(api)
    refund(api, paid["id"], {"amount": 10}, key="same")
    answer = refund(api, paid["id"], {"amount": 20}, key="same")
    assert answer.status_code == 409 and answer.json()["error"] == "idempotency_key_already_used"
    other = create_payment(api, external_reference="order-2")
    assert refund(api, other["id"], {"amount": 10}, key="same").status_code == 409
    assert payment(api, paid["id"])["transaction_amount_refunded"] == 10


def test_a_refused_refund_leaves_its_key_free(api):
    paid = create_payment(api)
    assert refund(api, paid["id"], {"amount": 500}, key="k").status_code == 400
    assert refund(api, paid["id"], {"amount": 50}, key="k").status_code == 201


def test_a_refund_without_idempotency_key_is_a_400_with_cause_4292(api):
    paid = create_payment(api)
    answer = refund(api, paid["id"], {"amount": 10}, key=None)
    assert answer.status_code == 400 and cause_code(answer) == 4292
    assert payment(api, paid["id"])["refunds"] == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"amount": 100.01}, 400, 2063),
        ({"amount": 0}, 400, 4040),
        ({"amount": -5}, 400, 4040),
        ({"amount": "10"}, 400, 4041),
        ({"amount": True}, 400, 4041),
        ({"amount": [10]}, 400, 4041),
    ],
)
def test_refund_amounts_are_checked(api, body, status, code):
    paid = create_payment(api)
    answer = refund(api, paid["id"], body)
    assert answer.status_code == status and cause_code(answer) == code
    assert payment(api, paid["id"])["refunds"] == []


def test_more_than_what_is_left_is_refused_after_a_partial_refund(api):
    paid = create_payment(api)
    refund(api, paid["id"], {"amount": 60}, key="a")
    answer = refund(api, paid["id"], {"amount": 40.01}, key="b")
    assert answer.status_code == 400 and cause_code(answer) == 2063
    assert answer.json()["cause"][0]["data"] == "amount"
    assert payment(api, paid["id"])["transaction_amount_refunded"] == 60


@pytest.mark.parametrize("status", ["pending", "rejected", "in_process", "cancelled", "refunded"])
def test_only_an_approved_payment_can_be_refunded(api, status):
    other = create_payment(api, status=status)
    answer = refund(api, other["id"], {"amount": 1})
    assert answer.status_code == 400 and cause_code(answer) == 2063


def test_an_unknown_payment_is_a_404_with_cause_2000(api):
    answer = refund(api, 999, {"amount": 1})
    assert answer.status_code == 404 and cause_code(answer) == 2000
    assert api.get("/v1/payments/999/refunds").status_code == 404


@pytest.mark.parametrize(
    ("currency", "days", "allowed"),
    [("ARS", 179, True), ("ARS", 181, False), ("PEN", 89, True), ("PEN", 91, False)],
)
def test_a_payment_approved_too_long_ago_cannot_be_refunded(api, currency, days, allowed):
    freeze(api, "2026-06-01T12:00:00Z")
    approved_at = (datetime(2026, 6, 1, 12, tzinfo=UTC) - timedelta(days=days)).isoformat()
    paid = create_payment(api, currency_id=currency, date_approved=approved_at)
    answer = refund(api, paid["id"], {"amount": 1})
    if allowed:
        assert answer.status_code == 201
    else:
        assert answer.status_code == 400 and cause_code(answer) == 2024


def test_refunds_list_as_an_array_and_one_by_id(api):
    paid = create_payment(api)
    first = refund(api, paid["id"], {"amount": 10}, key="a").json()
    second = refund(api, paid["id"], {"amount": 5}, key="b").json()
    listed = api.get(f"/v1/payments/{paid['id']}/refunds")
    assert listed.status_code == 200 and listed.json() == [first, second]
    one = api.get(f"/v1/payments/{paid['id']}/refunds/{second['id']}")
    assert one.status_code == 200 and one.json() == second
    missing = api.get(f"/v1/payments/{paid['id']}/refunds/123")
    assert missing.status_code == 404 and cause_code(missing) == 2032
    assert api.get(f"/v1/payments/{create_payment(api)['id']}/refunds").json() == []


# --- cancel and capture ----------------------------------------------------------------------


def put(api, payment_id, body, key=None):
    headers = {"x-idempotency-key": key} if key else {}
    return api.put(f"/v1/payments/{payment_id}", json=body, headers=headers)


@pytest.mark.parametrize("status", ["pending", "in_process", "authorized"])
def test_a_pending_or_authorized_payment_is_cancelled_by_the_collector(api, status):
    waiting = create_payment(api, status=status)
    answer = put(api, waiting["id"], {"status": "cancelled"})
    assert answer.status_code == 200
    cancelled = answer.json()
    assert (cancelled["status"], cancelled["status_detail"]) == ("cancelled", "by_collector")
    assert payment(api, waiting["id"]) == answer.json()
    [record] = outbox(api)
    assert json.loads(record["body"])["action"] == "payment.updated"


@pytest.mark.parametrize("status", ["approved", "rejected", "cancelled", "refunded"])
def test_anything_else_cannot_be_cancelled(api, status):
    other = create_payment(api, status=status)
    answer = put(api, other["id"], {"status": "cancelled"})
    assert answer.status_code == 400 and cause_code(answer) == 2063
    assert payment(api, other["id"])["status"] == status


def test_an_authorization_is_captured_for_less_than_it_reserved(api):
    freeze(api, "2026-06-01T12:00:00Z")
    held = create_payment(api, capture=False)
    assert (held["status"], held["status_detail"], held["captured"]) == (
        "authorized",
        "pending_capture",
        False,
    )
    assert held["fee_details"] == [] and held["date_approved"] is None
    advance(api, 120)
    answer = put(api, held["id"], {"capture": True, "transaction_amount": 80.5}, key="cap")
    assert answer.status_code == 200
    captured = answer.json()
    assert (captured["status"], captured["status_detail"], captured["captured"]) == (
        "approved",
        "accredited",
        True,
    )
    assert captured["transaction_amount"] == 80.5 and captured["fee_details"]
    assert captured["date_approved"] == "2026-06-01T08:02:00.000-04:00"
    replay = put(api, held["id"], {"capture": True, "transaction_amount": 80.5}, key="cap")
    assert replay.status_code == 200 and replay.json() == captured
    assert len(outbox(api)) == 1


def test_a_capture_is_checked(api):
    held = create_payment(api, status="authorized")
    over = put(api, held["id"], {"capture": True, "transaction_amount": 100.01})
    assert over.status_code == 400 and cause_code(over) == 2063
    assert put(api, held["id"], {"capture": True, "transaction_amount": "5"}).status_code == 400
    approved = create_payment(api, external_reference="order-2")
    refused = put(api, approved["id"], {"capture": True})
    assert refused.status_code == 400 and cause_code(refused) == 2063
    assert put(api, held["id"], {"capture": True}).json()["transaction_amount"] == 100


def test_other_updates_and_unknown_payments_are_refused(api):
    paid = create_payment(api)
    assert put(api, paid["id"], {"status": "approved"}).status_code == 400
    assert put(api, paid["id"], {"metadata": {"a": 1}}).status_code == 400
    assert put(api, 999, {"status": "cancelled"}).status_code == 404


def test_a_put_key_reused_for_another_update_is_a_409(api):
    waiting = create_payment(api, status="authorized")
    assert put(api, waiting["id"], {"status": "cancelled"}, key="k").status_code == 200
    assert put(api, waiting["id"], {"capture": True}, key="k").status_code == 409


# --- chargebacks -----------------------------------------------------------------------------


def open_chargeback(api, payment_id, **fields):
    answer = api.post(f"/_sandbox/payments/{payment_id}/chargebacks", json=fields)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_chargeback_has_mercado_pagos_documented_shape(api):
    freeze(api, "2026-06-01T12:00:00Z")
    paid = create_payment(api)
    opened = open_chargeback(api, paid["id"], notify=False)
    fetched = api.get(f"/v1/chargebacks/{opened['id']}")
    assert fetched.status_code == 200 and fetched.json() == opened
    documented = fixture_json("chargeback-get-doc-example.json")
    assert set(opened) == set(documented)
    assert re.fullmatch(r"\d{18}", opened["id"]) and int(opened["id"]) > 2**53
    assert opened["payments"] == [paid["id"]]
    assert (opened["amount"], opened["currency"]) == (100, "ARS")
    assert (opened["documentation_required"], opened["documentation_status"]) == (True, "pending")
    assert (opened["coverage_applied"], opened["coverage_elegible"]) == (None, True)
    assert opened["date_documentation_deadline"] == "2026-06-11T08:00:00.000-04:00"
    assert opened["date_created"] == "2026-06-01T08:00:00.000-04:00"
    moved = payment(api, paid["id"])
    assert (moved["status"], moved["status_detail"]) == ("charged_back", "in_process")


def test_a_chargeback_is_also_found_by_its_payment_id(api):
    paid = create_payment(api)
    opened = open_chargeback(api, paid["id"], notify=False)
    assert api.get(f"/v1/chargebacks/{paid['id']}").json()["id"] == opened["id"]
    missing = api.get("/v1/chargebacks/234000000000000001")
    assert missing.status_code == 404 and set(missing.json()) == ERROR_KEYS


def test_opening_a_chargeback_notifies_topic_chargebacks_wh_then_the_payment(api):
    freeze(api, "2026-06-01T12:00:00Z")
    paid = create_payment(api)
    opened = open_chargeback(api, paid["id"], notify={"ipn": True})
    webhook, ipn, payment_update, payment_ipn = outbox(api)
    assert webhook["query"] == f"data.id={opened['id']}&type=topic_chargebacks_wh"
    assert_signed(webhook, opened["id"])
    body = json.loads(webhook["body"])
    assert set(body) == set(CHARGEBACK_NOTIFICATION_DOC) and "action" not in body
    assert set(body["data"]) == set(CHARGEBACK_NOTIFICATION_DOC["data"])
    assert body["actions"] == ["changed_case_status"] and body["type"] == "topic_chargebacks_wh"
    # An exact JSON integer: 18 digits that a float would round.
    assert f'"id":{opened["id"]},' in webhook["body"] and str(body["data"]["id"]) == opened["id"]
    assert body["data"]["payment_id"] == paid["id"] and body["data"]["site_id"] == "MLA"
    assert body["version"] == 1_780_315_200 and body["date_created"] == "2026-06-01T08:00:00-04:00"
    assert ipn["query"] == f"topic=chargebacks&id={opened['id']}"
    assert json.loads(payment_update["body"])["action"] == "payment.updated"
    assert payment_ipn["query"] == f"topic=payment&id={paid['id']}"


@pytest.mark.parametrize(
    ("outcome", "covered", "documentation"),
    [("reimbursed", True, "valid"), ("settled", False, "not_supplied")],
)
def test_a_chargeback_is_decided_for_or_against_the_shop(api, outcome, covered, documentation):
    paid = create_payment(api)
    opened = open_chargeback(api, paid["id"], notify=False)
    decided = api.post(
        f"/_sandbox/chargebacks/{opened['id']}/resolve", json={"outcome": outcome}
    ).json()
    assert (decided["coverage_applied"], decided["documentation_status"]) == (
        covered,
        documentation,
    )
    assert api.get(f"/v1/chargebacks/{opened['id']}").json() == decided
    moved = payment(api, paid["id"])
    assert (moved["status"], moved["status_detail"]) == ("charged_back", outcome)
    webhook, _ = outbox(api)
    assert json.loads(webhook["body"])["data"]["id"] == int(opened["id"])
    again = api.post(f"/_sandbox/chargebacks/{opened['id']}/resolve", json={"outcome": outcome})
    assert again.status_code == 400


def test_chargeback_control_inputs_are_checked(api):
    pending = create_payment(api, status="pending")
    assert api.post(f"/_sandbox/payments/{pending['id']}/chargebacks", json={}).status_code == 400
    paid = create_payment(api, external_reference="order-2")
    opened = open_chargeback(api, paid["id"], notify=False, documentation_required=False)
    assert opened["date_documentation_deadline"] is None
    resolve = f"/_sandbox/chargebacks/{opened['id']}/resolve"
    assert api.post(resolve, json={"outcome": "won"}).status_code == 400
    assert api.post("/_sandbox/chargebacks/1/resolve", json={"outcome": "settled"}).status_code == (
        404
    )


# --- merchant-order Webhooks -----------------------------------------------------------------


def test_a_merchant_order_notification_has_no_data_id(api, webhook_receiver):  # noqa: F811
    paid = create_payment(api)
    order_id = str(paid["order"]["id"])
    answer = api.post(
        f"/_sandbox/payments/{paid['id']}/notify",
        json={"topic": "merchant_order", "url": webhook_receiver.url, "ipn": True},
    )
    assert answer.status_code == 200
    webhook, ipn = webhook_receiver.requests
    assert webhook.query == f"data.id={order_id}&type=topic_merchant_order_wh"
    WebhookSignatureValidator.validate(
        webhook.headers["x-signature"], webhook.headers["x-request-id"], order_id, SANDBOX_SECRET
    )
    body = webhook.json()
    assert set(body) == set(MERCHANT_ORDER_CAPTURE) and set(body["data"]) == set(
        MERCHANT_ORDER_CAPTURE["data"]
    )
    assert "id" not in body["data"] and body["id"] == order_id
    assert (body["action"], body["version"], body["status"]) == ("update", 1, "closed")
    assert body["data"]["status"] == "closed" and body["application_id"] == ""
    assert ipn.query == f"topic=merchant_order&id={order_id}"
    assert ipn.json()["resource"].endswith(f"/merchant_orders/{order_id}")


def test_a_merchant_order_is_notified_by_its_own_id_too(api):
    paid = create_payment(api, status="pending")
    order_id = paid["order"]["id"]
    answer = api.post(f"/_sandbox/merchant_orders/{order_id}/notify", json={"action": "create"})
    [record] = answer.json()["deliveries"]
    body = json.loads(record["body"])
    assert (body["action"], body["version"], body["status"]) == ("create", 0, "opened")
    bad = api.post(f"/_sandbox/merchant_orders/{order_id}/notify", json={"action": "updated"})
    assert bad.status_code == 400
    assert api.post("/_sandbox/merchant_orders/1/notify", json={}).status_code == 404


def test_merchant_order_search_answers_elements_total_and_next_offset(api):
    first = create_payment(api, external_reference="mo-a")
    create_payment(api, external_reference="mo-b", status="pending")
    answer = api.get("/merchant_orders/search", params={"external_reference": "mo-a"})
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"elements", "total", "next_offset"}
    assert [o["id"] for o in body["elements"]] == [first["order"]["id"]] and body["total"] == 1
    page = api.get("/merchant_orders/search", params={"limit": 1, "offset": 1}).json()
    assert (page["total"], page["next_offset"], len(page["elements"])) == (2, 2, 1)
    assert api.get("/merchant_orders/search", params={"status": "opened"}).json()["total"] == 1
    assert api.get("/merchant_orders/search", params={"limit": "x"}).status_code == 400


# --- a write whose answer is lost ------------------------------------------------------------


def test_a_refund_whose_answer_is_dropped_is_made_once_and_replayed(api):
    paid = create_payment(api)
    fault = {"endpoint": "refunds.create", "drop_rate": 1.0, "times": 1, "after_write": True}
    assert api.post("/_sandbox/faults", json=fault).status_code == 200
    with pytest.raises(httpx.RemoteProtocolError):
        refund(api, paid["id"], {"amount": 25}, key="retry-me")
    assert payment(api, paid["id"])["transaction_amount_refunded"] == 25
    retried = refund(api, paid["id"], {"amount": 25}, key="retry-me")
    assert retried.status_code == 201
    assert [r["id"] for r in payment(api, paid["id"])["refunds"]] == [retried.json()["id"]]
    log = api.get("/_sandbox/requests", params={"endpoint": "refunds.create"}).json()["requests"]
    assert [r["headers"]["x-idempotency-key"] for r in log] == ["retry-me", "retry-me"]
    assert [(r["status"], r["fault"]) for r in log] == [(None, "drop_after_write"), (201, None)]


def test_a_server_error_or_a_hang_after_the_write_still_made_it(api):
    paid = create_payment(api)
    error = {"endpoint": "refunds.create", "times": 1, "error_statuses": [503]}
    api.post("/_sandbox/faults", json=error | {"after_write": True})
    assert refund(api, paid["id"], {"amount": 10}, key="a").status_code == 503
    hang = {"endpoint": "payments.update", "timeout_rate": 1.0, "hang_seconds": 5, "times": 1}
    api.post("/_sandbox/faults", json=hang | {"after_write": True})
    held = create_payment(api, status="authorized", external_reference="order-2")
    with pytest.raises(httpx.ReadTimeout):
        api.put(f"/v1/payments/{held['id']}", json={"status": "cancelled"}, timeout=0.3)
    assert payment(api, paid["id"])["transaction_amount_refunded"] == 10
    assert payment(api, held["id"])["status"] == "cancelled"


def test_without_after_write_a_fault_stops_the_write(api):
    paid = create_payment(api)
    api.post("/_sandbox/faults", json={"endpoint": "refunds.create", "times": 1})
    assert refund(api, paid["id"], {"amount": 10}).status_code >= 500
    assert payment(api, paid["id"])["refunds"] == []
    assert api.post("/_sandbox/faults", json={"after_write": "yes"}).status_code == 400


# --- the request log -------------------------------------------------------------------------


def test_the_request_log_shows_every_api_call_and_no_token(sandbox, api):  # noqa: F811
    paid = create_payment(api)
    refund(api, paid["id"], {"amount": 10}, key="logged")
    api.get(f"/v1/payments/{paid['id']}")
    with api_client(sandbox, token="wrong") as stranger:
        stranger.get("/v1/payments/search")
    answer = api.get("/_sandbox/requests").json()
    posted, fetched, refused = answer["requests"]
    assert answer["dropped"] == 0
    assert (posted["method"], posted["path"], posted["endpoint"]) == (
        "POST",
        f"/v1/payments/{paid['id']}/refunds",
        "refunds.create",
    )
    assert json.loads(posted["body"]) == {"amount": 10} and posted["status"] == 201
    assert posted["headers"]["x-idempotency-key"] == "logged"
    assert posted["headers"]["authorization"] == "Bearer [redacted]"
    assert (fetched["endpoint"], fetched["status"]) == ("payments.get", 200)
    assert refused["status"] == 401 and "wrong" not in json.dumps(answer)
    assert "TEST-sandbox" not in json.dumps(answer)
    writes = api.get("/_sandbox/requests", params={"method": "post"}).json()["requests"]
    assert [r["seq"] for r in writes] == [posted["seq"]]
    assert api.delete("/_sandbox/requests").json() == {"cleared": 3}
    api.post("/_sandbox/reset")
    assert api.get("/_sandbox/requests").json()["requests"] == []


def test_a_header_sent_twice_shows_both_values(api):
    paid = create_payment(api)
    headers = [("x-idempotency-key", "sdk-random"), ("x-idempotency-key", "mine")]
    api.post(f"/v1/payments/{paid['id']}/refunds", json={"amount": 1}, headers=headers)
    [logged] = api.get("/_sandbox/requests").json()["requests"]
    assert logged["headers"]["x-idempotency-key"] == "sdk-random, mine"


# --- existing behaviour kept -----------------------------------------------------------------


def test_a_payment_moved_to_refunded_carries_the_refund_that_says_so(api):
    paid = create_payment(api)
    refund(api, paid["id"], {"amount": 30}, key="a")
    moved = api.post(f"/_sandbox/payments/{paid['id']}/status", json={"status": "refunded"}).json()
    assert moved["transaction_amount_refunded"] == 100
    assert [r["amount"] for r in moved["refunds"]] == [30, 70]
    order = api.get(f"/merchant_orders/{paid['order']['id']}").json()
    assert order["refunded_amount"] == 100 and order["payments"][0]["amount_refunded"] == 100
