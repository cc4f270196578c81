"""Every other page, once, in Chromium: history, a saved fix, reset by mail, admin, API docs."""

from __future__ import annotations

import pytest

from bugfixer.main import create_app
from tests.browser.conftest import screenshot
from tests.browser.test_fix_page import fill_and_submit
from tests.conftest import make_settings
from tests.support.server import serve

pytestmark = pytest.mark.browser


def sign_up(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("first password ok")
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url("**/account")


def open_mailed_link(page, base: str, kind: str) -> None:  # type: ignore[no-untyped-def]
    """Follow the newest /reset/ or /confirm/ link in the dev outbox (mail goes out just
    after the page that sends it has answered, so look again until it is there)."""
    link = page.locator(f"pre.mail-body a[href*='/{kind}/']").first
    for _ in range(50):
        page.goto(base + "/dev/outbox")
        if link.count():
            break
        page.wait_for_timeout(100)
    screenshot(page, f"outbox-{kind}")
    link.click()


def test_history_and_a_saved_fix(page, live_server):
    page.goto(live_server + "/")
    fill_and_submit(page)
    page.wait_for_selector("#fixed-code")
    page.get_by_role("link", name="History").click()
    page.wait_for_url("**/fixes")
    screenshot(page, "history")
    page.locator("table.history a").first.click()
    page.wait_for_selector("#fixed-code")
    assert "Your code" in page.content()
    screenshot(page, "saved-fix")


def test_password_reset_through_the_dev_outbox(page, live_server):
    sign_up(page, live_server, "kay@example.com")
    page.get_by_role("button", name="Sign out").click()
    page.goto(live_server + "/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill("kay@example.com")
    page.get_by_role("button", name="Send reset link").click()
    assert "If an account exists" in page.locator("#reset-sent").inner_text()
    open_mailed_link(page, live_server, "reset")
    page.get_by_label("New password").fill("second password ok")
    page.get_by_role("button", name="Save password").click()
    page.wait_for_url("**/account")
    assert "kay@example.com" in page.locator("#account-email").inner_text()
    screenshot(page, "after-reset")


def test_admin_overview_and_api_docs(browser, tmp_path):
    app = create_app(make_settings(tmp_path, admin_emails="boss@example.com"))
    with serve(app) as base:
        context = browser.new_context()
        page = context.new_page()
        sign_up(page, base, "boss@example.com")
        assert "not confirmed yet" in page.locator("#address-state").inner_text()
        open_mailed_link(page, base, "confirm")
        assert "boss@example.com is confirmed" in page.locator("#confirm-done").inner_text()
        screenshot(page, "address-confirmed")
        page.goto(base + "/")  # the next page knows the confirmed administrator
        page.get_by_role("link", name="Admin").click()
        page.wait_for_url("**/admin")
        assert "MRR" in page.locator("#kpi-mrr").inner_text()
        screenshot(page, "admin")
        page.goto(base + "/docs")
        page.get_by_text("/api/v1/fixes").first.wait_for()
        screenshot(page, "api-docs")
        context.close()
