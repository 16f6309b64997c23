"""The sandbox's `GET /users/me`: the account behind its token, configurable through the control
API, refused for any other token, dated by the sandbox's clock."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from mpcheckout.config import MercadoPagoSettings
from mpcheckout.gateway import build_gateway
from tests.sandbox_support import SANDBOX_TOKEN, api_client


def test_users_me_answers_the_sandbox_seller_as_a_test_user(sandbox):
    with api_client(sandbox) as client:
        answer = client.get("/users/me")
    assert answer.status_code == 200
    body = answer.json()
    assert (body["id"], body["site_id"], body["country_id"]) == (724484980, "MLA", "AR")
    assert "test_user" in body["tags"]


def test_another_token_is_refused_with_401(sandbox):
    with api_client(sandbox, token="APP_USR-someone-else") as client:
        assert client.get("/users/me").status_code == 401
    with api_client(sandbox, token=None) as client:
        assert client.get("/users/me").status_code == 401


def test_the_account_is_configurable_and_reset(sandbox):
    with api_client(sandbox, token=None) as control:
        changed = control.post(
            "/_sandbox/account", json={"id": 99, "site_id": "MLB", "test_user": False}
        ).json()
        assert (changed["id"], changed["country_id"], changed["test_user"]) == (99, "BR", False)
        bad = control.post("/_sandbox/account", json={"site_id": "XX"})
        assert bad.status_code == 400 and bad.json()["cause"][0]["data"] == "site_id"
    with api_client(sandbox) as client:
        body = client.get("/users/me").json()
        assert (body["id"], body["tags"]) == (99, ["normal"])
        client.post("/_sandbox/reset")
        assert client.get("/users/me").json()["id"] == 724484980


def test_the_date_header_follows_the_sandbox_clock(sandbox):
    with api_client(sandbox) as client:
        client.post("/_sandbox/clock", json={"now": "2030-01-02T03:04:05Z"})
        answer = client.get("/users/me")
    (date,) = answer.headers.get_list("date")
    assert parsedate_to_datetime(date).isoformat() == "2030-01-02T03:04:05+00:00"


def test_the_gateway_reads_the_account_and_mercado_pagos_clock(sandbox):
    settings = MercadoPagoSettings(access_token=SANDBOX_TOKEN, api_base=sandbox.url)
    gateway = build_gateway(settings)
    try:
        account = gateway.get_user_me()
    finally:
        gateway.close()
    assert (account.id, account.test_user, account.test_user_evidence) == (
        "724484980",
        True,
        "tags: test_user",
    )
    assert account.server_date is not None and account.server_date.tzinfo is not None
