"""The operator's pages in Chromium, with a known day of business, on a desktop and a phone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bugfixer.main import create_app
from tests.admin.business import build
from tests.admin.conftest import ADMIN_EMAIL, PRICES, Site, make_admin
from tests.billing.conftest import PASSWORD
from tests.browser.audit import audit
from tests.browser.conftest import screenshot
from tests.conftest import make_settings
from tests.support.providers import ScriptedProvider
from tests.support.server import serve

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def business_site(tmp_path_factory) -> Iterator[Site]:  # type: ignore[no-untyped-def]
    """Built once for the module: the second test only adds a grant and a replay."""
    settings = make_settings(tmp_path_factory.mktemp("admin"), llm_prices=PRICES)
    app = create_app(settings, provider=ScriptedProvider())
    admin_key = make_admin(app)
    with serve(app) as base:
        site = Site(app=app, base=base, admin_key=admin_key)
        build(site)
        yield site


def sign_in(page, base: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/login")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/account")


def no_horizontal_scroll(page) -> bool:  # type: ignore[no-untyped-def]
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_dashboard_reads_on_a_desktop_and_a_phone(browser, business_site):
    base = business_site.base
    for name, viewport in (("admin-dashboard-1280", DESKTOP), ("admin-dashboard-390", PHONE)):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        sign_in(page, base)
        page.get_by_role("link", name="Admin").click()
        page.wait_for_url("**/admin")
        assert page.locator("#kpi-mrr .kpi-value").inner_text() == "$13.17"
        assert page.locator("#kpi-arr .kpi-value").inner_text() == "$158.00"
        assert page.locator("#kpi-revenue .kpi-value").inner_text() == "$72.00"
        assert page.locator("#kpi-refunds .kpi-value").inner_text() == "$5.00"
        assert page.locator("#kpi-margin .kpi-value").inner_text() == "$66.93"
        assert page.locator("#kpi-conversion .kpi-value").inner_text() == "50.0%"
        steps = page.locator("#funnel .funnel-count").all_inner_texts()
        assert steps == ["9", "4", "3", "3", "2"]  # 8 browsers, and the admin signing in
        for chart in ("fixes", "revenue", "subscriptions", "llm-cost"):
            figure = page.locator(f"#chart-{chart}")
            assert figure.locator("svg rect.bar").count() == 30
            box = figure.locator("svg").bounding_box()
            assert box["width"] > 200 and box["height"] == 150
            assert figure.locator("table tbody tr").count() == 30  # for screen readers
            assert figure.locator(".sr-only").bounding_box()["width"] <= 1  # visually hidden
        # Today's revenue bar is the full height of its chart; a quiet day has none.
        bars = page.locator("#chart-revenue rect.bar")
        assert bars.last.get_attribute("height") != "0.000%"
        assert bars.first.get_attribute("height") == "0.000%"
        assert "Dec" in page.locator("#chart-revenue .chart-x").inner_text() or re.search(
            r"[A-Z][a-z]{2} \d", page.locator("#chart-revenue .chart-x").inner_text()
        )
        assert no_horizontal_scroll(page), f"{name} scrolls sideways"
        screenshot(page, name)
        if viewport is DESKTOP:
            audit(page, "admin-dashboard")  # 360 to 430 px and 1280: no overflow, axe clean
        page.get_by_role("link", name="7 days").click()
        page.wait_for_url("**/admin?days=7")
        assert page.locator("#chart-fixes svg rect.bar").count() == 7
        context.close()


def test_users_user_page_and_events_in_chromium(browser, business_site):
    base = business_site.base
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, base)
    page.goto(base + "/admin/users")
    page.get_by_label("Search by email").fill("leaver")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("#users tbody tr")
    assert rows.count() == 1
    audit(page, "admin-users")
    page.get_by_role("link", name="leaver@example.com").click()
    assert page.locator("#entitlement").inner_text().startswith("Free plan")
    last_day = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    page.get_by_label("Last day of access").fill(last_day)
    page.get_by_label("Why", exact=True).first.fill("beta tester")
    page.get_by_role("button", name="Grant access").click()
    page.wait_for_selector("#notice")
    assert "Complimentary" in page.locator("#entitlement").inner_text()
    assert "beta tester" in page.locator("#audit").inner_text()
    audit(page, "admin-user")

    page.goto(base + "/admin/events")
    assert page.locator("#events tbody tr").count() > 5
    audit(page, "admin-events")
    page.locator("#events tbody tr").first.get_by_role("button", name=re.compile("Replay")).click()
    page.wait_for_selector("#replay-outcome")
    assert re.search(r"processed|ignored", page.locator("#replay-outcome").inner_text())
    screenshot(page, "admin-events")
    context.close()
