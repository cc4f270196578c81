"""Event kinds and ``record_event``, called inside the unit of work of the action itself.

In the same transaction as the event, so the roll-ups hold exactly what the committed
events say: a browser's first sign-up or sign-in links it to that account in
``visitor_links`` and moves its ``visitor_days`` to the account, and a visit adds its
person and day to ``visitor_days`` (once), keeping each person's days chained by
``prev_day``.

Everything a transaction changes of one person's days it changes holding that person's
lock (on PostgreSQL a transaction advisory lock; SQLite writers are serialised by BEGIN
IMMEDIATE), so the chain cannot be raced. Locks are taken in ascending key order, all
before any change: browsers (negative keys) first, so a browser can be resolved to its
account before the account is locked.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    bindparam,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bugfixer.analytics.models import ProductEvent, VisitorDay, VisitorLink
from bugfixer.db import utcnow

PAGE_VIEW = "page_view"  # the fix page (first view per browser per day)
PRICING_VIEWED = "pricing_viewed"
PAYWALL_SHOWN = "paywall_shown"  # a 402, or the pricing page opened because of one
FIX_COMPLETED = "fix_completed"  # a verified fix delivered
FIX_NO_FIX = "fix_no_fix"  # the provider answered without a fix that passed the checks
SIGNED_UP = "signed_up"
SIGNED_IN = "signed_in"
CHECKOUT_STARTED = "checkout_started"
CHECKOUT_COMPLETED = "checkout_completed"
SUBSCRIPTION_CANCELED = "subscription_canceled"
PAYMENT_FAILED = "payment_failed"
REFUND = "refund"

KINDS = frozenset(
    {
        PAGE_VIEW,
        PRICING_VIEWED,
        PAYWALL_SHOWN,
        FIX_COMPLETED,
        FIX_NO_FIX,
        SIGNED_UP,
        SIGNED_IN,
        CHECKOUT_STARTED,
        CHECKOUT_COMPLETED,
        SUBSCRIPTION_CANCELED,
        PAYMENT_FAILED,
        REFUND,
    }
)
FIX_KINDS = (FIX_COMPLETED, FIX_NO_FIX)
# What Stripe's webhooks record happens without anyone visiting; every other kind is a
# visit (a short list to exclude is cheaper to test on every row than a long one).
NOT_VISITS = (CHECKOUT_COMPLETED, SUBSCRIPTION_CANCELED, PAYMENT_FAILED, REFUND)
VISIT_KINDS = tuple(sorted(KINDS.difference(NOT_VISITS)))
CHECKOUT_KINDS = (CHECKOUT_STARTED, CHECKOUT_COMPLETED)
# Sign-ups and sign-ins tie a browser's earlier events to its account.
LINK_KINDS = (SIGNED_UP, SIGNED_IN)

# Properties are small facts. Whatever could identify a person or carry their code
# has no place in them.
FORBIDDEN_PROPERTIES = frozenset({"ip", "address", "client_address", "code", "error", "email"})
MAX_PROPERTY_CHARS = 200

_INSERT = insert(ProductEvent.__table__)
_days = VisitorDay.__table__
_links = VisitorLink.__table__
_INSERT_DAY = {
    "postgresql": postgresql.insert(_days).on_conflict_do_nothing(),
    "sqlite": sqlite.insert(_days).on_conflict_do_nothing(),
}
# The person a browser or account key stands for now.
_who = bindparam("who", type_=BigInteger)
_PERSON = func.coalesce(
    cast(
        select(_links.c.user_id).where(_links.c.visitor_key == _who).scalar_subquery(), BigInteger
    ),
    _who,
)
_COUNTED = select(literal(1)).where(_days.c.visitor_key == _PERSON, _days.c.day == bindparam("day"))
_LINKED = select(_links.c.visitor_key, _links.c.user_id).where(
    _links.c.visitor_key.in_(bindparam("browsers", expanding=True))
)
_LOCK = text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k")


def _chain() -> Any:
    """Set every day's ``prev_day`` of one person (``:person``) to the day before it."""
    ordered = (
        select(
            _days.c.day,
            func.lag(_days.c.day).over(order_by=_days.c.day).label("prev"),
        )
        .where(_days.c.visitor_key == bindparam("person"))
        .subquery()
    )
    return (
        update(_days)
        .where(
            _days.c.visitor_key == bindparam("person"),
            _days.c.day == ordered.c.day,
            _days.c.prev_day.is_distinct_from(ordered.c.prev),
        )
        .values(prev_day=ordered.c.prev)
    )


_CHAIN = _chain()
_taken = _days.alias("taken")
# A browser's days, as its account's (those the account has already stay once).
_MOVE_DAYS = insert(_days).from_select(
    ["visitor_key", "day"],
    select(bindparam("user", type_=BigInteger), _days.c.day).where(
        _days.c.visitor_key == bindparam("browser"),
        ~exists().where(_taken.c.visitor_key == bindparam("user"), _taken.c.day == _days.c.day),
    ),
)


