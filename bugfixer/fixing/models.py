"""Stored fixes: every attempt a visitor made, shown back to its owner in history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bugfixer.db import Base, UTCDateTime, utcnow


class Fix(Base):
    __tablename__ = "fixes"

    # Random, not sequential: ids appear in URLs and must not be guessable.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The owner: the account when signed in (or via API key), else the browser.
    visitor_id: Mapped[str | None] = mapped_column(ForeignKey("visitors.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text, default="")
    # The user's own test, run after the program (empty when none was given).
    test: Mapped[str] = mapped_column(Text, default="", server_default="")
    explanation: Mapped[str] = mapped_column(Text)
    fixed_code: Mapped[str | None] = mapped_column(Text)
    diff: Mapped[str] = mapped_column(Text, default="")
    verification: Mapped[dict[str, Any]] = mapped_column(JSON)
    provider: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class LlmCall(Base):
    """One request to the provider while making a fix, delivered or not: the operator pays
    for every call, so each one's tokens and estimated cost are kept. Never updated."""

    __tablename__ = "llm_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    fix_id: Mapped[str] = mapped_column(ForeignKey("fixes.id"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(128))
    purpose: Mapped[str] = mapped_column(String(16))  # first | candidate | repair
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_microusd: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
