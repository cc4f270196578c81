"""Visitors, the free-fix counter they draw on, and the append-only usage ledger."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bugfixer.db import Base, UTCDateTime, utcnow


class Trial(Base):
    """One free-fix allowance. Visitors (and later accounts) point at the trial they use.

    The counter lives here, not on the visitor, so several identities of one person can
    share one allowance without read-modify-write.
    """

    __tablename__ = "trials"
    __table_args__ = (CheckConstraint("free_used >= 0", name="free_used_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Keyed hash of network prefix + User-Agent: clearing cookies finds the same trial.
    fingerprint: Mapped[str | None] = mapped_column(String(64), unique=True)
    free_used: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Visitor(Base):
    """A browser or API client, known by the random id in its signed cookie."""

    __tablename__ = "visitors"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PendingFix(Base):
    """A free fix taken from a trial while its provider works: settled, released or expired.

    The trial's counter already includes it, so concurrent requests cannot overdraw; a
    row left by a process that died is given back once ``expires_at`` passes.
    """

    __tablename__ = "pending_fixes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    # Keyed hash of the client's network prefix, for the per-network cap (anonymous only).
    network: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class UsageRecord(Base):
    """One successful fix that was charged (free) or covered (paid). Never updated."""

    __tablename__ = "usage_records"
    __table_args__ = (Index("ix_usage_records_network_created_at", "network", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visitor_id: Mapped[str | None] = mapped_column(ForeignKey("visitors.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    fix_id: Mapped[str] = mapped_column(ForeignKey("fixes.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(128))
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[int] = mapped_column(Integer)
    cost_microusd: Mapped[int] = mapped_column(Integer, default=0)
    # Set for anonymous free fixes: the keyed hash of the network they came from.
    network: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
