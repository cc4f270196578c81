"""Paying in Chromium: paywall, sign-up, the emulator's hosted checkout, the portal, the end."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime

import pytest

from tests.browser.audit import audit
from tests.browser.conftest import screenshot
from tests.browser.test_fix_page import fill_and_submit

pytestmark = pytest.mark.browser

EMAIL = "mrsmith@gmail.com"
PASSWORD = "a long enough password"
GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"


def months_ahead(today: date, months: int) -> date:
    """Stripe's calendar arithmetic: same day of the month, clamped to the month's end."""
    index = today.month - 1 + months
    year, month = today.year + index // 12, index % 12 + 1
    return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


def long_date(day: date) -> str:
    return f"{day.strftime('%B')} {day.day}, {day.year}"


def fix_once(page) -> None:
    """One fix through the page's form; it must succeed."""
    fill_and_submit(page)
    page.wait_for_selector("#fixed-code")
    assert "def greet(name):" in page.locator("#fixed-code").inner_text()


def use_the_free_fixes(page, live_server: str) -> None:
    page.goto(live_server + "/")
    for _ in range(3):
        fix_once(page)


def expect_paywall(page) -> None:
    """The form's fix is refused with 402 and the page moves to pricing."""
    with page.expect_response("**/fix/stream") as refused:
        fill_and_submit(page)
    assert refused.value.status == 402
    page.wait_for_url("**/pricing**")
    assert page.locator("#paywall").is_visible()
    assert "used all 3 free fixes" in page.locator("#paywall").inner_text()


def sign_up(page) -> None:
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()


def fill_card(page, card: str) -> None:
    email = page.get_by_label("Email")
    if email.is_editable():
        email.fill(EMAIL)
    else:  # like Stripe, the page locks an existing customer's email
        assert email.input_value() == EMAIL
    page.get_by_label("Card number").fill(card)
    page.get_by_label("Expiry").fill("09/30")
    page.get_by_label("CVC").fill("424")


def stripe_control(page, live_server: str, name: str, body: dict) -> dict:  # type: ignore[type-arg]
    r = page.request.post(f"{live_server}/_stripe/_test/{name}", data=body, timeout=30_000)
    assert r.ok, r.text()
    return r.json()


def flush_webhooks(page, live_server: str) -> None:
    assert not stripe_control(page, live_server, "flush", {"timeout": 20})["timed_out"]


