"""Every field of the metrics API, and the CSV exports, for a known day of business."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import httpx

from tests.admin.business import FIXED_TOKENS, NO_FIX_TOKENS, build
from tests.admin.conftest import ADMIN_EMAIL, PRICES
from tests.billing.conftest import PASSWORD, token

ZERO_DAY = {
    "visitors": 0,
    "fixes": 0,
    "paywalls": 0,
    "checkouts": 0,
    "new_subscriptions": 0,
    "revenue_cents": 0,
    "llm_cost_usd": 0.0,
}


def test_metrics_of_a_known_business_are_exact_and_the_exports_match(site):
    today = datetime.now(UTC).date()
    business = build(site)
    assert datetime.now(UTC).date() == today, "the business was built across midnight (UTC)"

    # Monthly $5 + quarterly $12 / 3 + annual $50 / 12, in cents; B8's monthly was canceled.
    mrr = Fraction(500) + Fraction(1200, 3) + Fraction(5000, 12)
    input_price, output_price = PRICES["scripted-1"]
    fixed, no_fix = 12, 2
    cost = (
        fixed * (FIXED_TOKENS[0] * input_price + FIXED_TOKENS[1] * output_price)
        + no_fix * (NO_FIX_TOKENS[0] * input_price + NO_FIX_TOKENS[1] * output_price)
    ) / 1_000_000
    assert round(cost, 6) == 0.0688
    assert sorted(business.latencies) == [100 * i for i in range(1, 15)]

    days = [today - timedelta(days=6 - i) for i in range(7)]
    expected = {
        "period": {"start": days[0].isoformat(), "end": today.isoformat()},
        "mrr_cents": 1316.67,
        "arr_cents": 15800.0,
        "active_subscriptions": {"monthly": 1, "quarterly": 1, "annual": 1},
        "new_subscriptions": 4,
        "churned_subscriptions": 1,
        "revenue_cents": 500 + 1200 + 5000 + 500,
        "refunds_cents": 500,
        "failed_payments": 1,
        "arpu_cents": 438.89,
        # B7 and B8 paid without trying a free fix: counted as visitors only, so no step
        # is larger than the one before (naively, 5 started checkout and 4 paid).
        "funnel": {
            "visitors": 8,
            "tried_free_fix": 4,
            "hit_paywall": 3,
            "started_checkout": 3,
            "paid": 2,
        },
        "fixes": {"total": 14, "fixed": 12, "no_fix": 2, "free": 12, "paid": 2},
        "latency_ms": {"p50": 700, "p95": 1400},
        "llm": {
            "requests": 12 + 2 * 2,  # the two fixes without a fix took a repair each
            "prompt_tokens": 12 * 1000 + 2 * 800,
            "completion_tokens": 12 * 400 + 2 * 200,
            "cost_usd": 0.0688,
            "cost_per_fix_usd": 0.005733,
        },
        "gross_margin_cents": 6693.12,
        "daily": [{"date": d.isoformat(), **ZERO_DAY} for d in days[:-1]]
        + [
            {
                "date": today.isoformat(),
                "visitors": 8,
                "fixes": 14,
                "paywalls": 4,  # three 402s and one pricing page opened from one
                "checkouts": 5,
                "new_subscriptions": 4,
                "revenue_cents": 7200,
                "llm_cost_usd": 0.0688,
            }
        ],
    }
    assert round(float(mrr), 2) == expected["mrr_cents"]
    assert round(float(mrr / 3), 2) == expected["arpu_cents"]
    got = site.metrics("days=7")
    assert got == expected
    funnel = list(got["funnel"].values())
    assert funnel == sorted(funnel, reverse=True)

    # The same period asked for by its dates answers the same.
    assert site.metrics(f"start={days[0]}&end={today}") == expected
    # A day with nothing in it.
    quiet = site.metrics(f"start={days[0]}&end={days[0]}")
    assert quiet["fixes"]["total"] == 0 and quiet["latency_ms"] == {"p50": None, "p95": None}
    assert quiet["mrr_cents"] == expected["mrr_cents"]  # MRR is always "now"

    _check_exports(site, business, today)


def _csv(cookies: dict[str, str], site, name: str, today: date) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    r = httpx.get(f"{site.base}/admin/export/{name}.csv?start={today}&end={today}", cookies=cookies)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == (
        f'attachment; filename="{name}-{today}-{today}.csv"'
    )
    return list(csv.DictReader(io.StringIO(r.text)))


def _admin_session(site) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Exports are pages: an administrator signs in to download them."""
    browser = site.browser("admin")
    r = browser.post(
        "/login",
        data={"email": ADMIN_EMAIL, "password": PASSWORD, "csrf_token": token(browser, "/login")},
    )
    assert r.status_code == 303
    return dict(browser.cookies)


def _check_exports(site, business, today: date) -> None:  # type: ignore[no-untyped-def]
    emails = business.emails
    cookies = _admin_session(site)
    ledger = _csv(cookies, site, "ledger", today)
    assert sorted(
        (r["kind"], r["email"], r["plan"], r["amount"], r["currency"]) for r in ledger
    ) == sorted(
        [
            ("payment", emails["b1"], "monthly", "5.00", "usd"),
            ("payment", emails["b2"], "quarterly", "12.00", "usd"),
            ("payment", emails["b7"], "annual", "50.00", "usd"),
            ("payment", emails["b8"], "monthly", "5.00", "usd"),
            ("payment_failed", emails["b1"], "monthly", "5.00", "usd"),
            ("refund", emails["b8"], "monthly", "-5.00", "usd"),
        ]
    )
    for row in ledger:
        assert row["date"].startswith(today.isoformat())
        assert row["stripe_object_id"] and row["stripe_subscription_id"].startswith("sub_")
        assert row["stripe_invoice_id"].startswith("in_")
    (refund,) = [r for r in ledger if r["kind"] == "refund"]
    assert refund["stripe_object_id"].startswith("re_") and refund["stripe_charge_id"].startswith(
        "ch_"
    )

    subscriptions = _csv(cookies, site, "subscriptions", today)
    assert sorted(
        (r["email"], r["plan"], r["status"], r["amount"], r["interval"], r["monthly_value"])
        for r in subscriptions
    ) == sorted(
        [
            (emails["b1"], "monthly", "active", "5.00", "month", "5.00"),
            (emails["b2"], "quarterly", "active", "12.00", "month", "4.00"),
            (emails["b7"], "annual", "active", "50.00", "year", "4.17"),
            (emails["b8"], "monthly", "canceled", "5.00", "month", "5.00"),
        ]
    )
    (canceled,) = [r for r in subscriptions if r["status"] == "canceled"]
    assert canceled["ended_at"].startswith(today.isoformat())

    (day,) = _csv(cookies, site, "daily", today)
    assert day == {
        "date": today.isoformat(),
        "visitors": "9",  # the administrator signed in to download these
        "fixes": "14",
        "paywalls": "4",
        "checkouts": "5",
        "new_subscriptions": "4",
        "revenue": "72.00",
        "llm_cost_usd": "0.068800",
    }
