"""The new write paths under many clients at once, with /healthz watched meanwhile."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bugfixer.main import create_app
from tests.admin.conftest import Site, make_admin
from tests.admin.test_actions import admin_browser, audit, rows
from tests.billing.conftest import BROKEN, PASSWORD, Shop, sign_up, subscribe, token
from tests.conftest import make_settings
from tests.support.load import watched
from tests.support.providers import ScriptedProvider
from tests.support.server import serve

BROWSERS = 30


@pytest.fixture
def crowd_site(tmp_path, database_url):  # type: ignore[no-untyped-def]
    """One free fix each and no cap per network: every browser here shares 127.0.0.1."""
    settings = make_settings(
        tmp_path,
        database_url=database_url,
        free_fixes=1,
        free_fixes_per_network_per_day=0,
        rate_limit_signup="100/minute",
    )
    app = create_app(settings, provider=ScriptedProvider(delay_s=0.05))
    admin_key = make_admin(app)
    with serve(app) as base:
        yield Site(app=app, base=base, admin_key=admin_key)


async def _visit(base: str, n: int) -> list[int]:
    """A new browser: the fix page, its free fix, then the paywall; every other browser
    then signs up (its days become the account's) and opens the fix page again."""
    async with httpx.AsyncClient(
        base_url=base, headers={"User-Agent": f"crowd/{n}"}, timeout=60
    ) as browser:
        assert (await browser.get("/")).status_code == 200
        first = await browser.post("/api/v1/fixes", json=BROKEN)
        second = await browser.post("/api/v1/fixes", json=BROKEN)
        if n % 2:
            page = (await browser.get("/signup")).text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            data = {"email": f"crowd{n}@example.com", "password": PASSWORD, "csrf_token": csrf}
            assert (await browser.post("/signup", data=data)).status_code == 303
            assert (await browser.get("/")).status_code == 200
        return [first.status_code, second.status_code]


async def _read_metrics(base: str, key: str, times: int) -> list[int]:
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60
    ) as admin:
        return [(await admin.get("/api/v1/admin/metrics?days=1")).status_code for _ in range(times)]


def test_a_crowd_of_browsers_is_counted_exactly_while_the_dashboard_reads(crowd_site):
    site = crowd_site

    async def crowd() -> tuple[list[list[int]], list[int]]:
        visits = asyncio.gather(*(_visit(site.base, n) for n in range(BROWSERS)))
        reads = _read_metrics(site.base, site.admin_key, 5)
        return await asyncio.gather(visits, reads)

    visits, reads = asyncio.run(watched(site.base, crowd()))
    assert visits == [[200, 402]] * BROWSERS and reads == [200] * 5
    metrics = site.metrics("days=1")
    assert metrics["funnel"] == {
        "visitors": BROWSERS,
        "tried_free_fix": BROWSERS,
        "hit_paywall": BROWSERS,
        "started_checkout": 0,
        "paid": 0,
    }
    assert metrics["fixes"]["total"] == metrics["fixes"]["free"] == BROWSERS
    assert metrics["daily"][-1]["paywalls"] == BROWSERS
    # A browser that signed up is one person with its account, that day and in all.
    assert metrics["daily"][-1]["visitors"] == BROWSERS


def test_grants_fixes_and_refunds_at_once_stay_consistent_and_audited(site):
    customer = site.browser("customer")
    sign_up(customer, "pat@example.com")
    subscribe(Shop(app=site.app, base=site.base), customer, "quarterly")
    customer.close()
    user_id = site.user_id("pat@example.com")
    (payment,) = rows_of_payments(site)
    admin = admin_browser(site)
    cookies, csrf = dict(admin.cookies), token(admin, "/admin/users")
    page = admin.get(f"/admin/users/{user_id}").text
    same_key = re.search(r'name="refund_key" value="([^"]+)"', page).group(1)
    admin.close()
    last_day = (datetime.now(UTC).date() + timedelta(days=10)).isoformat()

    async def burst() -> tuple[list[int], list[int], list[int]]:
        async with httpx.AsyncClient(base_url=site.base, cookies=cookies, timeout=60) as a:

            async def post(path: str, **data: str) -> int:
                r = await a.post(path, data={"csrf_token": csrf, **data})
                return r.status_code

            grants = [
                post(f"/admin/users/{user_id}/complimentary", until=last_day, reason=f"g{i}")
                for i in range(10)
            ]
            # Five clicks of one refund form ($5), and three other forms of $5 each: $12
            # was paid, so Stripe accepts at most two different $5 refunds.
            refunds = [
                post(
                    f"/admin/users/{user_id}/refund",
                    transaction_id=str(payment.id),
                    amount="5",
                    reason="same click",
                    refund_key=same_key,
                )
                for _ in range(5)
            ] + [
                post(
                    f"/admin/users/{user_id}/refund",
                    transaction_id=str(payment.id),
                    amount="5",
                    reason=f"other form {i}",
                    refund_key=f"other-{i}",
                )
                for i in range(3)
            ]
            return await asyncio.gather(
                asyncio.gather(*grants),
                asyncio.gather(*refunds),
                _read_metrics(site.base, site.admin_key, 3),
            )

    grants, refunds, reads = asyncio.run(watched(site.base, burst()))
    assert grants == [303] * 10 and reads == [200] * 3
    # Refused by Stripe (409) or, once a refund's webhook is in, by the ledger (422).
    assert set(refunds) <= {303, 409, 422} and refunds.count(303) >= 2
    site.flush()
    # Never more than was paid, and a repeated click never refunds twice.
    assert sorted(t.amount_cents for t in rows_of_refunds(site)) == [-500, -500]
    logged = audit(site)
    assert sorted(a.reason for a in logged if a.action == "grant_complimentary") == sorted(
        f"g{i}" for i in range(10)
    )
    assert [a.details["amount_cents"] for a in logged if a.action == "refund"] == [500, 500]
    assert rows_of_grants(site, user_id)


def rows_of_payments(site: Site):  # type: ignore[no-untyped-def]
    from bugfixer.billing.models import Transaction

    return rows(site, Transaction, Transaction.kind == "payment")


def rows_of_refunds(site: Site):  # type: ignore[no-untyped-def]
    from bugfixer.billing.models import Transaction

    return rows(site, Transaction, Transaction.kind == "refund")


def rows_of_grants(site: Site, user_id: int):  # type: ignore[no-untyped-def]
    from bugfixer.billing.models import ComplimentaryGrant

    return rows(site, ComplimentaryGrant, ComplimentaryGrant.user_id == user_id)
