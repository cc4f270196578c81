"""The audit log of what administrators did to accounts and payments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bugfixer.db import Base, UTCDateTime, utcnow


class AdminAction(Base):
    """Who did what to whom, when and why. Append-only; written with the action itself."""

    __tablename__ = "admin_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    admin_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Kept as written: the log still says who it was if the account changes.
    admin_email: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(32))
    target_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
