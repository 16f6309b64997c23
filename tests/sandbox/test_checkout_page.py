"""The sandbox's checkout pages over real HTTP, as a browser without JavaScript uses them: a
preference's sandbox_init_point and an order's checkout_url show what is paid, and each button
makes the payment and sends its signed notification to the link's notification_url. (The whole
story in Chromium, from `checkout link` to the status page: tests/browser.)"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from mpcheckout.signature import verify_headers
from tests.sandbox_support import SANDBOX_SECRET, api_client

HOSTILE = '<script>alert("x")</script>&"'


@pytest.fixture
def api(sandbox):
    with api_client(sandbox) as client:
        yield client


@pytest.fixture
def browser():
    """Plain HTTP as a browser sends it: no token, HTML accepted, redirects not followed (the
    test looks)."""
    with httpx.Client(timeout=10, headers={"accept": "text/html,*/*;q=0.8"}) as client:
        yield client


def preference(api, **fields):
    body = {
        "items": [
            {"title": HOSTILE, "quantity": 2, "unit_price": 2250.5, "currency_id": "ARS"},
            {"title": "Bombilla", "quantity": 1, "unit_price": 1000, "currency_id": "ARS"},
        ],
        "external_reference": "ord-page-1",
        **fields,
    }
    answer = api.post("/checkout/preferences", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def press(browser, url, outcome, **headers):
    return browser.post(url, data={"outcome": outcome}, headers=headers)


def test_the_sandbox_init_point_is_the_sandboxs_own_page_with_items_and_total(
    api,
    browser,
    sandbox,
):
    made = preference(api)
    url = made["sandbox_init_point"]
    assert url == f"{sandbox.url}/_sandbox/preferences/{made['id']}/checkout"
    page = browser.get(url)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src" not in page.headers["content-security-policy"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;&#34;" in page.text
    assert "<script" not in page.text
    assert "ARS 5,501.00" in page.text and "ord-page-1" in page.text
    for outcome in ("approved", "rejected", "pending"):
        assert f'name="outcome" value="{outcome}"' in page.text


@pytest.mark.parametrize(
    ("outcome", "status", "detail", "method"),
    [
        ("approved", "approved", "accredited", "visa"),
        ("rejected", "rejected", "cc_rejected_other_reason", "visa"),
        ("pending", "pending", "pending_waiting_payment", "rapipago"),
    ],
)
def test_each_button_makes_the_payment_and_sends_its_signed_notification(
    api,
    browser,
    webhook_receiver,
    outcome,
    status,
    detail,
    method,
):
    made = preference(api, notification_url=f"{webhook_receiver.url}?source_news=webhooks")
    answer = press(browser, made["sandbox_init_point"], outcome)
    assert answer.status_code == 303
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["notified"] == ["200"]
    payment = api.get(f"/v1/payments/{query['payment'][0]}").json()
    assert (payment["status"], payment["status_detail"]) == (status, detail)
    assert payment["payment_method_id"] == method
    assert payment["external_reference"] == "ord-page-1"
    assert payment["transaction_amount"] == 5501.0
    (received,) = webhook_receiver.requests
    assert received.json()["data"]["id"] == str(payment["id"])
    assert received.json()["action"] == "payment.created"
    assert parse_qs(received.query)["source_news"] == ["webhooks"]
    verify_headers(received.headers, str(payment["id"]), [SANDBOX_SECRET], now=time.time)
    shown = browser.get(str(httpx.URL(made["sandbox_init_point"]).join(answer.headers["location"])))
    assert f"Payment {payment['id']}: {status} ({detail})" in shown.text
    assert "Signed notification delivered: HTTP 200." in shown.text


def test_without_a_notification_url_the_payment_waits_in_the_outbox_for_reconcile(api, browser):
    made = preference(api)
    answer = press(browser, made["sandbox_init_point"], "approved")
    assert parse_qs(urlsplit(answer.headers["location"]).query)["notified"] == ["outbox"]
    (record,) = browser.get(f"{api.base_url}/_sandbox/outbox").json()
    assert record["delivered_to"] is None
    search = api.get("/v1/payments/search", params={"external_reference": "ord-page-1"}).json()
    assert [p["status"] for p in search["results"]] == ["approved"]


def test_a_post_from_another_origin_or_without_a_choice_pays_nothing(api, browser):
    made = preference(api)
    url = made["sandbox_init_point"]
    assert press(browser, url, "approved", origin="https://evil.example").status_code == 400
    assert press(browser, url, "refunded").status_code == 400
    assert browser.post(url, content=b"x" * 5000).status_code == 400
    assert browser.get(f"{api.base_url}/_sandbox/payments").json() == []


def test_an_unknown_link_is_an_html_404_naming_it_escaped(browser, sandbox):
    page = browser.get(f"{sandbox.url}/_sandbox/preferences/%3Cb%3Enope/checkout")
    assert page.status_code == 404 and "&lt;b&gt;nope" in page.text
    paying = browser.post(f"{sandbox.url}/_sandbox/orders/ORDNOPE/checkout", data={"outcome": "x"})
    assert paying.status_code == 404


def order(api, **fields):
    body = {
        "type": "online",
        "total_amount": "150.00",
        "external_reference": "ord-page-2",
        "items": [{"title": HOSTILE, "quantity": 1, "unit_price": "150.00"}],
        **fields,
    }
    answer = api.post("/v1/orders", json=body, headers={"X-Idempotency-Key": "page-1"})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_an_orders_checkout_url_pays_it_once_and_notifies_the_order(
    api,
    browser,
    webhook_receiver,
):
    made = order(api, notification_url=webhook_receiver.url)
    page = browser.get(made["checkout_url"])
    assert "ARS 150.00" in page.text and "&lt;script&gt;" in page.text
    answer = press(browser, made["checkout_url"], "approved")
    assert answer.status_code == 303
    paid = api.get(f"/v1/orders/{made['id']}").json()
    assert (paid["status"], paid["status_detail"]) == ("processed", "accredited")
    (received,) = webhook_receiver.requests
    assert received.json()["type"] == "order" and received.json()["data"]["id"] == made["id"]
    verify_headers(received.headers, made["id"], [SANDBOX_SECRET], now=time.time)
    again = press(browser, made["checkout_url"], "approved")
    assert again.status_code == 409 and "processed" in again.text
    assert "Pay (approved)" not in browser.get(made["checkout_url"]).text


@pytest.mark.parametrize(
    ("outcome", "status"), [("rejected", "failed"), ("pending", "action_required")]
)
def test_an_order_can_be_rejected_or_left_waiting(api, browser, outcome, status):
    made = order(api)
    assert press(browser, made["checkout_url"], outcome).status_code == 303
    assert api.get(f"/v1/orders/{made['id']}").json()["status"] == status


def test_scripts_still_read_an_orders_checkout_as_json(api, browser):
    made = order(api)
    document = browser.get(made["checkout_url"], params={"format": "json"}).json()
    assert document["total_amount"] == "150.00"
    assert document["pay"] == f"POST /_sandbox/orders/{made['id']}/pay"
    assert httpx.get(made["checkout_url"]).json() == document  # no text/html asked for
