"""`mpcheckout sandbox serve | notify`: notify through Typer's runner against a receiver on
127.0.0.1, serve as a real process that is started, called and stopped with a signal."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import httpx
import typer
import typer.main
from mercadopago.webhook import WebhookSignatureValidator
from typer.testing import CliRunner

from mpcheckout.cli import AppGroup
from mpcheckout.cli.sandbox import register
from mpcheckout.errors import EXIT_CONFIG, EXIT_PROBLEMS, EXIT_UNAVAILABLE, EXIT_USAGE
from tests.sandbox_support import webhook_receiver  # noqa: F401

PAYMENT_ID = "1320000000001"
# Runs the real CLI with the sandbox group, whether or not cli/__init__.py registers it yet.
CLI_PROCESS = """
from mpcheckout.cli import app, main
from mpcheckout.cli.sandbox import register
if not any(group.name == "sandbox" for group in app.registered_groups):
    register(app)
main()
"""


def sandbox_cli() -> typer.Typer:
    """The sandbox group under the project's error boundary, as `mpcheckout` will have it."""
    app = typer.Typer(cls=AppGroup, pretty_exceptions_enable=False)

    @app.callback()
    def root() -> None:
        """mpcheckout"""

    register(app)
    return app


def run(*args: str):
    return CliRunner().invoke(sandbox_cli(), list(args), catch_exceptions=False)


def verify(request, secret: str) -> None:
    WebhookSignatureValidator.validate(
        request.headers["x-signature"], request.headers["x-request-id"], PAYMENT_ID, secret
    )


# --- notify ----------------------------------------------------------------------------------


def test_notify_signs_with_the_first_configured_secret(workdir, monkeypatch, webhook_receiver):  # noqa: F811
    monkeypatch.setenv("MPCHECKOUT_MERCADOPAGO__WEBHOOK_SECRETS", "current-secret,old-secret")
    url = webhook_receiver.url
    args = ("--payment", PAYMENT_ID, "--ipn", "--duplicates", "1", "--json")
    result = run("sandbox", "notify", "--to", url, *args)
    assert result.exit_code == 0, result.output
    deliveries = json.loads(result.stdout)["deliveries"]
    assert [(d["kind"], d["status_code"]) for d in deliveries] == [
        ("webhook", 200),
        ("webhook", 200),
        ("ipn", 200),
    ]
    first, again, ipn = webhook_receiver.requests
    verify(first, "current-secret")
    verify(again, "current-secret")
    assert first.body == again.body and json.loads(first.body)["action"] == "payment.updated"
    assert first.query == f"data.id={PAYMENT_ID}&type=payment"
    assert ipn.query == f"topic=payment&id={PAYMENT_ID}"
    assert "current-secret" not in result.output


def test_notify_prints_one_row_per_delivery(workdir, webhook_receiver):  # noqa: F811
    url = webhook_receiver.url
    result = run(
        "sandbox", "notify", "--to", url, "--payment", PAYMENT_ID, "--action", "payment.created"
    )
    assert result.exit_code == 0, result.output
    [received] = webhook_receiver.requests
    verify(received, "sandbox-webhook-secret")  # settings' sandbox.webhook_secret by default
    assert json.loads(received.body)["action"] == "payment.created"
    assert "webhook" in result.stdout and "200" in result.stdout
    assert received.headers["x-request-id"] in result.stdout
    assert "sandbox-webhook-secret" not in result.output


def test_notify_with_an_explicit_secret(workdir, webhook_receiver):  # noqa: F811
    url = webhook_receiver.url
    result = run("sandbox", "notify", "--to", url, "--payment", PAYMENT_ID, "--secret", "s3")
    assert result.exit_code == 0
    verify(webhook_receiver.requests[0], "s3")


def test_an_unreachable_receiver_exits_69(workdir):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    result = run("sandbox", "notify", "--to", url, "--payment", PAYMENT_ID)
    assert result.exit_code == EXIT_UNAVAILABLE
    assert url in result.stderr
    result = run("sandbox", "notify", "--to", url, "--payment", PAYMENT_ID, "--json")
    assert json.loads(result.stdout)["error"]["code"] == "mercadopago_unavailable"


def test_a_receiver_that_refuses_makes_the_command_fail(workdir, webhook_receiver):  # noqa: F811
    webhook_receiver.status = 401
    result = run("sandbox", "notify", "--to", webhook_receiver.url, "--payment", PAYMENT_ID)
    assert result.exit_code == EXIT_PROBLEMS
    assert "401" in result.stdout and "2xx" in result.stderr


def test_a_bad_url_or_option_is_a_usage_error(workdir):
    assert run("sandbox", "notify", "--to", "ftp://x", "--payment", "1").exit_code == EXIT_USAGE
    assert run("sandbox", "notify", "--to", "http://x", "--payment", "0").exit_code == EXIT_USAGE


# --- serve -----------------------------------------------------------------------------------


def test_serve_refuses_a_broken_seed_file(workdir):
    (workdir / "seed.json").write_text('{"payments": [{"status": "paid"}]}')
    result = run("sandbox", "serve", "--port", "0", "--seed-file", "seed.json")
    assert result.exit_code == EXIT_CONFIG
    assert "seed.json" in result.stderr


def start_serve(workdir, *args: str, token: str) -> subprocess.Popen:
    environment = {**os.environ, "MPCHECKOUT_SANDBOX__ACCESS_TOKEN": token}
    return subprocess.Popen(
        [sys.executable, "-c", CLI_PROCESS, "sandbox", "serve", "--port", "0", *args],
        cwd=workdir,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(process: subprocess.Popen, signum: int) -> tuple[str, str]:
    process.send_signal(signum)
    try:
        out, err = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert process.returncode == 0, err
    return out, err


def test_serve_prints_its_url_serves_the_api_and_stops_on_sigterm(workdir):
    token = "TEST-serve-token-never-printed-71c9"
    process = start_serve(workdir, "--json", token=token)
    try:
        url = json.loads(process.stdout.readline())["url"]
        assert url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
            assert client.get("/v1/payments/search").json()["paging"]["total"] == 0
            assert (
                client.get("/v1/payments/1", headers={"Authorization": "Bearer x"}).status_code
                == 401
            )
            assert (
                client.post("/_sandbox/payments", json={"external_reference": "a"}).status_code
                == 201
            )
    finally:
        out, err = stop(process, signal.SIGTERM)
    assert f"MPCHECKOUT_MERCADOPAGO__API_BASE={url}" in err
    assert "Sandbox stopped." in err
    assert token not in out + err


def test_serve_applies_fault_flags_and_stops_on_ctrl_c(workdir):
    process = start_serve(workdir, "--error-rate", "1", "--fault-seed", "7", token="TEST-t")
    try:
        url = process.stdout.readline().strip()
        with httpx.Client(base_url=url, headers={"Authorization": "Bearer TEST-t"}) as client:
            assert client.get("/v1/payments/search").status_code in (500, 502, 503)
            assert client.get("/_sandbox/outbox").status_code == 200
    finally:
        stop(process, signal.SIGINT)


def test_every_sandbox_command_and_option_has_help_text():
    group = typer.main.get_command(sandbox_cli()).commands["sandbox"]
    assert group.help and set(group.commands) == {"serve", "notify"}
    for command in group.commands.values():
        assert command.help
        assert all(param.help for param in command.params if param.param_type_name == "option")
