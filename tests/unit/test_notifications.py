import json

import pytest

from mpcheckout.notifications import (
    COALESCE_KEY_PREFIX,
    PERMANENT_KEY_PREFIX,
    InvalidNotificationError,
    RawRequest,
    is_coalescing_key,
    parse_http_capture,
    parse_notification,
)
from tests.mp_fixtures import http_fixtures, notification_fixtures


def body(value) -> RawRequest:
    return RawRequest(body=json.dumps(value).encode())


@pytest.mark.parametrize("path", notification_fixtures(), ids=lambda p: p.name)
def test_every_notification_fixture_parses(path):
    notification = parse_notification(RawRequest(body=path.read_bytes()))
    raw = json.loads(path.read_text())
    assert notification.kind == "webhook"
    assert notification.topic == raw["type"]
    assert notification.action == raw["action"]
    assert notification.resource_id == str(raw["data"]["id"])
    assert notification.notification_id == str(raw["id"])
    assert notification.payload == path.read_text()


@pytest.mark.parametrize("path", http_fixtures(), ids=lambda p: p.name)
def test_every_http_capture_keeps_query_and_headers(path):
    request = parse_http_capture(path.read_text())
    notification = parse_notification(request)
    assert notification.headers["x-request-id"]
    assert notification.headers["x-signature"].startswith("ts=")
    assert "data.id=" in notification.headers[":query"]
    assert notification.resource_id in notification.headers[":query"]


def test_two_documented_examples_sharing_an_id_get_different_keys(fixtures_dir):
    updated = fixtures_dir / "mp-docs-checkout-pro-payment-notifications-pt_payment-updated.json"
    order = fixtures_dir / "mp-docs-qr-order-notifications-pt_order-action-required.json"
    first = parse_notification(RawRequest(body=updated.read_bytes()))
    second = parse_notification(RawRequest(body=order.read_bytes()))
    assert first.notification_id == second.notification_id == "123456"
    assert first.dedupe_key != second.dedupe_key
    assert first.dedupe_key.startswith(PERMANENT_KEY_PREFIX)


def test_numeric_and_string_ids_give_the_same_key():
    as_numbers = body(
        {
            "id": 12345,
            "type": "payment",
            "action": "payment.created",
            "data": {"id": 999},
            "user_id": 44444,
        }
    )
    as_strings = body(
        {
            "id": "12345",
            "type": "payment",
            "action": "payment.created",
            "data": {"id": "999"},
            "user_id": "44444",
        }
    )
    assert parse_notification(as_numbers).dedupe_key == parse_notification(as_strings).dedupe_key
    assert parse_notification(as_numbers).user_id == "44444"


def test_same_id_with_another_action_is_another_notification():
    created = {"id": 1, "type": "payment", "action": "payment.created", "data": {"id": "5"}}
    updated = {**created, "action": "payment.updated"}
    assert (
        parse_notification(body(created)).dedupe_key != parse_notification(body(updated)).dedupe_key
    )


def test_legacy_ipn_query_string():
    notification = parse_notification(RawRequest(query="topic=payment&id=123456789"))
    assert (notification.kind, notification.topic, notification.resource_id) == (
        "ipn",
        "payment",
        "123456789",
    )
    assert is_coalescing_key(notification.dedupe_key)
    assert notification.headers[":query"] == "topic=payment&id=123456789"


def test_legacy_ipn_body_with_merchant_order_url():
    request = body(
        {
            "resource": "https://api.mercadolibre.com/merchant_orders/4018801790",
            "topic": "merchant_order",
        }
    )
    notification = parse_notification(request)
    assert (notification.topic, notification.resource_id) == ("merchant_order", "4018801790")
    assert notification.dedupe_key.startswith(COALESCE_KEY_PREFIX)


def test_legacy_ipn_body_with_bare_id_and_its_query_twin_coalesce():
    from_body = parse_notification(body({"resource": "123", "topic": "payment"}))
    from_query = parse_notification(RawRequest(query="topic=payment&id=123"))
    assert from_body.dedupe_key == from_query.dedupe_key


def test_webhook_query_without_body_is_kept():
    notification = parse_notification(RawRequest(query="data.id=77&type=payment"))
    assert (notification.topic, notification.resource_id) == ("payment", "77")
    assert is_coalescing_key(notification.dedupe_key)


def test_unknown_type_and_action_are_kept():
    notification = parse_notification(
        body({"id": 9, "type": "brand_new_topic", "action": "thing.happened", "data": {"id": "x1"}})
    )
    assert (notification.topic, notification.action) == ("brand_new_topic", "thing.happened")


def test_authorization_headers_are_never_kept():
    request = RawRequest(
        headers={"Authorization": "Bearer APP_USR-secret", "X-Request-Id": "r1", "Cookie": "s=1"},
        body=json.dumps({"id": 1, "type": "payment", "data": {"id": "1"}}).encode(),
    )
    headers = parse_notification(request).headers
    assert "authorization" not in headers and "cookie" not in headers
    assert headers["x-request-id"] == "r1"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "malformed JSON"),
        (b"42", "not an object"),
        (b'"payment"', "not an object"),
        (b"[1, 2]", "not an object"),
        (b'{"hello": "world"}', "neither a Webhooks nor an IPN"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"", "empty body"),
        (b'{"type": "payment", "data": "7"}', "data is not an object"),
        (b'{"type": "payment", "data": {"id": {"nested": 1}}}', "not a string or a number"),
        (b'{"type": "payment", "data": {"id": "../../etc/passwd"}}', "characters"),
        (b'{"type": "payment; DROP TABLE orders", "data": {"id": "1"}}', "plain name"),
        (b'{"resource": "1", "topic": 5}', "plain name"),
        (b'{"type": "payment", "data": {"id": true}}', "not a string or a number"),
    ],
)
def test_bad_input_raises_only_the_projects_error(raw, reason):
    with pytest.raises(InvalidNotificationError) as caught:
        parse_notification(RawRequest(body=raw))
    assert reason in caught.value.reason


def test_oversized_body_is_refused_before_parsing():
    huge = json.dumps({"id": 1, "type": "payment", "data": {"id": "1"}, "pad": "x" * 300_000})
    with pytest.raises(InvalidNotificationError, match="larger than"):
        parse_notification(RawRequest(body=huge.encode()))


def test_deeply_nested_json_is_invalid_not_a_crash():
    nested = "[" * 100_000 + "]" * 100_000
    with pytest.raises(InvalidNotificationError):
        parse_notification(RawRequest(body=nested.encode()))


def test_http_capture_must_start_with_a_request_line():
    with pytest.raises(InvalidNotificationError):
        parse_http_capture("hello\nworld")
