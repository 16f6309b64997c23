"""A newcomer's first payment, end to end in Chromium: `mpcheckout checkout link` against the
sandbox, with `server.public_url` pointing at a running `serve`; the link opens the sandbox's
checkout page (JavaScript off), "Pay (approved)" makes the payment and sends its signed
notification to `serve`, `mpcheckout process --once` applies it, and the order is paid in
`orders list` and on the status page."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from mpcheckout.i18n import Translator
from tests.browser.test_status_page import shot, sign_in
from tests.sandbox_support import SANDBOX_SECRET, SANDBOX_TOKEN
from tests.server.ui_support import UI_TOKEN


def mpcheckout(tmp_path, env: dict[str, str], *args: str) -> str:
    """The real command in its own process (Playwright's loop holds this thread's asyncio)."""
    done = subprocess.run(
        [sys.executable, "-m", "mpcheckout", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def shop_env(tmp_path, sandbox_url: str, public_url: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MPCHECKOUT_")}
    return {
        **clean,
        "MPCHECKOUT_LOCALE": "en",
        "MPCHECKOUT_DATABASE__URL": str(tmp_path / "shop.db"),  # the server's database
        "MPCHECKOUT_MERCADOPAGO__ACCESS_TOKEN": SANDBOX_TOKEN,
        "MPCHECKOUT_MERCADOPAGO__API_BASE": sandbox_url,
        "MPCHECKOUT_SERVER__PUBLIC_URL": public_url,
    }


def test_a_checkout_link_made_against_the_sandbox_is_paid_in_the_browser(
    browser_page, start_server, sandbox, tmp_path
):
    # `serve` checks signatures with the sandbox's webhook secret, as a shop's would with its own.
    url, ctx = start_server(
        **{"server.ui_token": UI_TOKEN, "mercadopago.webhook_secrets": [SANDBOX_SECRET]}
    )
    env = shop_env(tmp_path, sandbox.url, url)
    printed = mpcheckout(
        tmp_path, env, "checkout", "link", "--title", "Mate", "--amount", "4500",
        "--currency", "ARS", "--reference", "shop-first-1",
    )  # fmt: skip
    link = printed.strip()
    assert link.startswith(f"{sandbox.url}/_sandbox/preferences/")

    page = browser_page(javascript=False)
    page.goto(link)
    assert page.locator("#total").inner_text() == "ARS 4,500.00"
    assert page.get_by_role("cell", name="Mate").is_visible()
    shot(page, tmp_path, "sandbox-checkout")
    page.get_by_role("button", name="Pay (approved)").click()
    notice = page.get_by_role("status").inner_text()
    assert "approved (accredited)" in notice and "delivered: HTTP 200" in notice
    shot(page, tmp_path, "sandbox-paid")
    assert ctx.store.get_order("shop-first-1").status == "pending"  # queued, not yet applied

    mpcheckout(tmp_path, env, "process", "--once")
    listing = json.loads(mpcheckout(tmp_path, env, "orders", "list", "--json"))
    assert [(o["id"], o["status"]) for o in listing["orders"]] == [("shop-first-1", "paid")]

    t = Translator("en")
    ui = browser_page(javascript=False)
    sign_in(ui, url, "en")
    ui.get_by_role("link", name=t("ui.nav.orders"), exact=True).click()
    ui.get_by_role("link", name="shop-first-1").click()
    assert ui.get_by_text(t("ui.order_status.paid")).first.is_visible()
    assert ui.locator(".cards").first.inner_text().count("ARS 4,500.00") == 2  # amount and paid
    shot(ui, tmp_path, "ui-order-paid")
