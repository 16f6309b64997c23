"""The gateway (official SDK over an injected httpx transport) against the sandbox over HTTP."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from mpcheckout.errors import (
    ConfigurationError,
    MercadoPagoAuthError,
    MercadoPagoNotFoundError,
    MercadoPagoRateLimitedError,
    MercadoPagoUnavailableError,
)
from mpcheckout.gateway import PreferenceRequest, build_gateway
from mpcheckout.retry import is_transient
from tests.e2e.support import gateway_settings
from tests.sandbox_support import SANDBOX_TOKEN


class Sleeps(list):
    """Records the waits the gateway asks for instead of waiting (Retry-After is honoured)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def control(sandbox):
    with httpx.Client(base_url=f"{sandbox.url}/_sandbox", timeout=5) as client:
        yield client


def gateway_for(sandbox, sleeps=None, **overrides):
    sleep = sleeps if sleeps is not None else Sleeps()  # an empty Sleeps is falsy
    return build_gateway(gateway_settings(sandbox, **overrides), sleep=sleep)


def test_reads_back_every_fixture_shape(sandbox, control):
    preference_body = {
        "items": [
            {"title": "Premium Plan", "quantity": 1, "unit_price": 99.9, "currency_id": "BRL"}
        ],
        "external_reference": "ORDER-1",
    }
    gateway = gateway_for(sandbox)
    preference = gateway.create_preference(PreferenceRequest(**preference_body))
    assert preference.id and preference.init_point.startswith("https://")
    payment_json = control.post(
        "/payments", json={"preference_id": preference.id, "status": "approved", "notify": False}
    ).json()
    payment = gateway.get_payment(str(payment_json["id"]))
    assert (payment.status, payment.external_reference, payment.amount, payment.currency) == (
        "approved",
        "ORDER-1",
        Decimal("99.9"),
        "BRL",
    )
    assert payment.date_last_updated.tzinfo is not None and int(payment.id) > 2**31
    merchant_order = gateway.get_merchant_order(str(payment_json["order"]["id"]))
    assert merchant_order.payment_ids == (payment.id,)
    assert merchant_order.preference_id == preference.id
    found = list(
        gateway.search_payments(
            datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(minutes=1)
        )
    )
    assert [p.id for p in found] == [payment.id]
    gateway.close()


@pytest.mark.parametrize(
    ("fault", "waits"),
    [
        ({"times": 2, "rate_limit_rate": 1.0, "retry_after": 3}, [3.0, 3.0]),  # Retry-After
        ({"times": 2, "error_statuses": [503]}, [0.2, 0.4]),  # no Retry-After: backoff
    ],
)
def test_rides_out_429s_and_503s(sandbox, control, fault, waits):
    payment = control.post("/payments", json={"external_reference": "r", "notify": False}).json()
    control.post("/faults", json={"endpoint": "payments.get", **fault})
    sleeps = Sleeps()
    gateway = gateway_for(sandbox, sleeps, max_retries=2)
    assert gateway.get_payment(str(payment["id"])).status == "approved"
    assert sleeps == waits
    gateway.close()


def test_gives_up_with_a_transient_error_after_its_retries(sandbox, control):
    payment = control.post("/payments", json={"external_reference": "r", "notify": False}).json()
    control.post(
        "/faults", json={"endpoint": "payments.get", "error_rate": 1.0, "error_statuses": [503]}
    )
    sleeps = Sleeps()
    gateway = gateway_for(sandbox, sleeps, max_retries=2)
    with pytest.raises(MercadoPagoUnavailableError) as caught:
        gateway.get_payment(str(payment["id"]))
    assert caught.value.transient and is_transient(caught.value) and caught.value.status == 503
    assert len(sleeps) == 2
    gateway.close()


def test_a_429_left_over_carries_its_retry_after(sandbox, control):
    payment = control.post("/payments", json={"external_reference": "r", "notify": False}).json()
    control.post(
        "/faults", json={"endpoint": "payments.get", "rate_limit_rate": 1.0, "retry_after": 90}
    )
    gateway = gateway_for(sandbox, max_retries=3, max_retry_wait_seconds=5)
    with pytest.raises(MercadoPagoRateLimitedError) as caught:
        gateway.get_payment(str(payment["id"]))
    assert caught.value.retry_after == 90 and caught.value.transient
    gateway.close()


def test_404_and_401_are_permanent_at_once(sandbox):
    sleeps = Sleeps()
    gateway = gateway_for(sandbox, sleeps, max_retries=3)
    with pytest.raises(MercadoPagoNotFoundError) as caught:
        gateway.get_payment("123456789012")
    assert not caught.value.transient and caught.value.request_id
    wrong = gateway_for(sandbox, sleeps, access_token="APP_USR-wrong-token-000000-abcd")
    with pytest.raises(MercadoPagoAuthError) as caught:
        wrong.get_payment("123456789012")
    assert not caught.value.transient and caught.value.status == 401
    assert sleeps == []
    gateway.close()
    wrong.close()


@pytest.mark.parametrize(
    "fault",
    [
        {"timeout_rate": 1.0, "hang_seconds": 3},
        {"drop_rate": 1.0},
        {"malformed_rate": 1.0},
    ],
)
def test_timeouts_drops_and_malformed_json_are_transient(sandbox, control, fault):
    payment = control.post("/payments", json={"external_reference": "r", "notify": False}).json()
    control.post("/faults", json={"endpoint": "payments.get", **fault})
    gateway = gateway_for(sandbox, read_timeout=0.5)
    with pytest.raises(MercadoPagoUnavailableError) as caught:
        gateway.get_payment(str(payment["id"]))
    assert caught.value.transient
    gateway.close()


def test_search_sweeps_past_the_10000_offset_ceiling(sandbox, control):
    start = datetime(2026, 11, 1, tzinfo=UTC)
    control.post(
        "/payments/bulk",
        json={
            "count": 10_120,
            "status": "approved",
            "external_reference_prefix": "bulk-",
            "start": start.isoformat(),
            "step_seconds": 1,
        },
    )
    gateway = gateway_for(sandbox)
    found = list(gateway.search_payments(start, start + timedelta(days=1)))
    assert len(found) == 10_120 and len({p.id for p in found}) == 10_120
    gateway.close()


def test_search_pages_past_a_full_page_sharing_one_timestamp(sandbox, control):
    moment = datetime(2026, 11, 2, tzinfo=UTC)
    control.post(
        "/payments/bulk",
        json={
            "count": 120,
            "status": "approved",
            "external_reference_prefix": "same-",
            "start": moment.isoformat(),
            "step_seconds": 0,
        },
    )
    gateway = gateway_for(sandbox)
    found = list(gateway.search_payments(moment - timedelta(seconds=1), moment + timedelta(1)))
    assert len({p.id for p in found}) == 120 == len(found)
    gateway.close()


def test_no_access_token_is_a_configuration_error(sandbox):
    with pytest.raises(ConfigurationError):
        build_gateway(gateway_settings(sandbox, access_token=None))


def test_the_token_never_reaches_errors_or_logs(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    gateway = gateway_for(sandbox, api_base="http://127.0.0.1:9")
    with pytest.raises(MercadoPagoUnavailableError) as caught:
        gateway.get_payment("1")
    gateway.close()
    text = f"{caught.value} {caught.value.describe()} {caught.value.details} {caplog.text}"
    assert SANDBOX_TOKEN not in text