def visitor_key(visitor_id: str | None) -> int | None:
    """A browser as a negative integer (accounts are positive ids), for fast counting.

    64 bits of BLAKE2b: two browsers share a key with odds of about n²/2⁶⁴, one in a
    billion at a million browsers.
    """
    if not visitor_id:
        return None
    digest = hashlib.blake2b(visitor_id.encode(), digest_size=8).digest()
    return -1 - (int.from_bytes(digest, "big") >> 1)


def event_row(
    *,
    kind: str,
    visitor_id: str | None = None,
    user_id: int | None = None,
    properties: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> dict[str, Any]:
    """A checked row for the events table (raises ValueError for a programming error)."""
    if kind not in KINDS:
        raise ValueError(f"unknown product event kind {kind!r}")
    properties = properties or {}
    for key, value in properties.items():
        if key in FORBIDDEN_PROPERTIES:
            raise ValueError(f"product events never store {key!r}")
        if isinstance(value, str) and len(value) > MAX_PROPERTY_CHARS:
            raise ValueError(f"product event property {key!r} is too long")
        if not isinstance(value, str | int | float | bool | None):
            raise ValueError(f"product event property {key!r} must be a plain value")
    return {
        "occurred_at": occurred_at or utcnow(),
        "kind": kind,
        "visitor_id": visitor_id,
        "visitor_key": visitor_key(visitor_id),
        "user_id": user_id,
        "properties": properties,
    }


def visit_of(row: dict[str, Any]) -> tuple[date, int] | None:
    """The ``visitor_days`` key of an event row (``event_row``): its UTC day and its
    account, else its browser; None for what is not a visit or has no one behind it."""
    if row["kind"] in NOT_VISITS:
        return None
    who = row["user_id"] if row["user_id"] is not None else row["visitor_key"]
    if who is None:
        return None
    return row["occurred_at"].astimezone(UTC).date(), who


def link_of(row: dict[str, Any]) -> tuple[int, int] | None:
    """The ``visitor_links`` entry of an event row: (browser key, account), or None."""
    if row["kind"] in LINK_KINDS and None not in (row["visitor_key"], row["user_id"]):
        return row["visitor_key"], row["user_id"]
    return None


def _lock(session: Session, keys: list[int]) -> None:
    if keys and session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK, {"keys": sorted(keys)})


def _record_roll_ups(session: Session, rows: list[dict[str, Any]]) -> None:
    visits = {v for v in map(visit_of, rows) if v is not None}
    new_links: dict[int, int] = {}
    for browser, user in filter(None, map(link_of, rows)):
        new_links.setdefault(browser, user)  # the first in the batch, as in time
    if not new_links:
        if not visits:
            return
        if len(visits) == 1:  # the common case: this person's day is counted already
            day, who = next(iter(visits))
            if session.execute(_COUNTED, {"who": who, "day": day}).first() is not None:
                return
    browsers = sorted({who for _, who in visits if who < 0} | new_links.keys())
    _lock(session, browsers)
    known = dict(session.execute(_LINKED, {"browsers": browsers}).all()) if browsers else {}
    created = {b: u for b, u in new_links.items() if b not in known}
    person = {**known, **created}
    days = {(person.get(who, who), day) for day, who in visits}
    _lock(session, sorted({who for who, _ in days if who > 0} | set(created.values())))
    changed = _link_browsers(session, created) | _add_days(session, days)
    for who in sorted(changed):
        session.execute(_CHAIN, {"person": who})


def _link_browsers(session: Session, links: dict[int, int]) -> set[int]:
    """Link each browser to its first account and move its days there; the accounts."""
    for browser, user in sorted(links.items()):
        session.execute(insert(_links), {"visitor_key": browser, "user_id": user})
        session.execute(_MOVE_DAYS, {"browser": browser, "user": user})
        session.execute(delete(_days).where(_days.c.visitor_key == browser))
    return set(links.values())


def _add_days(session: Session, days: set[tuple[int, date]]) -> set[int]:
    """Add (person, day) rows not there yet, in one statement; the persons given a day."""
    if not days:
        return set()
    insert_days = _INSERT_DAY[session.get_bind().dialect.name].returning(_days.c.visitor_key)
    rows = [{"visitor_key": who, "day": day} for who, day in sorted(days)]
    return set(session.execute(insert_days, rows).scalars())


def record_event(
    *,
    session: Session,
    kind: str,
    visitor_id: str | None = None,
    user_id: int | None = None,
    properties: dict[str, Any] | None = None,
) -> None:
    """Append one event in the caller's transaction: it commits or rolls back with it."""
    row = event_row(kind=kind, visitor_id=visitor_id, user_id=user_id, properties=properties)
    session.execute(_INSERT, row)
    _record_roll_ups(session, [row])


def record_events(*, session: Session, rows: list[dict[str, Any]]) -> int:
    """Append checked rows (``event_row``) in one multi-row INSERT."""
    if rows:
        session.execute(_INSERT, rows)
        _record_roll_ups(session, rows)
    return len(rows)
