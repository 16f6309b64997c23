"""Issue 18 in the sandbox: a payment can say `live_mode` either way (and its notifications with
it), and a token of another seller sees its own account and 404 for this seller's resources."""

from __future__ import annotations

import json

from mpcheckout.sandbox.client import SandboxControl
from tests.sandbox_support import api_client

OTHER_TOKEN = "APP_USR-other-seller-token-for-tests"


def notified_body(control: SandboxControl) -> dict:
    (request,) = control.take_outbox()
    return json.loads(request.body)


def test_a_payment_says_live_mode_as_created_and_its_notification_says_the_same(sandbox):
    control = SandboxControl(sandbox.url)
    try:
        test = control.create_payment(external_reference="o-1", notify={})
        assert test["live_mode"] is False and notified_body(control)["live_mode"] is False
        live = control.create_payment(external_reference="o-2", live_mode=True, notify={})
        assert live["live_mode"] is True and notified_body(control)["live_mode"] is True
        # A notification may contradict its payment, as one from Mercado Pago was seen to.
        control.notify_payment(live["id"], live_mode=False)
        assert notified_body(control)["live_mode"] is False
    finally:
        control.close()
    with api_client(sandbox) as client:
        assert client.get(f"/v1/payments/{live['id']}").json()["live_mode"] is True
        bad = client.post("/_sandbox/payments", json={"external_reference": "x", "live_mode": 1})
        assert bad.status_code == 400 and bad.json()["cause"][0]["data"] == "live_mode"


def test_another_sellers_token_sees_its_account_and_none_of_this_sellers_resources(sandbox):
    control = SandboxControl(sandbox.url)
    try:
        payment = control.create_payment(external_reference="o-1", notify=False)
        control.add_other_account(OTHER_TOKEN, 555, test_user=False)
    finally:
        control.close()
    with api_client(sandbox, token=OTHER_TOKEN) as other:
        me = other.get("/users/me").json()
        assert (me["id"], "test_user" in me["tags"]) == (555, False)
        answer = other.get(f"/v1/payments/{payment['id']}")
        assert (answer.status_code, answer.json()["message"]) == (404, "Payment not found")
        order = payment["order"]["id"]
        assert other.get(f"/merchant_orders/{order}").status_code == 404
        assert other.get("/v1/payments/search").json()["results"] == []
    with api_client(sandbox) as own:
        assert own.get(f"/v1/payments/{payment['id']}").status_code == 200
        assert own.get("/users/me").json()["id"] != 555
        listed = own.get("/_sandbox/other-accounts").json()["other_accounts"]
        assert listed == [
            {"id": 555, "nickname": "OTHERSELLER", "test_user": False, "site_id": "MLA"}
        ]
        assert OTHER_TOKEN not in json.dumps(listed)
        own.post("/_sandbox/reset")
    with api_client(sandbox, token=OTHER_TOKEN) as other:
        assert other.get("/users/me").status_code == 401  # reset forgets other sellers


def test_the_sandboxs_own_token_cannot_be_registered_as_another_sellers(sandbox):
    with api_client(sandbox) as client:
        own = client.post(
            "/_sandbox/other-accounts", json={"access_token": sandbox.context.access_token, "id": 9}
        )
        assert own.status_code == 400 and own.json()["cause"][0]["data"] == "access_token"
        nameless = client.post("/_sandbox/other-accounts", json={"access_token": "x"})
        assert nameless.status_code == 400 and nameless.json()["cause"][0]["data"] == "id"
