"""The period a report covers: the last N days, or a start and end date (UTC, inclusive)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bugfixer.errors import InvalidInput

DEFAULT_DAYS = 30
MAX_DAYS = 366
PRESETS = (7, 30, 90)


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time(), UTC)

    @property
    def before(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time(), UTC)

    @property
    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def query(self) -> str:
        """The query string that selects this period again (for links and exports)."""
        return f"start={self.start.isoformat()}&end={self.end.isoformat()}"


def last_days(days: int, *, today: date) -> Period:
    return Period(start=today - timedelta(days=days - 1), end=today)


def parse_period(
    *, days: str | None, start: str | None, end: str | None, today: date | None = None
) -> Period:
    """Read ``?days=N`` or ``?start=YYYY-MM-DD&end=YYYY-MM-DD``; every refusal says why."""
    today = today or datetime.now(UTC).date()
    days, start, end = (v.strip() if v else None for v in (days, start, end))
    if days and (start or end):
        raise InvalidInput("Give either days or start and end, not both.")
    if start or end:
        if not (start and end):
            raise InvalidInput("Give both start and end, as dates like 2026-01-31.")
        first, last = _date("start", start), _date("end", end)
        if first > last:
            raise InvalidInput("start must not be after end.")
        if (last - first).days + 1 > MAX_DAYS:
            raise InvalidInput(f"The period can be at most {MAX_DAYS} days long.")
        return Period(start=first, end=last)
    if not days:
        return last_days(DEFAULT_DAYS, today=today)
    if not days.isdigit() or not 1 <= int(days) <= MAX_DAYS:
        raise InvalidInput(f"days must be a whole number from 1 to {MAX_DAYS}.")
    return last_days(int(days), today=today)


def _date(name: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a date like 2026-01-31, not {value[:20]!r}.") from None
