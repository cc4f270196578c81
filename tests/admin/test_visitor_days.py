"""Visitors counted from the ``visitor_days`` roll-up are the people the events describe.

A person is an event's account, else the account its browser first signed up or in with
(whenever that happened), else the browser. The expected numbers are
computed here from that definition over the events themselves.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bugfixer import migrate
from bugfixer.admin import metrics
from bugfixer.admin.metrics import report
from bugfixer.admin.period import Period
from bugfixer.analytics import events
from bugfixer.analytics.events import event_row, record_events
from bugfixer.analytics.models import ProductEvent, VisitorDay, VisitorLink
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


def expected(
    rows: list[dict], first: int, last: int, links: dict | None = None
) -> tuple[int, list[int]]:  # type: ignore[type-arg]
    links = {} if links is None else links
    for r in rows if not links else ():
        if r["kind"] in events.LINK_KINDS and r["visitor_key"] and r["user_id"]:
            links.setdefault(r["visitor_key"], r["user_id"])
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


def roll_ups(engine) -> tuple[set, set]:  # type: ignore[no-untyped-def,type-arg]
    with engine.connect() as conn:
        days = set(
            conn.execute(select(VisitorDay.visitor_key, VisitorDay.day, VisitorDay.prev_day))
        )
        links = set(conn.execute(select(VisitorLink.visitor_key, VisitorLink.user_id)))
    return days, links


def test_the_migration_fills_the_roll_ups_from_the_events_as_the_app_writes_them(database_url):
    engine = make_engine(database_url)
    rows = [
        event_row(kind=events.PAGE_VIEW, visitor_id="a", occurred_at=at(0, 23)),
        event_row(kind=events.PAGE_VIEW, visitor_id="a", occurred_at=at(1, 0)),
        event_row(kind=events.FIX_NO_FIX, visitor_id="a", user_id=3, occurred_at=at(1)),
        event_row(kind=events.REFUND, user_id=4, occurred_at=at(1)),
        event_row(kind=events.PRICING_VIEWED, occurred_at=at(1)),  # no one behind it
        event_row(kind=events.PAGE_VIEW, visitor_id="b", occurred_at=at(1)),
        event_row(kind=events.SIGNED_IN, visitor_id="b", user_id=6, occurred_at=at(2)),
        event_row(kind=events.SIGNED_UP, visitor_id="b", user_id=5, occurred_at=at(3)),
        event_row(kind=events.PAGE_VIEW, visitor_id="b", occurred_at=at(4)),
    ]
    try:
        migrate.upgrade(engine, "c6e1a2b3d406")  # before the roll-ups
        with engine.begin() as conn:
            conn.execute(events._INSERT, rows)
        migrate.upgrade(engine)
        migrated = roll_ups(engine)
        with engine.begin() as conn:
            for model in (VisitorDay, VisitorLink, ProductEvent):
                conn.execute(delete(model))
        with Session(engine) as session, session.begin():
            record_events(session=session, rows=rows)
        written = roll_ups(engine)
    finally:
        engine.dispose()
    a, b = events.visitor_key("a"), events.visitor_key("b")
    d = [START + timedelta(days=i) for i in range(5)]
    # b's days are its first account's (6): the later sign-up as 5 moves nothing.
    assert written == migrated
    assert written == (
        {(a, d[0], None), (a, d[1], d[0]), (3, d[1], None), (6, d[1], None)}
        | {(6, d[2], d[1]), (5, d[3], None), (6, d[4], d[2])},
        {(b, 6)},
    )


def test_a_browser_s_days_join_its_account_s_in_order(db):
    ada = "ada-laptop"
    rows = [
        event_row(kind=events.PAGE_VIEW, visitor_id=ada, occurred_at=at(0)),
        event_row(kind=events.PAGE_VIEW, user_id=7, occurred_at=at(1)),
        event_row(kind=events.PAGE_VIEW, visitor_id=ada, occurred_at=at(2)),
        event_row(kind=events.PAGE_VIEW, user_id=7, occurred_at=at(3)),
    ]
    record(db, *rows)
    record(db, event_row(kind=events.SIGNED_IN, visitor_id=ada, user_id=7, occurred_at=at(3)))
    days, links = roll_ups(db.engine)
    d = [START + timedelta(days=i) for i in range(4)]
    assert days == {(7, d[0], None), (7, d[1], d[0]), (7, d[2], d[1]), (7, d[3], d[2])}
    assert links == {(events.visitor_key(ada), 7)}
    assert visitors(db, 0, 3) == (1, [1, 1, 1, 1])
    assert visitors(db, 2, 3) == (1, [1, 1])


@pytest.mark.parametrize("run", range(2))
def test_visits_and_sign_ins_at_once_keep_every_person_s_days_exact(db, run):
    """Many transactions at once, each one event, from browsers that sign in to shared
    accounts on other threads meanwhile (on PostgreSQL really at once)."""
    rng = random.Random(run)
    browsers = [f"browser-{i}" for i in range(12)]
    rows = []
    for _ in range(240):
        browser, day = rng.choice(browsers), rng.randrange(4)
        if rng.random() < 0.15:
            kind, user = rng.choice(events.LINK_KINDS), rng.randint(1, 4)
        else:
            kind, user = rng.choice((events.PAGE_VIEW, events.PAYWALL_SHOWN)), None
        user = user or rng.choice([None, None, None, rng.randint(1, 4)])
        rows.append(event_row(kind=kind, visitor_id=browser, user_id=user, occurred_at=at(day)))
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda row: record(db, row), rows))
    days, links = roll_ups(db.engine)
    # Each browser's link is one of the accounts it signed in with (the first committed).
    signed_in = {(r["visitor_key"], r["user_id"]) for r in rows if r["kind"] in events.LINK_KINDS}
    assert links <= signed_in and {b for b, _ in links} == {b for b, _ in signed_in}
    for first, last in ((0, 3), (1, 2), (3, 3)):
        assert visitors(db, first, last) == expected(rows, first, last, dict(links))
    by_person: dict[int, list[date]] = {}
    for who, day, _ in days:
        by_person.setdefault(who, []).append(day)
    chained = {
        (who, d, max((x for x in ds if x < d), default=None))
        for who, ds in by_person.items()
        for d in ds
    }
    assert days == chained


def test_every_number_of_a_report_describes_one_moment(db, monkeypatch):
    """The funnel runs last (on PostgreSQL on a second connection, beside the rest): a
    fix committed meanwhile is in none of the report's numbers, and in the next report."""
    record(db, event_row(kind=events.FIX_COMPLETED, visitor_id="early", properties=FREE))
    today = datetime.now(UTC).date()
    period = Period(start=today, end=today)
    funnel_and_latency = metrics._funnel_and_latency

    def a_fix_lands_first(*args, **kwargs):  # type: ignore[no-untyped-def]
        late = event_row(kind=events.FIX_COMPLETED, visitor_id="late", properties=FREE)
        record(db, late)
        return funnel_and_latency(*args, **kwargs)

    monkeypatch.setattr(metrics, "_funnel_and_latency", a_fix_lands_first)
    found = db.read_now(report, period=period, plans=(), prices=lambda _: (0.0, 0.0)).metrics
    assert (found.funnel.visitors, found.funnel.tried_free_fix, found.fixes.total) == (1, 1, 1)
    monkeypatch.undo()
    found = db.read_now(report, period=period, plans=(), prices=lambda _: (0.0, 0.0)).metrics
    assert (found.funnel.visitors, found.funnel.tried_free_fix, found.fixes.total) == (2, 2, 2)
