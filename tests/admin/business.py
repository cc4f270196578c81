"""A known day of business, built through the app's own paths, and what it must add up to.

Eight browsers, all today:

* B1 views the fix page, gets 3 free fixes (one attempt finds no fix, so 4 attempts),
  hits the paywall (402), opens pricing from it, signs up, pays monthly, then makes 2
  fixes as a subscriber. A renewal of B1's later fails (invoice.payment_failed).
* B2 views, 3 free fixes, 402, signs up, pays quarterly.
* B3 views, 3 free fixes (4 attempts), 402, signs up, starts a monthly checkout, leaves.
* B4 views and makes 1 free fix.
* B5 and B6 only look at the fix page.
* B7 goes straight to pricing, signs up and pays annual (never tried a free fix).
* B8 goes straight to pricing, pays monthly, cancels at once and is refunded.

Fixes are made through the fix flow's units of work (``reserve_fix``/``settle_fix``)
so their tokens and times are known; everything else goes through HTTP, the emulator
and its signed webhooks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import count

import httpx

from bugfixer.devstripe import sign
from bugfixer.metering.identity import Identity
from tests.admin.conftest import Site
from tests.billing.conftest import BROKEN, Shop, checkout, sign_up, subscribe

FIXED_TOKENS = (1000, 400)
NO_FIX_TOKENS = (800, 200)


@dataclass
class Business:
    emails: dict[str, str] = field(default_factory=dict)
    latencies: list[int] = field(default_factory=list)


def build(site: Site) -> Business:
    business = Business()
    clock = count(1)
    shop = Shop(app=site.app, base=site.base)

    def fix(identity: Identity, fixed: bool = True) -> None:
        latency = next(clock) * 100  # 100, 200, ... in the order the fixes are made
        business.latencies.append(latency)
        tokens = FIXED_TOKENS if fixed else NO_FIX_TOKENS
        # A fix that failed its checks took a repair: two calls to the provider.
        calls = 1 if fixed else 2
        site.fix(identity, fixed=fixed, tokens=tokens, latency_ms=latency, calls=calls)

    def anonymous(browser: httpx.Client) -> Identity:
        return Identity(visitor_id=site.visitor_of(browser))

    def paywall(browser: httpx.Client) -> None:
        r = browser.post("/api/v1/fixes", json=BROKEN)
        assert r.status_code == 402, r.text

    browsers = {name: site.browser(name) for name in ("b1", "b2", "b3", "b4", "b5", "b6")}
    for browser in browsers.values():
        assert browser.get("/").status_code == 200

    b1 = browsers["b1"]
    for fixed in (True, False, True, True):
        fix(anonymous(b1), fixed)
    paywall(b1)
    assert b1.get("/pricing?reason=quota").status_code == 200
    business.emails["b1"] = "monthly@example.com"
    sign_up(b1, business.emails["b1"])
    subscribe(shop, b1, "monthly")
    monthly = Identity(user_id=site.user_id(business.emails["b1"]))
    fix(monthly)
    fix(monthly)

    b2 = browsers["b2"]
    for _ in range(3):
        fix(anonymous(b2))
    paywall(b2)
    business.emails["b2"] = "quarterly@example.com"
    sign_up(b2, business.emails["b2"])
    subscribe(shop, b2, "quarterly")

    b3 = browsers["b3"]
    for fixed in (True, False, True, True):
        fix(anonymous(b3), fixed)
    paywall(b3)
    business.emails["b3"] = "leaver@example.com"
    sign_up(b3, business.emails["b3"])
    assert checkout(b3, "monthly").status_code == 303  # and never pays

    fix(anonymous(browsers["b4"]))

    for name, plan in (("b7", "annual"), ("b8", "monthly")):
        browser = browsers[name] = site.browser(name)
        assert browser.get("/pricing").status_code == 200
        business.emails[name] = f"{name}-{plan}@example.com"
        sign_up(browser, business.emails[name])
        subscribe(shop, browser, plan)

    _cancel_and_refund(site, business.emails["b8"])
    _fail_a_renewal(site, business.emails["b1"])
    for browser in browsers.values():
        browser.close()
    return business


def _customer(site: Site, email: str) -> str:
    from bugfixer.billing.service import stripe_customer_of

    customer = site.ctx.db.read_now(stripe_customer_of, user_id=site.user_id(email))
    assert customer
    return customer


def _cancel_and_refund(site: Site, email: str) -> None:
    client = site.stripe()
    customer = _customer(site, email)
    (sub,) = client.v1.subscriptions.list(params={"customer": customer}).data
    client.v1.subscriptions.cancel(sub.id)
    (charge,) = client.v1.charges.list(params={"customer": customer}).data
    client.v1.refunds.create(params={"charge": charge.id})
    site.flush()


def _fail_a_renewal(site: Site, email: str) -> None:
    """A renewal invoice of the account that could not be paid, as Stripe would send it."""
    customer = _customer(site, email)
    events = site.stripe().v1.events.list(params={"type": "invoice.paid", "limit": 100}).data
    (paid,) = [e for e in events if e.data.object.customer == customer]
    event = json.loads(str(paid))
    invoice = event["data"]["object"]
    event.update(id="evt_failed_renewal", type="invoice.payment_failed")
    invoice.update(
        id="in_failed_renewal",
        status="open",
        amount_paid=0,
        amount_remaining=invoice["amount_due"],
        status_transitions={**invoice["status_transitions"], "paid_at": None},
    )
    payload = json.dumps(event)
    r = httpx.post(
        f"{site.base}/stripe/webhook",
        content=payload,
        headers={
            "Stripe-Signature": sign(payload, site.ctx.settings.webhook_secret),
            "Content-Type": "application/json",
        },
    )
    assert r.status_code == 200 and r.json()["outcome"] == "processed", r.text
