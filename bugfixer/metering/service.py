"""The free-fix quota: reserve before the provider runs, then commit or release.

Every change to the counter is a single conditional UPDATE, so concurrent requests
from one visitor can never take more than the limit, on SQLite or PostgreSQL.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from bugfixer.db import utcnow
from bugfixer.metering.models import Trial, UsageRecord, Visitor


@dataclass(frozen=True)
class Usage:
    used: int
    limit: int
    remaining: int
    plan: str = "free"


@dataclass(frozen=True)
class Reservation:
    """A free fix held for one request until it succeeds (commit) or fails (release)."""

    visitor_id: str
    trial_id: int
    kind: str = "free"


class QuotaExhausted(Exception):
    def __init__(self, usage: Usage) -> None:
        super().__init__("no free fixes left")
        self.usage = usage


def new_visitor_id() -> str:
    return secrets.token_urlsafe(24)


def find_visitor(*, session: Session, visitor_id: str | None) -> Visitor | None:
    if not visitor_id:
        return None
    return session.get(Visitor, visitor_id)


# Built once: statements with bound parameters compile once and hit the cache after.
_trials, _visitors, _usage = Trial.__table__, Visitor.__table__, UsageRecord.__table__
_TRIAL_OF_VISITOR = select(_visitors.c.trial_id).where(_visitors.c.id == bindparam("visitor_id"))
_TAKE_ONE = (
    update(_trials)
    .where(
        _trials.c.id == _TRIAL_OF_VISITOR.scalar_subquery(),
        _trials.c.free_used < bindparam("limit"),
    )
    .values(free_used=_trials.c.free_used + 1)
    .returning(_trials.c.id)
)
_GIVE_BACK = (
    update(_trials)
    .where(_trials.c.id == bindparam("trial_id"), _trials.c.free_used > 0)
    .values(free_used=_trials.c.free_used - 1)
)
_USED = select(_trials.c.free_used).where(_trials.c.id == bindparam("trial_id"))
_NEW_TRIAL = insert(_trials).values(free_used=1).returning(_trials.c.id)


def usage_for(*, session: Session, trial_id: int | None, limit: int) -> Usage:
    used = 0
    if trial_id is not None:
        used = session.execute(_USED, {"trial_id": trial_id}).scalar() or 0
    return Usage(used=used, limit=limit, remaining=max(0, limit - used))


def reserve_free_fix(*, session: Session, visitor_id: str | None, limit: int) -> Reservation:
    """Take one free fix for this visitor, creating the visitor if unknown.

    Raises QuotaExhausted. An existing visitor's counter moves only by one
    conditional UPDATE; a new visitor's trial is born holding its first reservation.
    Core statements, not the ORM: this runs once per fix, under a write lock.
    """
    if visitor_id:
        params = {"visitor_id": visitor_id, "limit": limit}
        trial_id = session.execute(_TAKE_ONE, params).scalar()
        if trial_id is not None:
            return Reservation(visitor_id=visitor_id, trial_id=trial_id)
        known_trial = session.execute(_TRIAL_OF_VISITOR, params).scalar()
        if known_trial is not None:
            raise QuotaExhausted(usage_for(session=session, trial_id=known_trial, limit=limit))
    if limit < 1:
        raise QuotaExhausted(Usage(used=0, limit=limit, remaining=0))
    now = utcnow()
    trial_id = session.execute(_NEW_TRIAL, {"created_at": now}).scalar_one()
    visitor_id = new_visitor_id()
    session.execute(insert(_visitors), {"id": visitor_id, "trial_id": trial_id, "created_at": now})
    return Reservation(visitor_id=visitor_id, trial_id=trial_id)


def release(*, session: Session, reservation: Reservation) -> None:
    """Give a reserved free fix back; a failed fix never costs the user."""
    if reservation.kind != "free":
        return
    session.execute(_GIVE_BACK, {"trial_id": reservation.trial_id})


def record_usage(
    *,
    session: Session,
    reservation: Reservation,
    fix_id: str,
    provider: str,
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
    latency_ms: int,
    cost_microusd: int,
) -> None:
    """Turn a reservation into the permanent record of a delivered fix."""
    session.execute(
        insert(_usage),
        dict(
            visitor_id=reservation.visitor_id,
            trial_id=reservation.trial_id,
            fix_id=fix_id,
            kind=reservation.kind,
            provider=provider,
            model=model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_ms=latency_ms,
            cost_microusd=cost_microusd,
            created_at=utcnow(),
        ),
    )
