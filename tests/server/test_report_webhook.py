"""The report-ready webhook through a running `serve` and the sandbox over HTTP: a correctly
bcrypt-signed notification imports its report once (a redelivery adds nothing), a tampered
one is refused 401 and nothing is fetched, the panel's test is acknowledged without a fetch."""

from __future__ import annotations

import time

from tests.sandbox_support import sandbox_control  # noqa: F401

PASSWORD = "report-password-for-tests"


def rows_in(ctx) -> int:
    return ctx.store.count_rows("report_rows")


def downloads(control) -> int:
    return len(control.requests(endpoint="reports.download"))


def wait_for_rows(ctx, count: int) -> None:
    """The import runs after the 202: wait (bounded) for the background task to finish."""
    deadline = time.monotonic() + 10
    while rows_in(ctx) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def notify(http, control, url: str, **fields):
    body = {
        "url": f"{url}/webhooks/mercadopago/reports",
        "password": PASSWORD,
        "kind": "settlement",
        "begin_date": "2020-01-01T00:00:00Z",
        "end_date": "2020-02-01T00:00:00Z",
        **fields,
    }
    answer = control._call("POST", "/reports/notify", body)
    return answer["notification"], answer["deliveries"][0]


def test_a_signed_notification_imports_once_and_a_tampered_one_fetches_nothing(
    start_server,
    http,
    sandbox_control,  # noqa: F811
):
    control = sandbox_control
    for index in range(3):
        control.create_payment(external_reference=f"o-{index}", status="approved",
                               date_approved="2020-01-10T12:00:00Z",
                               date_last_updated="2020-01-10T12:00:00Z")  # fmt: skip
    url, ctx = start_server(**{"reports.webhook_passwords": ["old-password", PASSWORD]})
    control.clear_requests()

    _tampered, delivery = notify(http, control, url, tamper=True, transaction_id="tx-9")
    assert delivery["status_code"] == 401 and downloads(control) == 0

    note, delivery = notify(http, control, url, transaction_id="tx-1")
    assert delivery["status_code"] == 202
    wait_for_rows(ctx, 3)
    assert rows_in(ctx) == 3 and downloads(control) == 1
    again = http.post(f"{url}/webhooks/mercadopago/reports", json=note)
    assert again.status_code == 202
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and ctx.store.report_notification("tx-1") is None:
        time.sleep(0.05)
    time.sleep(0.2)  # a redelivery's background task, had it fetched, would be done by now
    assert rows_in(ctx) == 3 and downloads(control) == 1
    (record,) = ctx.store.list_report_files(10)
    assert (record.source, record.transaction_id) == ("webhook", "tx-1")


def test_the_panels_test_notification_is_acknowledged_without_a_fetch(
    start_server,
    http,
    sandbox_control,  # noqa: F811
):
    url, _ctx = start_server(**{"reports.webhook_passwords": [PASSWORD]})
    sandbox_control.clear_requests()
    _, delivery = notify(http, sandbox_control, url, is_test=True, transaction_id="tx-test")
    assert delivery["status_code"] == 200 and downloads(sandbox_control) == 0


def test_without_a_configured_password_every_notification_is_refused(
    start_server,
    http,
    sandbox_control,  # noqa: F811
):
    url, _ = start_server()
    _, delivery = notify(http, sandbox_control, url)
    assert delivery["status_code"] == 401
