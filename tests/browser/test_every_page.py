"""Every page of the site, at phone and desktop widths: it fits, axe finds nothing serious.

The tour follows a visitor: fixes, a fix with no answer, the last free fix, the paywall,
the legal pages and the API docs, then an account with an API key, password reset by
the dev outbox, and the admin page. Payment pages are audited in test_payments_flow.
Screenshots land in test-artifacts/ as NAME-390.png and NAME-1280.png.
"""

from __future__ import annotations

import pytest

from bugfixer.main import create_app
from tests.browser.audit import audit
from tests.browser.test_fix_page import BROKEN, ERROR, fill_and_submit
from tests.conftest import make_settings
from tests.support.server import serve

pytestmark = pytest.mark.browser

EMAIL = "boss@example.com"
PASSWORD = "a long enough password"


@pytest.fixture
def site(tmp_path):
    settings = make_settings(tmp_path, admin_emails=EMAIL, contact_email="help@example.com")
    with serve(create_app(settings)) as base:
        yield base


def watch_console(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Errors the page logs: CSP refusals, failed scripts, missing files."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def fix(page) -> None:  # type: ignore[no-untyped-def]
    fill_and_submit(page)
    page.wait_for_selector("#fixed-code")


def test_a_visitors_pages(browser, site):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    console = watch_console(page)

    page.goto(site + "/")
    audit(page, "home")
    page.get_by_label("Code", exact=True).fill(BROKEN.replace("'Ada'", repr("Ada Lovelace " * 30)))
    page.get_by_label("Error message or traceback").fill(ERROR)
    page.get_by_role("button", name="Fix my code").click()
    page.wait_for_selector("#fixed-code")
    audit(page, "home-result")  # a 400-character line scrolls inside its box, not the page
    fix_url = page.locator(".permalink").get_attribute("href")

    page.get_by_label("Code", exact=True).fill("x = 1\n")
    page.get_by_label("Error message or traceback").fill("")
    page.get_by_role("button", name="Fix my code").click()
    page.wait_for_selector("#no-fix")
    audit(page, "home-no-fix")

    fix(page)
    assert "last free fix" in page.locator("#quota-note").inner_text()
    page.goto(site + "/")
    assert "This is your last free fix" in page.locator("#quota-note").inner_text()
    page.get_by_label("Code", exact=True).fill("x" * 24_000)
    page.locator("#code-too-long").wait_for()
    audit(page, "home-too-long")

    page.goto(site + "/fixes")
    audit(page, "history")
    page.goto(site + fix_url)
    audit(page, "saved-fix")
    for path in ("/pricing", "/terms", "/privacy", "/refunds", "/login", "/signup", "/reset"):
        page.goto(site + path)
        audit(page, path.strip("/"))
    page.goto(site + "/no-such-page")
    audit(page, "not-found")
    page.goto(site + "/docs")
    page.get_by_role("button", name="Authorize").wait_for()
    audit(page, "api-docs")

    page.goto(site + "/")
    fix(page)
    fill_and_submit(page)
    page.wait_for_url("**/pricing**")
    audit(page, "paywall")
    # The 404 page and the 402 fetch are logged by Chromium as failed loads; nothing else.
    assert [e for e in console if "status of 40" not in e] == []
    context.close()


def test_an_account_holders_pages(browser, site):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    console = watch_console(page)
    page.goto(site + "/signup")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url("**/account")
    # Only a confirmed address listed in BUGFIXER_ADMIN_EMAILS is an administrator.
    page.goto(site + "/dev/outbox")
    page.locator("pre.mail-body a[href*='/confirm/']").first.click()
    page.goto(site + "/")
    fix(page)
    page.goto(site + "/account")
    page.get_by_label("Key name").fill("laptop")
    page.get_by_role("button", name="Create API key").click()
    page.locator("#new-api-key").wait_for()
    audit(page, "account")
    keys = page.locator("#api-keys tbody tr")
    assert keys.count() == 1
    assert "laptop" in keys.inner_text() and "Never" in keys.inner_text()  # not used yet
    page.reload()  # no second key, and the secret is not shown again
    assert keys.count() == 1 and page.locator("#new-api-key").count() == 0
    page.goto(site + "/admin")
    audit(page, "admin")

    page.get_by_role("button", name="Sign out").click()
    page.goto(site + "/reset")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_role("button", name="Send reset link").click()
    page.locator("#reset-sent").wait_for()
    audit(page, "reset-sent")
    page.get_by_role("link", name="outbox").click()
    page.wait_for_url("**/dev/outbox")
    audit(page, "outbox")
    page.locator("pre.mail-body a").first.click()
    page.get_by_label("New password").wait_for()
    audit(page, "reset-form")
    assert console == []
    context.close()
