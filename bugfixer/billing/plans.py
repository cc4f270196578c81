"""The plan catalog. Amounts are integer cents; the browser never sends one."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bugfixer.config import Settings


@dataclass(frozen=True)
class Plan:
    code: str
    name: str
    description: str
    amount_cents: int
    currency: str
    interval: str
    interval_count: int

    @property
    def lookup_key(self) -> str:
        """How the plan's current Stripe Price is found; moved when the amount changes."""
        return f"bugfixer_{self.code}"

    @property
    def price_label(self) -> str:
        return format_money(self.amount_cents, self.currency)

    @property
    def period_label(self) -> str:
        if self.interval_count == 1:
            return f"per {self.interval}"
        return f"every {self.interval_count} {self.interval}s"


def format_money(cents: int, currency: str = "usd") -> str:
    """Always with cents ("$5.00"), so prices on one page line up and read the same."""
    whole, rest = divmod(abs(cents), 100)
    amount = f"{whole:,}.{rest:02d}"
    sign = "-" if cents < 0 else ""
    if currency.lower() == "usd":
        return f"{sign}${amount}"
    return f"{sign}{amount} {currency.upper()}"


DEFAULT_PLANS: tuple[Plan, ...] = (
    Plan("monthly", "Monthly", "Unlimited fixes, billed every month.", 500, "usd", "month", 1),
    Plan(
        "quarterly", "Quarterly", "Unlimited fixes, billed every 3 months.", 1200, "usd", "month", 3
    ),
    Plan("annual", "Annual", "Unlimited fixes, billed once a year.", 5000, "usd", "year", 1),
)


def plan_catalog(settings: Settings) -> tuple[Plan, ...]:
    if not settings.plans:
        return DEFAULT_PLANS
    return tuple(Plan(**p.model_dump()) for p in settings.plans)


# How many months one billing period lasts; a month is a twelfth of a 365-day year.
_MONTHS_PER = {
    "month": Fraction(1),
    "year": Fraction(12),
    "week": Fraction(7 * 12, 365),
    "day": Fraction(12, 365),
}


@dataclass(frozen=True)
class PlanOffer:
    """A plan as the pricing page sells it: what it costs per month and what that saves."""

    plan: Plan
    per_month_cents: Fraction
    saving_percent: int  # against the dearest plan per month in the same currency
    compared_with: Plan | None
    best_value: bool

    @property
    def per_month_label(self) -> str:
        return format_money(_round_half_up(self.per_month_cents), self.plan.currency) + "/mo"


def _round_half_up(value: Fraction) -> int:
    return int(value + Fraction(1, 2)) if value >= 0 else -int(-value + Fraction(1, 2))


def plan_offers(plans: tuple[Plan, ...]) -> list[PlanOffer]:
    """Per-month prices and savings computed from the catalog, never typed in by hand.

    Only the plan that is truly cheapest per month is marked best value (on a tie, the
    one with the shorter commitment), and only when it is cheaper than another plan.
    """
    per_month = {
        p.code: Fraction(p.amount_cents) / (_MONTHS_PER[p.interval] * p.interval_count)
        for p in plans
    }
    offers = []
    for plan in plans:
        peers = [p for p in plans if p.currency == plan.currency]
        dearest = max(peers, key=lambda p: (per_month[p.code], -_months(p)))
        saving = 1 - per_month[plan.code] / per_month[dearest.code]
        percent = int(saving * 100)  # rounded down: a saving is never overstated
        cheapest = min(peers, key=lambda p: (per_month[p.code], _months(p)))
        offers.append(
            PlanOffer(
                plan=plan,
                per_month_cents=per_month[plan.code],
                saving_percent=percent,
                compared_with=dearest if percent > 0 else None,
                best_value=plan is cheapest and per_month[plan.code] < per_month[dearest.code],
            )
        )
    return offers


def _months(plan: Plan) -> Fraction:
    return _MONTHS_PER[plan.interval] * plan.interval_count


def find_plan(plans: tuple[Plan, ...], code: str | None) -> Plan | None:
    return next((p for p in plans if p.code == code), None)
