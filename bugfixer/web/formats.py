"""One way to write a date, a time and an amount on every page.

"March 5, 2025" everywhere (the Stripe emulator's pages use the same form), with the
time in UTC only where the moment matters, and money always with cents: "$5.00".
"""

from __future__ import annotations

from datetime import UTC, datetime

from bugfixer.billing.plans import format_money
from bugfixer.fixing.languages import LANGUAGES


def format_date(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    moment = _utc(moment)
    return f"{moment.strftime('%B')} {moment.day}, {moment.year}"


def format_datetime(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    moment = _utc(moment)
    return f"{format_date(moment)}, {moment.strftime('%H:%M')} UTC"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def language_name(code: str) -> str:
    return LANGUAGES.get(code, code)


FILTERS = {
    "date": format_date,
    "datetime": format_datetime,
    "language_name": language_name,
    "money": lambda cents, currency="usd": format_money(cents, currency),
}
