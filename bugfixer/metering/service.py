"""The free-fix quota: reserve before the provider runs, then commit or release.

Every change to a counter is a single conditional UPDATE, so concurrent requests from
one visitor can never take more than the limit, on SQLite or PostgreSQL.

Who counts: a signed-in account draws on its own trial; an anonymous browser on its
visitor's trial. A browser seen for the first time joins the trial of its fingerprint
(keyed hash of network prefix and User-Agent), so clearing cookies resets nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bugfixer.accounts.models import User
from bugfixer.db import utcnow
from bugfixer.metering.identity import Identity
from bugfixer.metering.models import Trial, UsageRecord, Visitor


@dataclass(frozen=True)
class Usage:
    used: int
    limit: int | None
    remaining: int | None
    plan: str = "free"


@dataclass(frozen=True)
class Reservation:
    """A free fix held for one request until it succeeds (commit) or fails (release)."""

    visitor_id: str | None
    user_id: int | None
    trial_id: int
    kind: str = "free"  # free: counted against the trial; paid: covered by a subscription
    plan: str = "free"


class QuotaExhausted(Exception):
    def __init__(self, usage: Usage) -> None:
        super().__init__("no free fixes left")
        self.usage = usage


def new_visitor_id() -> str:
    return secrets.token_urlsafe(24)


# Built once: statements with bound parameters compile once and hit the cache after.
_trials, _visitors, _usage = Trial.__table__, Visitor.__table__, UsageRecord.__table__
_TRIAL_OF_VISITOR = select(_visitors.c.trial_id).where(_visitors.c.id == bindparam("visitor_id"))
_TRIAL_OF_FINGERPRINT = select(_trials.c.id).where(_trials.c.fingerprint == bindparam("fp"))
_TAKE_ONE = (
    update(_trials)
    .where(_trials.c.id == bindparam("trial_id"), _trials.c.free_used < bindparam("limit"))
    .values(free_used=_trials.c.free_used + 1)
    .returning(_trials.c.id)
)
_GIVE_BACK = (
    update(_trials)
    .where(_trials.c.id == bindparam("trial_id"), _trials.c.free_used > 0)
    .values(free_used=_trials.c.free_used - 1)
)
_TRIAL_OF_USER = select(User.__table__.c.trial_id).where(
    User.__table__.c.id == bindparam("user_id")
)
_USED = select(_trials.c.free_used).where(_trials.c.id == bindparam("trial_id"))
_NEW_TRIAL = insert(_trials).values(free_used=0).returning(_trials.c.id)


def usage_for(*, session: Session, trial_id: int | None, limit: int) -> Usage:
    used = 0
    if trial_id is not None:
        used = session.execute(_USED, {"trial_id": trial_id}).scalar() or 0
    return Usage(used=used, limit=limit, remaining=max(0, limit - used))


def trial_for_fingerprint(*, session: Session, fingerprint: str) -> int:
    """The trial of this fingerprint, created on first sight: one upsert, safe under races."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(_trials).values(fingerprint=fingerprint, free_used=0, created_at=utcnow())
    # A no-op update on conflict, so RETURNING yields the existing row's id too.
    stmt = stmt.on_conflict_do_update(
        index_elements=["fingerprint"], set_={"fingerprint": stmt.excluded.fingerprint}
    ).returning(_trials.c.id)
    return session.execute(stmt).scalar_one()


def trial_for_browser(
    *, session: Session, visitor_id: str | None, fingerprint: str | None
) -> int | None:
    """Which trial an anonymous browser draws on, without creating anything."""
    if visitor_id:
        found = session.execute(_TRIAL_OF_VISITOR, {"visitor_id": visitor_id}).scalar()
        if found is not None:
            return found
    if fingerprint:
        return session.execute(_TRIAL_OF_FINGERPRINT, {"fp": fingerprint}).scalar()
    return None


def create_visitor(*, session: Session, fingerprint: str | None) -> tuple[str, int]:
    """A new browser: its trial is its fingerprint's (or its own without one)."""
    if fingerprint:
        trial_id = trial_for_fingerprint(session=session, fingerprint=fingerprint)
    else:
        trial_id = session.execute(_NEW_TRIAL, {"created_at": utcnow()}).scalar_one()
    visitor_id = new_visitor_id()
    session.execute(
        insert(_visitors), {"id": visitor_id, "trial_id": trial_id, "created_at": utcnow()}
    )
    return visitor_id, trial_id


def reserve_free_fix(
    *, session: Session, trial_id: int, visitor_id: str | None, user_id: int | None, limit: int
) -> Reservation:
    """Take one free fix from ``trial_id`` or raise QuotaExhausted. One conditional UPDATE."""
    taken = session.execute(_TAKE_ONE, {"trial_id": trial_id, "limit": limit}).scalar()
    if taken is None:
        raise QuotaExhausted(usage_for(session=session, trial_id=trial_id, limit=limit))
    return Reservation(visitor_id=visitor_id, user_id=user_id, trial_id=trial_id)


def trial_of_user(*, session: Session, user_id: int) -> int:
    return session.execute(_TRIAL_OF_USER, {"user_id": user_id}).scalar_one()


def usage_of(*, session: Session, identity: Identity, limit: int) -> Usage:
    """What the header shows: this account's, or this browser's, free fixes."""
    if identity.user_id is not None:
        trial_id: int | None = trial_of_user(session=session, user_id=identity.user_id)
    else:
        trial_id = trial_for_browser(
            session=session, visitor_id=identity.visitor_id, fingerprint=identity.fingerprint
        )
    return usage_for(session=session, trial_id=trial_id, limit=limit)


def trial_for_new_account(*, session: Session, identity: Identity) -> int:
    """The trial a new account inherits: this browser's, so signing up grants nothing new."""
    trial_id = trial_for_browser(
        session=session, visitor_id=identity.visitor_id, fingerprint=identity.fingerprint
    )
    if trial_id is not None:
        return trial_id
    if identity.fingerprint:
        return trial_for_fingerprint(session=session, fingerprint=identity.fingerprint)
    return session.execute(_NEW_TRIAL, {"created_at": utcnow()}).scalar_one()


def paid_reservation(*, session: Session, user_id: int, plan: str) -> Reservation:
    """A subscriber's fix: nothing is counted, the usage record says who paid."""
    trial_id = trial_of_user(session=session, user_id=user_id)
    return Reservation(visitor_id=None, user_id=user_id, trial_id=trial_id, kind="paid", plan=plan)


def reserve_for(*, session: Session, identity: Identity, limit: int) -> Reservation:
    """Reserve a free fix for whoever is asking, creating the visitor on first use."""
    if identity.user_id is not None:
        trial_id = trial_of_user(session=session, user_id=identity.user_id)
        return reserve_free_fix(
            session=session,
            trial_id=trial_id,
            visitor_id=None,
            user_id=identity.user_id,
            limit=limit,
        )
    visitor_id = identity.visitor_id
    trial_id = None
    if visitor_id:
        trial_id = session.execute(_TRIAL_OF_VISITOR, {"visitor_id": visitor_id}).scalar()
    if trial_id is None:
        visitor_id, trial_id = create_visitor(session=session, fingerprint=identity.fingerprint)
    return reserve_free_fix(
        session=session, trial_id=trial_id, visitor_id=visitor_id, user_id=None, limit=limit
    )


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
            user_id=reservation.user_id,
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
