"""Visitors counted from the ``visitor_days`` roll-up are the people the events describe.

A person is an event's account, else the account its browser signed up or in with (the
lowest, if several, whenever that happened), else the browser. The expected numbers are
computed here from that definition over the events themselves.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from bugfixer import migrate
from bugfixer.admin.metrics import report
from bugfixer.admin.period import Period
from bugfixer.analytics import events
from bugfixer.analytics.events import event_row, record_events
from bugfixer.analytics.models import VisitorDay, VisitorLink
from bugfixer.db import Database, make_engine

START = date(2026, 3, 1)
FREE = {"plan": "free", "provider": "p", "model": "m", "prompt_tokens": 1, "latency_ms": 5}


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    engine.dispose()
    db = Database.from_url(database_url)
    yield db
    db.close()


def at(day: int, hour: int = 12) -> datetime:
    return datetime.combine(START + timedelta(days=day), time(hour), UTC)


def record(db: Database, *rows: dict) -> None:  # type: ignore[type-arg]
    db.write_now(record_events, rows=list(rows))


def visitors(db: Database, first: int, last: int) -> tuple[int, list[int]]:
    period = Period(start=START + timedelta(days=first), end=START + timedelta(days=last))
    found = db.read_now(report, period=period, plans=(), prices=lambda _: (0.0, 0.0)).metrics
    return found.funnel.visitors, [d.visitors for d in found.daily]


def expected(rows: list[dict], first: int, last: int) -> tuple[int, list[int]]:  # type: ignore[type-arg]
    links: dict[int, int] = {}
    for r in rows:
        if r["kind"] in events.LINK_KINDS and r["visitor_key"] and r["user_id"]:
            links[r["visitor_key"]] = min(r["user_id"], links.get(r["visitor_key"], r["user_id"]))
    by_day: dict[date, set[int]] = {}
    for r in rows:
        who = r["user_id"] or links.get(r["visitor_key"]) or r["visitor_key"]
        if r["kind"] not in events.NOT_VISITS and who is not None:
            by_day.setdefault(r["occurred_at"].date(), set()).add(who)
    days = [START + timedelta(days=d) for d in range(first, last + 1)]
    people = set().union(*(by_day.get(d, set()) for d in days))
    return len(people), [len(by_day.get(d, ())) for d in days]


def test_a_browser_that_signs_up_later_is_counted_once_with_its_account(db):
    rows = [
        event_row(kind=events.PAGE_VIEW, visitor_id="ada-laptop", occurred_at=at(0)),
        event_row(kind=events.FIX_COMPLETED, visitor_id="ada-laptop", occurred_at=at(1, 9)),
        event_row(kind=events.PAGE_VIEW, user_id=7, occurred_at=at(1, 10)),
        # The sign-up comes a day after the anonymous visits it links.
        event_row(kind=events.SIGNED_UP, visitor_id="ada-laptop", user_id=7, occurred_at=at(2)),
        event_row(kind=events.SIGNED_IN, visitor_id="ada-phone", user_id=7, occurred_at=at(2)),
        event_row(kind=events.PAGE_VIEW, visitor_id="ada-phone", occurred_at=at(2, 13)),
        event_row(kind=events.PAGE_VIEW, visitor_id="bob", occurred_at=at(2)),
        # Stripe's webhooks are no visit.
        event_row(kind=events.CHECKOUT_COMPLETED, user_id=9, occurred_at=at(2)),
    ]
    record(db, *rows)
    assert visitors(db, 0, 2) == (2, [1, 1, 2]) == expected(rows, 0, 2)
    assert visitors(db, 1, 1) == (1, [1])


def test_visitors_match_the_events_over_a_random_history(db):
    rng = random.Random(11)
    browsers = [f"browser-{i}" for i in range(60)]
    rows = []
    for _ in range(600):
        kind = rng.choice(sorted(events.KINDS))
        browser = rng.choice([*browsers, None])
        user = rng.choice([None, None, None, 1, 2, 3, 4, 5])
        if kind in events.LINK_KINDS:
            browser, user = browser or browsers[0], user or rng.randint(1, 5)
        properties = FREE if kind in events.FIX_KINDS else {}
        rows.append(
            event_row(
                kind=kind,
                visitor_id=browser,
                user_id=user,
                properties=properties,
                occurred_at=at(rng.randrange(10), rng.randrange(24)),
            )
        )
    # In several batches, out of time order, with the same person and day in several.
    for i in range(0, len(rows), 100):
        record(db, *rows[i : i + 100])
    for first, last in ((0, 9), (2, 5), (7, 7)):
        assert visitors(db, first, last) == expected(rows, first, last)
    funnel = db.read_now(
        report,
        period=Period(start=START, end=START + timedelta(days=9)),
        plans=(),
        prices=lambda _: (0.0, 0.0),
    ).metrics.funnel
    steps = list(funnel.model_dump().values())
    assert steps == sorted(steps, reverse=True)


def test_the_migration_fills_the_roll_ups_from_the_events_as_the_app_writes_them(database_url):
    engine = make_engine(database_url)
    rows = [
        event_row(kind=events.PAGE_VIEW, visitor_id="a", occurred_at=at(0, 23)),
        event_row(kind=events.PAGE_VIEW, visitor_id="a", occurred_at=at(1, 0)),
        event_row(kind=events.FIX_NO_FIX, visitor_id="a", user_id=3, occurred_at=at(1)),
        event_row(kind=events.REFUND, user_id=4, occurred_at=at(1)),
        event_row(kind=events.PRICING_VIEWED, occurred_at=at(1)),  # no one behind it
        event_row(kind=events.SIGNED_IN, visitor_id="b", user_id=6, occurred_at=at(2)),
        event_row(kind=events.SIGNED_UP, visitor_id="b", user_id=5, occurred_at=at(3)),
    ]
    try:
        migrate.upgrade(engine, "c6e1a2b3d406")  # before visitor_days
        with engine.begin() as conn:
            conn.execute(events._INSERT, rows)
        migrate.upgrade(engine)
        with engine.connect() as conn:
            filled = set(conn.execute(select(VisitorDay.day, VisitorDay.visitor_key)))
            linked = set(conn.execute(select(VisitorLink.visitor_key, VisitorLink.user_id)))
    finally:
        engine.dispose()
    a, b = events.visitor_key("a"), events.visitor_key("b")
    assert filled == {v for v in map(events.visit_of, rows) if v is not None}
    assert filled == {(START, a), (at(1).date(), a), (at(1).date(), 3), (at(2).date(), 6)} | {
        (at(3).date(), 5)
    }
    assert linked == {(b, 5)}
