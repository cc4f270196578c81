"""Accounts as the operator sees them, and what an administrator may do to one.

Reads go across domains (accounts, billing, fixing, product events) read-only. Each
action is one unit of work that writes its audit row in the same transaction as its
change, so the log can never claim what did not happen, nor miss what did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bugfixer.accounts.models import User
from bugfixer.admin import audit
from bugfixer.admin.format import money
from bugfixer.admin.models import AdminAction
from bugfixer.analytics.models import ProductEvent
from bugfixer.billing import service as billing
from bugfixer.billing.models import ComplimentaryGrant, Subscription, Transaction
from bugfixer.db import utcnow
from bugfixer.errors import AppError, InvalidInput, NotFound
from bugfixer.fixing.models import Fix
from bugfixer.metering.identity import Identity

PAGE_SIZE = 50
MAX_GRANT_YEARS = 10


class Conflict(AppError):
    status = 409
    code = "conflict"


@dataclass(frozen=True)
class UserRow:
    id: int
    email: str
    is_admin: bool
    plan: str  # a plan code, "complimentary" or "free"
    status: str  # the latest subscription's status, or ""
    fixes: int
    paid_cents: int  # payments less refunds, all time
    last_seen: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class UsersPage:
    rows: list[UserRow]
    query: str
    page: int
    more: bool
    total: int


def search_users(
    *, session: Session, query: str, page: int, admin_emails: set[str], grace: timedelta
) -> UsersPage:
    """Accounts whose email contains ``query``, newest first, with their numbers."""
    if page < 1:
        raise InvalidInput("page must be 1 or more.")
    query = query.strip().lower()[:320]
    where = [User.email.contains(query, autoescape=True)] if query else []
    total = session.scalar(select(func.count(User.id)).where(*where)) or 0
    users = list(
        session.scalars(
            select(User)
            .where(*where)
            .order_by(User.created_at.desc(), User.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
    )
    more, users = len(users) > PAGE_SIZE, users[:PAGE_SIZE]
    ids = [u.id for u in users]
    fixes = _by_user(session, select(Fix.user_id, func.count()).where(Fix.user_id.in_(ids)))
    paid = _by_user(
        session,
        select(Transaction.user_id, func.sum(Transaction.amount_cents)).where(
            Transaction.user_id.in_(ids), Transaction.kind.in_(("payment", "refund"))
        ),
    )
    seen = _by_user(
        session,
        select(ProductEvent.user_id, func.max(ProductEvent.occurred_at)).where(
            ProductEvent.user_id.in_(ids)
        ),
    )
    latest: dict[int, Subscription] = {}
    for sub in session.scalars(
        select(Subscription)
        .where(Subscription.user_id.in_(ids))
        .order_by(Subscription.current_period_end.asc().nulls_first())
    ):
        latest[sub.user_id] = sub  # the last one wins: the latest period end
    rows = []
    for user in users:
        found = billing.entitlement(session=session, user_id=user.id, grace=grace)
        sub = latest.get(user.id)
        rows.append(
            UserRow(
                id=user.id,
                email=user.email,
                is_admin=_is_admin(user, admin_emails),
                plan=found.plan_code if found else "free",
                status=sub.status if sub else "",
                fixes=fixes.get(user.id, 0),
                paid_cents=int(paid.get(user.id, 0) or 0),
                last_seen=seen.get(user.id),
                created_at=user.created_at,
            )
        )
    return UsersPage(rows=rows, query=query, page=page, more=more, total=total)


def _is_admin(user: User, admin_emails: set[str]) -> bool:
    """As deps decides it: BUGFIXER_ADMIN_EMAILS counts once the address is confirmed."""
    return user.is_admin or (user.verified_at is not None and user.email in admin_emails)


def _by_user(session: Session, query) -> dict:  # type: ignore[no-untyped-def,type-arg]
    first = query.selected_columns[0]
    return dict(session.execute(query.group_by(first)).all())


@dataclass(frozen=True)
class Payment:
    """A ledger row, and for a payment how much of it can still be refunded."""

    row: Transaction
    refundable_cents: int


@dataclass(frozen=True)
class UserDetail:
    user: User
    is_admin: bool
    entitlement: billing.Entitlement | None
    subscriptions: list[Subscription]
    grants: list[ComplimentaryGrant]
    ledger: list[Payment]
    fixes: list[Fix]
    actions: list[AdminAction]
    last_seen: datetime | None


def user_detail(
    *, session: Session, user_id: int, admin_emails: set[str], grace: timedelta
) -> UserDetail:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"There is no account {user_id}.")
    transactions = billing.ledger(session=session, user_id=user_id, limit=200)
    refunded: dict[str, int] = {}
    for t in transactions:
        if t.kind == "refund" and t.stripe_invoice_id:
            refunded[t.stripe_invoice_id] = refunded.get(t.stripe_invoice_id, 0) - t.amount_cents
    ledger = [
        Payment(
            row=t,
            refundable_cents=max(0, t.amount_cents - refunded.get(t.stripe_invoice_id or "", 0))
            if t.kind == "payment"
            else 0,
        )
        for t in transactions
    ]
    return UserDetail(
        user=user,
        is_admin=_is_admin(user, admin_emails),
        entitlement=billing.entitlement(session=session, user_id=user_id, grace=grace),
        subscriptions=list(
            session.scalars(
                select(Subscription)
                .where(Subscription.user_id == user_id)
                .order_by(Subscription.created_at.desc())
            )
        ),
        grants=list(
            session.scalars(
                select(ComplimentaryGrant)
                .where(ComplimentaryGrant.user_id == user_id)
                .order_by(ComplimentaryGrant.created_at.desc(), ComplimentaryGrant.id.desc())
            )
        ),
        ledger=ledger,
        fixes=list(
            session.scalars(
                select(Fix).where(Fix.user_id == user_id).order_by(Fix.created_at.desc()).limit(20)
            )
        ),
        actions=audit.actions_on(session=session, user_id=user_id),
        last_seen=session.scalar(
            select(func.max(ProductEvent.occurred_at)).where(ProductEvent.user_id == user_id)
        ),
    )


# -- actions ---------------------------------------------------------------------------------


def grant_until(raw: str, *, today: date | None = None) -> datetime:
    """Access through the end of the given day (UTC): 2026-01-31 → 2026-02-01 00:00."""
    today = today or utcnow().date()
    try:
        last_day = date.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput("Give the last day of access as a date like 2026-01-31.") from None
    if last_day < today:
        raise InvalidInput("The last day of access must be today or later.")
    if last_day > today.replace(year=today.year + MAX_GRANT_YEARS):
        raise InvalidInput(f"Complimentary access can last at most {MAX_GRANT_YEARS} years.")
    return datetime.combine(last_day + timedelta(days=1), time(), UTC)


def account_of(*, session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"There is no account {user_id}.")
    return user


def grant_access(
    *, session: Session, admin: Identity, user_id: int, until: datetime, reason: str
) -> None:
    """Unlimited fixes until ``until`` without paying; audited with the change."""
    account_of(session=session, user_id=user_id)
    grant = billing.grant_complimentary(
        session=session, user_id=user_id, until=until, granted_by=admin.user_id
    )
    audit.record_action(
        session=session,
        admin=admin,
        action=audit.GRANT,
        reason=reason,
        target_user_id=user_id,
        details={
            "until": until.isoformat(),
            "last_day": (until - timedelta(days=1)).date().isoformat(),
            "grant_id": grant.id,
        },
    )


def revoke_access(*, session: Session, admin: Identity, user_id: int, reason: str) -> None:
    account_of(session=session, user_id=user_id)
    if not billing.revoke_complimentary(session=session, user_id=user_id, revoked_by=admin.user_id):
        raise Conflict("This account has no complimentary access to revoke.")
    audit.record_action(
        session=session, admin=admin, action=audit.REVOKE, reason=reason, target_user_id=user_id
    )


def payment_to_refund(
    *, session: Session, user_id: int, transaction_id: int, amount_cents: int | None
) -> tuple[Transaction, int]:
    """The account's payment and the amount to refund (all that is left by default)."""
    payment = session.get(Transaction, transaction_id)
    if payment is None or payment.user_id != user_id or payment.kind != "payment":
        raise NotFound("There is no such payment on this account.")
    refunded = 0
    if payment.stripe_invoice_id:
        refunded = -(
            session.scalar(
                select(func.coalesce(func.sum(Transaction.amount_cents), 0)).where(
                    Transaction.kind == "refund",
                    Transaction.stripe_invoice_id == payment.stripe_invoice_id,
                )
            )
            or 0
        )
    left = max(0, payment.amount_cents - refunded)
    if left <= 0:
        raise Conflict("This payment has already been refunded in full.")
    amount = left if amount_cents is None else amount_cents
    if not 0 < amount <= left:
        raise InvalidInput(
            f"The refund must be between $0.01 and {money(left)} (what is left of this payment)."
        )
    return payment, amount


def parse_cents(raw: str) -> int | None:
    """An amount typed as dollars ("12" or "12.50"); empty means all that is left."""
    raw = raw.strip().lstrip("$")
    if not raw:
        return None
    whole, _, frac = raw.partition(".")
    if not whole.isdigit() or len(frac) > 2 or (frac and not frac.isdigit()):
        raise InvalidInput("Give the amount in dollars, like 12 or 12.50, or leave it empty.")
    return int(whole) * 100 + int(frac.ljust(2, "0") or 0)