def test_quarterly_plan_paid_in_the_browser_gives_unlimited_fixes_until_the_canceled_period_ends(
    page, live_server
):
    today = datetime.now(UTC).date()
    renews = long_date(months_ahead(today, 3))

    use_the_free_fixes(page, live_server)
    assert "0 of 3 free fixes left" in page.locator("#quota").inner_text()
    expect_paywall(page)
    plans = page.locator(".plan")
    assert plans.count() == 3
    for code, name, price in (
        ("monthly", "Monthly", "$5.00"),
        ("quarterly", "Quarterly", "$12.00"),
        ("annual", "Annual", "$50.00"),
    ):
        plan = page.locator(f'.plan[data-plan="{code}"]')
        assert plan.locator("h2").inner_text() == name
        assert plan.locator(".amount").inner_text() == price
    audit(page, "payments-paywall")

    page.get_by_role("button", name="Subscribe to the Quarterly plan").click()
    page.wait_for_url("**/signup?next=**")
    assert (
        page.locator("#signup-plan")
        .inner_text()
        .startswith("Creating your account for the Quarterly plan ($12.00 every 3 months).")
    )
    audit(page, "payments-signup-before-checkout")
    sign_up(page)

    page.wait_for_url(re.compile(r".*/_stripe/checkout/cs_[^/?]+$"))
    assert "TEST MODE" in page.locator(".testmode").inner_text()
    assert page.locator(".amount").inner_text() == "$12.00"
    assert "every 3 months" in page.locator("main").inner_text()
    fill_card(page, GOOD_CARD)
    audit(page, "payments-checkout-filled")
    page.get_by_role("button", name="Subscribe").click()

    page.wait_for_url("**/billing/success?session_id=cs_*")
    assert page.locator("#success-message").inner_text() == (
        "You have successfully paid $12.00 for the Quarterly plan for unlimited access "
        "to the Code Bug Fixer"
    )
    assert page.locator("#quota").inner_text() == "Unlimited fixes"
    audit(page, "payments-success")
    flush_webhooks(page, live_server)

    page.goto(live_server + "/")
    assert page.locator("#quota").inner_text() == "Unlimited fixes"
    for _ in range(10):
        fix_once(page)
        assert page.locator("#quota").inner_text() == "Unlimited fixes"
    page.goto(live_server + "/")
    assert page.locator("#quota").inner_text() == "Unlimited fixes"
    screenshot(page, "payments-unlimited-fixes")

    page.goto(live_server + "/account")
    plan = page.locator("#plan").inner_text()
    assert "Quarterly" in plan and "active" in plan and "unlimited fixes" in plan
    assert page.locator("#renewal").inner_text().strip() == f"Renews on {renews}."
    assert page.locator("#fixes-left").count() == 0
    (row,) = page.locator("#billing-history tbody tr").all()
    cells = row.locator("td").all_inner_texts()
    assert cells == [long_date(today), "Payment", "Quarterly", "$12.00"]
    audit(page, "payments-account-active")

    page.get_by_role("button", name="Manage billing").click()
    page.wait_for_url(re.compile(r".*/_stripe/portal/[^/]+$"))
    assert "TEST MODE" in page.locator(".testmode").inner_text()
    assert "Status: active" in page.locator(".plan").inner_text()
    assert f"Renews on {renews}" in page.locator(".plan").inner_text()  # the app's date format
    audit(page, "payments-portal")
    page.get_by_role("button", name="Cancel plan").click()
    page.get_by_role("button", name="Confirm cancellation").wait_for()
    assert f"active until {renews}" in page.locator("main").inner_text()
    audit(page, "payments-portal-confirm")
    page.get_by_role("button", name="Confirm cancellation").click()
    page.get_by_role("button", name="Resume plan").wait_for()
    audit(page, "payments-portal-canceled")
    flush_webhooks(page, live_server)
    page.get_by_role("link", name="Return to the app").click()

    page.wait_for_url(live_server + "/account")
    assert page.locator("#renewal").inner_text().strip() == (
        f"Ends on {renews}; it will not renew."
    )
    assert "unlimited fixes" in page.locator("#plan").inner_text()
    audit(page, "payments-account-canceled")

    page.goto(live_server + "/")
    assert page.locator("#quota").inner_text() == "Unlimited fixes"
    fix_once(page)

    stripe_control(page, live_server, "advance", {"days": 95})
    flush_webhooks(page, live_server)
    page.goto(live_server + "/")
    expect_paywall(page)
    screenshot(page, "payments-paywall-after-period-end")
    page.goto(live_server + "/account")
    assert page.locator("#renewal").inner_text().strip() == f"Ended {renews}."
    assert page.locator("#billing-history tbody tr").count() == 1  # no renewal charged


def test_declined_card_stays_on_checkout_and_the_account_stays_free(page, live_server):
    page.goto(live_server + "/signup")
    sign_up(page)
    page.wait_for_url("**/account")
    use_the_free_fixes(page, live_server)

    page.goto(live_server + "/pricing")
    page.get_by_role("button", name="Subscribe to the Monthly plan").click()
    page.wait_for_url(re.compile(r".*/_stripe/checkout/cs_[^/?]+$"))
    checkout_url = page.url
    assert page.locator(".amount").inner_text() == "$5.00"
    fill_card(page, DECLINED_CARD)
    page.get_by_role("button", name="Subscribe").click()

    page.get_by_role("alert").wait_for()
    assert page.get_by_role("alert").inner_text() == "Your card was declined."
    assert page.url == checkout_url
    assert page.get_by_label("Card number").input_value() == DECLINED_CARD
    assert page.get_by_role("button", name="Subscribe").is_visible()
    audit(page, "payments-card-declined")
    flush_webhooks(page, live_server)

    page.goto(live_server + "/account")
    assert "Free plan" in page.locator("#plan").inner_text()
    assert page.locator("#fixes-left").inner_text() == "0"
    assert page.locator("#billing-history").count() == 0
    assert page.get_by_role("button", name="Manage billing").count() == 0
    screenshot(page, "payments-account-after-decline")

    page.goto(live_server + "/")
    expect_paywall(page)
