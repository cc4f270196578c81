"""Per-month prices and savings come from the catalog, and only a real bargain is 'best value'."""

from __future__ import annotations

from bugfixer.billing.plans import DEFAULT_PLANS, Plan, format_money, plan_offers


def plan(code: str, cents: int, interval: str = "month", count: int = 1, currency: str = "usd"):  # type: ignore[no-untyped-def]
    return Plan(code, code.title(), "", cents, currency, interval, count)


def test_default_catalog_quarterly_is_the_cheapest_per_month_not_annual():
    offers = {o.plan.code: o for o in plan_offers(DEFAULT_PLANS)}
    assert {c: o.per_month_label for c, o in offers.items()} == {
        "monthly": "$5.00/mo",
        "quarterly": "$4.00/mo",
        "annual": "$4.17/mo",
    }
    assert {c: o.saving_percent for c, o in offers.items()} == {
        "monthly": 0,
        "quarterly": 20,
        "annual": 16,  # 16.67% rounded down: a saving is never overstated
    }
    assert [c for c, o in offers.items() if o.best_value] == ["quarterly"]
    assert offers["annual"].compared_with is not None
    assert offers["annual"].compared_with.code == "monthly"


def test_a_tie_goes_to_the_shorter_commitment():
    catalog = (plan("monthly", 500), plan("yearly", 4800, "year"), plan("q", 1200, count=3))
    offers = plan_offers(catalog)  # yearly and q both cost $4.00 a month
    assert [o.plan.code for o in offers if o.best_value] == ["q"]


def test_no_best_value_when_nothing_is_cheaper():
    assert not any(o.best_value for o in plan_offers((plan("only", 500),)))
    same = plan_offers((plan("a", 500), plan("b", 1500, count=3)))
    assert not any(o.best_value for o in same) and all(o.saving_percent == 0 for o in same)


def test_plans_in_other_currencies_are_compared_only_with_their_own():
    offers = plan_offers((plan("usd", 500), plan("eur", 300, currency="eur")))
    assert all(not o.best_value and o.compared_with is None for o in offers)


def test_weekly_plans_get_a_monthly_equivalent():
    (weekly,) = plan_offers((plan("weekly", 100, "week"),))
    assert weekly.per_month_label == "$4.35/mo"  # 52.14 weeks a year / 12


def test_money_always_shows_cents():
    assert format_money(500) == "$5.00"
    assert format_money(123456) == "$1,234.56"
    assert format_money(-1200) == "-$12.00"
    assert format_money(500, "eur") == "5.00 EUR"
