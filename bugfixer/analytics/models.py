"""The product events table."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bugfixer.db import Base, UTCDateTime, utcnow

# What the funnel reads: paywalls, checkouts and free fixes (analytics.events), written
# for each database so that its partial index covers the funnel's query.
FUNNEL_WHERE = {
    dialect: "kind IN ('paywall_shown', 'checkout_started', 'checkout_completed') OR "
    f"(kind IN ('fix_completed', 'fix_no_fix') AND {plan} = 'free')"
    for dialect, plan in (
        ("postgresql", "(properties ->> 'plan')"),
        ("sqlite", "json_extract(properties, '$.plan')"),
    )
}
# jsonb on PostgreSQL: properties are read back by key in aggregate queries.
Properties = JSON().with_variant(JSONB(), "postgresql")


class ProductEvent(Base):
    """One thing a browser or account did. Never updated, never deleted by the app."""

    __tablename__ = "product_events"
    __table_args__ = (
        # The period scans read only the index on PostgreSQL (an index-only scan).
        Index(
            "ix_product_events_occurred_at",
            "occurred_at",
            postgresql_include=["kind", "user_id", "visitor_key"],
        ),
        Index("ix_product_events_kind_occurred_at", "kind", "occurred_at"),
        Index("ix_product_events_user_id_occurred_at", "user_id", "occurred_at"),
        # The funnel's events alone; on PostgreSQL its scan reads only this index.
        Index(
            "ix_product_events_funnel",
            "occurred_at",
            postgresql_include=["kind", "user_id", "visitor_key"],
            postgresql_where=text(FUNNEL_WHERE["postgresql"]),
            sqlite_where=text(FUNNEL_WHERE["sqlite"]),
        ),
    )

    # BigInteger on PostgreSQL (a busy site passes 2**31 events); SQLite needs INTEGER
    # for its rowid alias.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    # The signed visitor cookie's id (a browser), and the account when one is known.
    # No foreign keys: a browser is seen before its visitor row exists.
    visitor_id: Mapped[str | None] = mapped_column(String(64))
    # A negative 63-bit hash of visitor_id: counting distinct people compares integers
    # (account ids are positive), not strings.
    visitor_key: Mapped[int | None] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(Integer)
    properties: Mapped[dict[str, Any]] = mapped_column(Properties, default=dict)


class VisitorDay(Base):
    """Who visited on which UTC day: one row per person and day, kept as visits are
    recorded (in the same transaction as the event), so the dashboard counts visitors
    without reading the events.

    ``visitor_key`` is the person: the account (a positive id) when the visit had one or
    its browser had become one (``VisitorLink``), else the browser's key (negative).
    When a browser signs up or in for the first time, its rows move to the account.

    ``prev_day`` is the person's previous visit (None for the first), so counting
    people over a period is counting the rows whose previous visit falls before it: no
    distinct over the period's rows, one index-only scan.
    """

    __tablename__ = "visitor_days"
    __table_args__ = (Index("ix_visitor_days_day_prev_day", "day", "prev_day"),)

    visitor_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    prev_day: Mapped[date | None] = mapped_column(Date)


class VisitorLink(Base):
    """Which account a browser became: the first account it signed up or in with, kept
    as ``signed_up``/``signed_in`` events are recorded and never changed after."""

    __tablename__ = "visitor_links"

    visitor_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(Integer)
