"""The free-fix quota: reserve before the provider runs, then commit or release.

Every change to the counter is a single conditional UPDATE, so concurrent requests
from one visitor can never take more than the limit, on SQLite or PostgreSQL.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

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


def create_visitor(*, session: Session) -> Visitor:
    trial = Trial(free_used=0)
    session.add(trial)
    session.flush()
    visitor = Visitor(id=new_visitor_id(), trial_id=trial.id)
    session.add(visitor)
    session.flush()
    return visitor


def usage_for(*, session: Session, trial_id: int | None, limit: int) -> Usage:
    used = 0
    if trial_id is not None:
        used = session.scalar(select(Trial.free_used).where(Trial.id == trial_id)) or 0
    return Usage(used=used, limit=limit, remaining=max(0, limit - used))


def reserve_free_fix(*, session: Session, visitor: Visitor, limit: int) -> Reservation:
    """Take one free fix, or raise QuotaExhausted. Never reads before it writes."""
    taken = session.execute(
        update(Trial)
        .where(Trial.id == visitor.trial_id, Trial.free_used < limit)
        .values(free_used=Trial.free_used + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        raise QuotaExhausted(usage_for(session=session, trial_id=visitor.trial_id, limit=limit))
    return Reservation(visitor_id=visitor.id, trial_id=visitor.trial_id)


def release(*, session: Session, reservation: Reservation) -> None:
    """Give a reserved free fix back; a failed fix never costs the user."""
    if reservation.kind != "free":
        return
    session.execute(
        update(Trial)
        .where(Trial.id == reservation.trial_id, Trial.free_used > 0)
        .values(free_used=Trial.free_used - 1)
        .execution_options(synchronize_session=False)
    )


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
) -> UsageRecord:
    """Turn a reservation into the permanent record of a delivered fix."""
    record = UsageRecord(
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
    )
    session.add(record)
    return record
