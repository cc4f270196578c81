"""The free-fix quota: reserve before the provider runs, then commit or release.

Every change to a counter is a single conditional UPDATE, so concurrent requests from
one visitor can never take more than the limit, on SQLite or PostgreSQL.

Who counts: a signed-in account draws on its own trial; an anonymous browser on its
visitor's trial. A browser seen for the first time joins the trial of its fingerprint
(keyed hash of network prefix and User-Agent), so clearing cookies resets nothing, and
all anonymous free fixes from one network share a daily cap, so a new User-Agent does
not buy a new allowance without limit.

A reservation is a row in ``pending_fixes`` with an expiry: the fix path settles it
(usage record) or releases it; one left by a process that died is given back when it
expires.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bugfixer.accounts.models import User
from bugfixer.db import utcnow
from bugfixer.metering.identity import Identity
from bugfixer.metering.models import PendingFix, Trial, UsageRecord, Visitor

NETWORK_WINDOW = timedelta(days=1)


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
    id: str | None = None  # the pending_fixes row of a free fix
    network: str | None = None  # set for anonymous free fixes (the per-network cap)


@dataclass(frozen=True)
class Allowance:
    """How many free fixes a reservation may draw on, and for how long it holds one."""

    free_fixes: int
    per_network_per_day: int = 0  # 0: no cap per network
    hold: timedelta = timedelta(minutes=10)


class QuotaExhausted(Exception):
    def __init__(self, usage: Usage, *, network: bool = False) -> None:
        super().__init__("no free fixes left")
        self.usage = usage
        self.network = network  # refused by the per-network cap, not the browser's own


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
# trial_for_browser's choice (the visitor's trial, else the fingerprint's) and usage_for.
_USED_BY_BROWSER = select(_trials.c.free_used).where(
    _trials.c.id
    == func.coalesce(
        select(_visitors.c.trial_id)
        .where(_visitors.c.id == bindparam("visitor_id"))
        .scalar_subquery(),
        select(_trials.c.id).where(_trials.c.fingerprint == bindparam("fp")).scalar_subquery(),
    )
)
_NEW_TRIAL = insert(_trials).values(free_used=0).returning(_trials.c.id)
_pending = PendingFix.__table__
_HOLD = insert(_pending)
_UNHOLD = delete(_pending).where(_pending.c.id == bindparam("pending_id"))
_COUNT_ONE = (
    update(_trials)
    .where(_trials.c.id == bindparam("trial_id"))
    .values(free_used=_trials.c.free_used + 1)
)
_EXPIRED_OF_TRIAL = (
    delete(_pending)
    .where(
        _pending.c.id.in_(
            select(_pending.c.id)
            .where(
                _pending.c.trial_id == bindparam("trial_id"),
                _pending.c.expires_at < bindparam("now"),
            )
            .order_by(_pending.c.id)
            .with_for_update(skip_locked=True)
        )
    )
    .returning(_pending.c.id)
)
# One statement, so one snapshot: a fix settling meanwhile (its hold deleted, its usage
# record added) is counted exactly once, never zero times.
_NETWORK_COUNT = select(
    select(func.count())
    .where(_usage.c.network == bindparam("network"), _usage.c.created_at > bindparam("since"))
    .scalar_subquery()
    + select(func.count()).where(_pending.c.network == bindparam("network")).scalar_subquery()
)


def usage_for(*, session: Session, trial_id: int | None, limit: int) -> Usage:
    used = 0
    if trial_id is not None:
        used = session.execute(_USED, {"trial_id": trial_id}).scalar() or 0
    return _usage_of(used, limit)


def _usage_of(used: int, limit: int) -> Usage:
    return Usage(used=used, limit=limit, remaining=max(0, limit - used))


def _upsert_fingerprint(dialect_name: str):  # type: ignore[no-untyped-def]
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    stmt = dialect.insert(_trials).values(
        fingerprint=bindparam("fp"), free_used=0, created_at=bindparam("now")
    )
    # A no-op update on conflict, so RETURNING yields the existing row's id too.
    return stmt.on_conflict_do_update(
        index_elements=["fingerprint"], set_={"fingerprint": stmt.excluded.fingerprint}
    ).returning(_trials.c.id)


# Built once per dialect: building an upsert (its ``excluded`` columns) costs far more
# than running it.
_UPSERT_FINGERPRINT = {name: _upsert_fingerprint(name) for name in ("sqlite", "postgresql")}


def _insert_visitor(dialect_name: str):  # type: ignore[no-untyped-def]
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return (
        dialect.insert(_visitors)
        .values(
            id=bindparam("id"), trial_id=bindparam("trial_id"), created_at=bindparam("created_at")
        )
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(_visitors.c.id)
    )


# Every first fix of a browser runs this: built once per dialect, like the upsert above.
_INSERT_VISITOR = {name: _insert_visitor(name) for name in ("sqlite", "postgresql")}
_DELETE_TRIAL = delete(_trials).where(_trials.c.id == bindparam("trial_id"))


def trial_for_fingerprint(*, session: Session, fingerprint: str) -> int:
    """The trial of this fingerprint, created on first sight: one upsert, safe under races."""
    stmt = _UPSERT_FINGERPRINT[session.get_bind().dialect.name]
    return session.execute(stmt, {"fp": fingerprint, "now": utcnow()}).scalar_one()


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


def create_visitor(
    *, session: Session, fingerprint: str | None, visitor_id: str | None = None
) -> tuple[str, int]:
    """A new browser: its trial is its fingerprint's (or its own without one).

    ``visitor_id`` is the id the browser's signed cookie already carries (the fix page
    hands one out at the first view), so its page views and its fixes are one browser's.
    If a concurrent first fix of the same browser created the row meanwhile, that row's
    trial is used.
    """
    if fingerprint:
        trial_id = trial_for_fingerprint(session=session, fingerprint=fingerprint)
    else:
        trial_id = session.execute(_NEW_TRIAL, {"created_at": utcnow()}).scalar_one()
    visitor_id = visitor_id or new_visitor_id()
    created = session.execute(
        _INSERT_VISITOR[session.get_bind().dialect.name],
        {"id": visitor_id, "trial_id": trial_id, "created_at": utcnow()},
    ).scalar()
    if created is None:
        if not fingerprint:
            session.execute(_DELETE_TRIAL, {"trial_id": trial_id})
        trial_id = session.execute(_TRIAL_OF_VISITOR, {"visitor_id": visitor_id}).scalar_one()
    return visitor_id, trial_id


def reserve_free_fix(
    *,
    session: Session,
    trial_id: int,
    visitor_id: str | None,
    user_id: int | None,
    allowance: Allowance,
    network: str | None = None,
) -> Reservation:
    """Take one free fix from ``trial_id`` or raise QuotaExhausted. One conditional UPDATE."""
    now = utcnow()
    _expire_for_trial(session, trial_id, now)
    limit = allowance.free_fixes
    if network is not None and allowance.per_network_per_day:
        _check_network_cap(session, network, allowance, trial_id)
    taken = session.execute(_TAKE_ONE, {"trial_id": trial_id, "limit": limit}).scalar()
    if taken is None:
        raise QuotaExhausted(usage_for(session=session, trial_id=trial_id, limit=limit))
    pending_id = secrets.token_urlsafe(16)
    session.execute(
        _HOLD,
        {
            "id": pending_id,
            "trial_id": trial_id,
            "network": network,
            "created_at": now,
            "expires_at": now + allowance.hold,
        },
    )
    return Reservation(
        visitor_id=visitor_id, user_id=user_id, trial_id=trial_id, id=pending_id, network=network
    )


def _lock_network(session: Session, network: str) -> None:
    """Serialise reservations from one network until commit (PostgreSQL), so the cap's
    count cannot be raced. SQLite writers are already serialised by BEGIN IMMEDIATE.

    Taken before any row lock of the reservation (and again, harmlessly, by the cap
    check): a browser's first fix locks its trial row before the cap check while its
    next fixes lock the cap first, and two orders of the same locks deadlock.
    """
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(network.encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _check_network_cap(session: Session, network: str, allowance: Allowance, trial_id: int) -> None:
    """All anonymous free fixes of one network in a rolling day share one cap."""
    _lock_network(session, network)
    since = utcnow() - NETWORK_WINDOW
    taken = session.execute(_NETWORK_COUNT, {"network": network, "since": since}).scalar() or 0
    if taken >= allowance.per_network_per_day:
        usage = usage_for(session=session, trial_id=trial_id, limit=allowance.free_fixes)
        raise QuotaExhausted(usage, network=True)


def _expire_for_trial(session: Session, trial_id: int, now: datetime) -> None:
    expired = session.execute(_EXPIRED_OF_TRIAL, {"trial_id": trial_id, "now": now}).all()
    if expired:
        _give_back(session, trial_id, len(expired))


_GIVE_BACK_N = (
    update(_trials)
    .where(_trials.c.id == bindparam("trial_id"), _trials.c.free_used >= bindparam("n"))
    .values(free_used=_trials.c.free_used - bindparam("n"))
)


def _give_back(session: Session, trial_id: int, n: int) -> None:
    session.execute(_GIVE_BACK_N, {"trial_id": trial_id, "n": n})


def expire_pending(*, session: Session, now: datetime | None = None) -> int:
    """Give back every free fix held by a request that never finished (a killed process)."""
    now = now or utcnow()
    # Holds another transaction is giving back (a reservation expiring its own) are left
    # to it: SKIP LOCKED on PostgreSQL, and in id order, so two sweeps never deadlock.
    expired = (
        select(_pending.c.id)
        .where(_pending.c.expires_at < now)
        .order_by(_pending.c.id)
        .with_for_update(skip_locked=True)
    )
    trials = session.execute(
        delete(_pending).where(_pending.c.id.in_(expired)).returning(_pending.c.trial_id)
    ).scalars()
    counts: dict[int, int] = {}
    for trial_id in trials:
        counts[trial_id] = counts.get(trial_id, 0) + 1
    for trial_id, n in counts.items():
        _give_back(session, trial_id, n)
    return sum(counts.values())


def trial_of_user(*, session: Session, user_id: int) -> int:
    return session.execute(_TRIAL_OF_USER, {"user_id": user_id}).scalar_one()


def usage_of(*, session: Session, identity: Identity, limit: int) -> Usage:
    """What the header shows: this account's, or this browser's, free fixes."""
    if identity.user_id is not None:
        trial_id = trial_of_user(session=session, user_id=identity.user_id)
        return usage_for(session=session, trial_id=trial_id, limit=limit)
    # Every page asks this: one statement rather than trial_for_browser and usage_for.
    params = {"visitor_id": identity.visitor_id, "fp": identity.fingerprint}
    return _usage_of(session.execute(_USED_BY_BROWSER, params).scalar() or 0, limit)


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


def reserve_for(*, session: Session, identity: Identity, allowance: Allowance) -> Reservation:
    """Reserve a free fix for whoever is asking, creating the visitor on first use."""
    if identity.user_id is not None:
        trial_id = trial_of_user(session=session, user_id=identity.user_id)
        return reserve_free_fix(
            session=session,
            trial_id=trial_id,
            visitor_id=None,
            user_id=identity.user_id,
            allowance=allowance,
        )
    if identity.network is not None and allowance.per_network_per_day:
        _lock_network(session, identity.network)
    visitor_id = identity.visitor_id
    trial_id = None
    if visitor_id:
        trial_id = session.execute(_TRIAL_OF_VISITOR, {"visitor_id": visitor_id}).scalar()
    if trial_id is None:
        visitor_id, trial_id = create_visitor(
            session=session, fingerprint=identity.fingerprint, visitor_id=visitor_id
        )
    return reserve_free_fix(
        session=session,
        trial_id=trial_id,
        visitor_id=visitor_id,
        user_id=None,
        allowance=allowance,
        network=identity.network,
    )


def release(*, session: Session, reservation: Reservation) -> None:
    """Give a reserved free fix back; a failed fix never costs the user.

    Idempotent: only the request that removes the pending row gives the fix back (an
    expired one was already given back).
    """
    if reservation.kind != "free" or reservation.id is None:
        return
    if session.execute(_UNHOLD, {"pending_id": reservation.id}).rowcount:
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
    if reservation.kind == "free" and reservation.id is not None:
        held = session.execute(_UNHOLD, {"pending_id": reservation.id}).rowcount
        if not held:
            # It outlived its hold and was given back meanwhile: the fix still counts.
            session.execute(_COUNT_ONE, {"trial_id": reservation.trial_id})
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
            network=reservation.network,
            created_at=utcnow(),
        ),
    )


def claim_browser(*, session: Session, user_id: int, user_trial_id: int, visitor_id: str) -> bool:
    """Count an anonymous browser's free fixes on the account, and its usage as the account's.

    Returns False when the browser is unknown (nothing to take over).
    """
    visitor = session.get(Visitor, visitor_id)
    if visitor is None:
        return False
    if visitor.trial_id != user_trial_id:
        used = session.scalar(select(Trial.free_used).where(Trial.id == visitor.trial_id)) or 0
        if used:
            session.execute(
                update(Trial)
                .where(Trial.id == user_trial_id)
                .values(free_used=Trial.free_used + used)
            )
        visitor.trial_id = user_trial_id
    visitor.user_id = user_id
    session.execute(
        update(UsageRecord)
        .where(UsageRecord.visitor_id == visitor_id, UsageRecord.user_id.is_(None))
        .values(user_id=user_id)
    )
    return True
