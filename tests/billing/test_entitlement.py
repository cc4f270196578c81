"""Who gets unlimited fixes, and until when: the rules of §6, on real database rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import sessionmaker as make_session_factory

from bugfixer import migrate
from bugfixer.accounts.models import User
from bugfixer.billing.models import Subscription
from bugfixer.billing.service import entitlement
from bugfixer.db import make_engine
from bugfixer.metering.models import Trial

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
GRACE = timedelta(days=3)


@pytest.fixture
def session(database_url):  # type: ignore[no-untyped-def]
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    with factory.begin() as s:
        trial = Trial(free_used=3)
        s.add(trial)
        s.flush()
        s.add(User(id=1, email="a@example.com", password_hash="x", trial_id=trial.id))
        s.flush()
        yield s
        s.rollback()
    engine.dispose()


def add(session, **fields):  # type: ignore[no-untyped-def]
    values = {
        "id": f"sub_{len(fields)}_{fields.get('status', 'active')}",
        "user_id": 1,
        "stripe_customer_id": "cus_1",
        "plan_code": "quarterly",
        "price_id": "price_1",
        "status": "active",
        "current_period_start": NOW - timedelta(days=10),
        "current_period_end": NOW + timedelta(days=80),
    }
    values.update(fields)
    session.add(Subscription(**values))
    session.flush()


def entitled(session):  # type: ignore[no-untyped-def]
    return entitlement(session=session, user_id=1, grace=GRACE, now=NOW)


def test_active_subscription_in_its_period_is_unlimited(session):
    add(session)
    found = entitled(session)
    assert found.plan_code == "quarterly" and found.until == NOW + timedelta(days=80)


def test_trialing_counts_as_active(session):
    add(session, status="trialing")
    assert entitled(session) is not None


def test_period_over_without_renewal_is_not_unlimited(session):
    add(session, current_period_end=NOW - timedelta(seconds=1))
    assert entitled(session) is None


def test_cancel_at_period_end_keeps_access_until_then(session):
    add(session, cancel_at_period_end=True)
    assert entitled(session).until == NOW + timedelta(days=80)


def test_cancel_at_ends_access_at_that_time(session):
    add(session, cancel_at=NOW + timedelta(days=5))
    assert entitled(session).until == NOW + timedelta(days=5)
    session.rollback()


def test_past_due_keeps_access_for_the_grace_period_only(session):
    add(session, status="past_due", past_due_since=NOW - timedelta(days=1))
    assert entitled(session).until == NOW + timedelta(days=2)


def test_past_due_beyond_grace_is_not_unlimited(session):
    add(session, status="past_due", past_due_since=NOW - timedelta(days=4))
    assert entitled(session) is None


@pytest.mark.parametrize("status", ["canceled", "unpaid", "incomplete", "incomplete_expired"])
def test_other_statuses_are_not_unlimited(session, status):
    add(session, status=status)
    assert entitled(session) is None
