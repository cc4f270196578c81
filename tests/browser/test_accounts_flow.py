"""Accounts in Chromium: free fixes and history follow the person, not the cookie."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import screenshot
from tests.browser.test_fix_page import fill_and_submit

pytestmark = pytest.mark.browser

EMAIL = "grace@example.com"
PASSWORD = "a long enough password"


def test_usage_and_history_survive_sign_up_sign_out_and_a_new_browser(browser, live_server):
    first = browser.new_context()
    page = first.new_page()
    page.goto(live_server + "/")
    fix_ids = []
    for _ in range(2):
        fill_and_submit(page)
        page.wait_for_selector("#fixed-code")
        fix_ids.append(page.locator(".result").get_attribute("data-fix-id"))
        page.goto(live_server + "/")
    assert "1 of 3 free fixes left" in page.locator("#quota").inner_text()

    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    screenshot(page, "signup")
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url("**/account")
    assert "1 of 3 free fixes left" in page.locator("#plan").inner_text()
    screenshot(page, "account")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(live_server + "/")
    assert page.get_by_role("link", name="Sign in").is_visible()
    first.close()

    fresh = browser.new_context(user_agent="Mozilla/5.0 (another device)")
    page = fresh.new_page()
    page.goto(live_server + "/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/account")
    assert "1 of 3 free fixes left" in page.locator("#plan").inner_text()
    page.goto(live_server + "/fixes")
    links = page.locator("table.history a").evaluate_all("els => els.map(e => e.href)")
    assert sorted(re.sub(r".*/fixes/", "", h) for h in links) == sorted(fix_ids)
    fresh.close()


def test_wrong_password_shows_a_message_that_reveals_nothing(page, live_server):
    page.goto(live_server + "/login")
    page.get_by_label("Email").fill("nobody@example.com")
    page.get_by_label("Password").fill("whatever it is")
    page.get_by_role("button", name="Sign in").click()
    assert "do not match an account" in page.locator("#form-error").inner_text()
    screenshot(page, "login-error")
