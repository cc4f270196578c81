"""The plan catalog. Amounts are integer cents; the browser never sends one."""

from __future__ import annotations

from dataclasses import dataclass
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


def format_money(cents: int, currency: str = "usd", *, exact: bool = False) -> str:
    """$12 for whole dollars (or $12.00 when ``exact``), $12.50 otherwise."""
    whole, rest = divmod(abs(cents), 100)
    amount = f"{whole:,}" if rest == 0 and not exact else f"{whole:,}.{rest:02d}"
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


def find_plan(plans: tuple[Plan, ...], code: str | None) -> Plan | None:
    return next((p for p in plans if p.code == code), None)
