"""The fix flow: validate, reserve a free fix, ask the provider, verify, then commit or release.

The caller owns nothing but the input; this module owns the transactions, because the
provider call sits between the reservation and its settlement and must not hold a
database transaction open while it waits.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from bugfixer import timing
from bugfixer.analytics import events
from bugfixer.analytics.events import record_event
from bugfixer.billing.service import entitlement
from bugfixer.config import Settings
from bugfixer.db import Database, utcnow
from bugfixer.errors import InputTooLarge, InvalidInput, QuotaExhaustedError
from bugfixer.fixing.languages import LANGUAGES, detect_language, normalize_language
from bugfixer.fixing.models import Fix, LlmCall
from bugfixer.fixing.pipeline import Attempt, Call, Delta, FixInput, Pipeline, Retrying
from bugfixer.fixing.providers import Provider
from bugfixer.fixing.providers.base import has_lone_surrogate
from bugfixer.fixing.render import unified_diff
from bugfixer.fixing.schemas import FixResult, UsagePublic, Verification
from bugfixer.metering import service as metering
from bugfixer.metering.identity import Identity
from bugfixer.metering.service import Allowance, QuotaExhausted, Reservation, Usage
from bugfixer.observability import metrics
from bugfixer.sandbox import Sandbox

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finished:
    result: FixResult


FixEvent = Delta | Retrying | Finished


def validate_input(
    *,
    code: object,
    error: object,
    language: object,
    settings: Settings,
    test: object = None,
) -> FixInput:
    """Check a fix request; every refusal names the field and the limit."""
    if not isinstance(code, str):
        raise InvalidInput("code must be a string")
    for name, value in (("error", error), ("language", language), ("test", test)):
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"{name} must be a string")
    error = error or ""
    test = test or ""
    assert isinstance(error, str) and isinstance(test, str)
    if not code.strip():
        raise InvalidInput("code is empty: paste the code that fails")
    texts = (("code", code), ("error", error), ("test", test), ("language", language or ""))
    for name, value in texts:
        if "\x00" in value:
            raise InvalidInput(f"{name} contains NUL bytes: paste text, not binary data")
        if has_lone_surrogate(value):
            raise InvalidInput(
                f"{name} contains an unpaired surrogate (such as \\ud800): send valid Unicode text"
            )
    if len(test) > settings.max_test_chars:
        raise InputTooLarge(
            f"test is {len(test):,} characters; the limit is {settings.max_test_chars:,}"
        )
    if len(code) > settings.max_code_chars:
        raise InputTooLarge(
            f"code is {len(code):,} characters; the limit is {settings.max_code_chars:,}"
        )
    if len(error) > settings.max_error_chars:
        raise InputTooLarge(
            f"error is {len(error):,} characters; the limit is {settings.max_error_chars:,}"
        )
    if language and language.strip():
        lang = normalize_language(language)
        if lang is None:
            raise InvalidInput(
                f"language {language[:40]!r} is not supported; use one of: " + ", ".join(LANGUAGES)
            )
    else:
        lang = detect_language(code, error)
    return FixInput(code=code, error=error, language=lang, test=test.strip("\n"))


_INSERT_FIX = insert(Fix.__table__)


def paid_plan(*, session: Session, identity: Identity, grace: timedelta) -> str | None:
    """The plan giving this account unlimited fixes now, or None."""
    if identity.user_id is None:
        return None
    found = entitlement(session=session, user_id=identity.user_id, grace=grace)
    return found.plan_code if found else None


def usage_of(*, session: Session, identity: Identity, free_fixes: int, grace: timedelta) -> Usage:
    """What the header shows: unlimited with a plan, else the free fixes left."""
    plan = paid_plan(session=session, identity=identity, grace=grace)
    if plan is not None:
        return Usage(used=0, limit=None, remaining=None, plan=plan)
    return metering.usage_of(session=session, identity=identity, limit=free_fixes)


def reserve_fix(
    *, session: Session, identity: Identity, allowance: Allowance, grace: timedelta
) -> Reservation:
    """Hold one fix for whoever is asking: covered by a plan, or one free fix taken."""
    plan = paid_plan(session=session, identity=identity, grace=grace)
    if plan is not None and identity.user_id is not None:
        return metering.paid_reservation(session=session, user_id=identity.user_id, plan=plan)
    return metering.reserve_for(session=session, identity=identity, allowance=allowance)


def settle_fix(
    *,
    session: Session,
    reservation: Reservation,
    fix: dict[str, Any],
    charge: dict[str, Any] | None,
    free_fixes: int,
    calls: list[dict[str, Any]] | None = None,
    llm: dict[str, Any] | None = None,
) -> Usage:
    """Save the fix with the provider calls it took, and charge it (``charge`` holds the
    usage record) or give it back.

    ``llm`` (provider, model, tokens, latency) goes into the product event, which is
    recorded for a fix that was not delivered too: its tokens were spent all the same.
    """
    session.execute(_INSERT_FIX, fix)
    if calls:
        session.execute(insert(LlmCall.__table__), [{"fix_id": fix["id"], **c} for c in calls])
    if charge is not None:
        metering.record_usage(session=session, reservation=reservation, fix_id=fix["id"], **charge)
    else:
        metering.release(session=session, reservation=reservation)
    record_event(
        session=session,
        kind=events.FIX_COMPLETED if charge is not None else events.FIX_NO_FIX,
        visitor_id=reservation.visitor_id,
        user_id=reservation.user_id,
        properties=fix_event_properties(reservation.plan, fix, llm or charge or {}),
    )
    if reservation.kind == "paid":
        return Usage(used=0, limit=None, remaining=None, plan=reservation.plan)
    return metering.usage_for(session=session, trial_id=reservation.trial_id, limit=free_fixes)


def fix_event_properties(plan: str, fix: dict[str, Any], llm: dict[str, Any]) -> dict[str, Any]:
    """What the dashboard needs of a fix: who paid, which model, tokens, time. No code."""
    return {
        "plan": plan,
        "language": fix["language"],
        "provider": llm.get("provider", fix["provider"]),
        "model": llm.get("model", fix["model"]),
        "prompt_tokens": llm.get("prompt_tokens", 0),
        "completion_tokens": llm.get("completion_tokens", 0),
        "latency_ms": llm.get("latency_ms", 0),
        "llm_calls": llm.get("llm_calls", 1),
    }


class Fixer:
    """Runs fixes with one provider against one database."""

    def __init__(
        self, *, provider: Provider, db: Database, settings: Settings, sandbox: Sandbox
    ) -> None:
        self.provider = provider
        self.db = db
        self.settings = settings
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.pipeline = Pipeline(
            provider=provider, sandbox=sandbox, candidates=settings.fix_candidates
        )
        self.grace = timedelta(days=settings.past_due_grace_days)
        self.allowance = Allowance(
            free_fixes=settings.free_fixes,
            per_network_per_day=settings.free_fixes_per_network_per_day,
            hold=timedelta(seconds=settings.reservation_ttl_s),
        )

    async def usage(self, identity: Identity) -> Usage:
        return await self.db.read(
            usage_of, identity=identity, free_fixes=self.settings.free_fixes, grace=self.grace
        )

    def usage_now(self, identity: Identity) -> Usage:
        """``usage`` for code running in a worker thread."""
        return self.db.read_now(
            usage_of, identity=identity, free_fixes=self.settings.free_fixes, grace=self.grace
        )

    async def reserve(self, *, identity: Identity) -> Reservation:
        """Hold one fix for whoever is asking (a new visitor is created) or refuse with 402."""
        started = time.perf_counter()
        try:
            # Shielded: once taken, the caller must get the reservation to settle or release.
            with anyio.CancelScope(shield=True):
                return await self.db.write(
                    reserve_fix, identity=identity, allowance=self.allowance, grace=self.grace
                )
        except QuotaExhausted as exc:
            metrics.record_quota_refusal()
            raise quota_error(exc) from None
        finally:
            timing.record("reserve", (time.perf_counter() - started) * 1000)

    async def run(self, *, reservation: Reservation, fix_input: FixInput) -> FixResult:
        """The whole fix at once, with no streaming (one plain provider request)."""
        async for event in self.stream(reservation=reservation, fix_input=fix_input, live=False):
            if isinstance(event, Finished):
                return event.result
        raise AssertionError("the fix stream ended without a result")

    async def stream(
        self, *, reservation: Reservation, fix_input: FixInput, live: bool = True
    ) -> AsyncIterator[FixEvent]:
        """Yield the explanation as it is written, then the verified, saved result.

        Only prose is streamed: the fixed program leaves with the result, after the fix
        is settled, so hanging up early never delivers a fix without paying for it. The
        reservation is released unless the fix is delivered, including when the client
        goes away mid-stream.
        """
        settled = False
        started = time.perf_counter()
        self._in_flight += 1
        self._idle.clear()
        try:
            async for event in self.pipeline.attempt(fix_input, stream=live):
                if not isinstance(event, Attempt):
                    yield event
                    continue
                latency_ms = round((time.perf_counter() - started) * 1000)
                fix = self._saved_fix(reservation, fix_input, event)
                llm = self._charge(event, latency_ms)
                charge = llm if event.delivered else None
                calls = [self._call_row(call) for call in event.calls]
                settling = time.perf_counter()
                # Shielded: a settlement that commits must be known to have committed.
                with anyio.CancelScope(shield=True):
                    usage = await self.db.write(
                        settle_fix,
                        reservation=reservation,
                        fix=fix,
                        charge=charge,
                        free_fixes=self.settings.free_fixes,
                        calls=calls,
                        llm={**llm, "llm_calls": len(calls)},
                    )
                    settled = True
                timing.record("settle", (time.perf_counter() - settling) * 1000)
                metrics.record_fix(self.provider.name, fix["status"])
                yield Finished(to_result(Fix(**fix), usage))
        finally:
            try:
                if not settled:
                    metrics.record_fix(self.provider.name, "failed")
                    with anyio.CancelScope(shield=True):
                        await self.db.write(metering.release, reservation=reservation)
            finally:
                self._in_flight -= 1
                if not self._in_flight:
                    self._idle.set()

    async def drain(self, *, timeout_s: float) -> bool:
        """Wait until no fix is running (each settled or released); False on timeout."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            log.warning("%d fixes still running at shutdown", self._in_flight)
            return False
        return True

    def _saved_fix(
        self, reservation: Reservation, fix_input: FixInput, attempt: Attempt
    ) -> dict[str, Any]:
        return {
            "id": secrets.token_urlsafe(16),
            "visitor_id": reservation.visitor_id,
            "user_id": reservation.user_id,
            "status": "fixed" if attempt.delivered else "no_fix",
            "language": fix_input.language,
            "code": fix_input.code,
            "error": fix_input.error,
            "test": fix_input.test,
            "explanation": attempt.explanation,
            "fixed_code": attempt.fixed_code,
            "diff": unified_diff(fix_input.code, attempt.fixed_code),
            "verification": attempt.verification.model_dump(),
            "provider": self.provider.name,
            "model": attempt.reply.model,
            "created_at": utcnow(),
        }

    def _charge(self, attempt: Attempt, latency_ms: int) -> dict[str, Any]:
        prompt_tokens, completion_tokens = attempt.tokens
        return {
            "provider": self.provider.name,
            "model": attempt.reply.model,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "latency_ms": latency_ms,
            "cost_microusd": self._cost_microusd(attempt.reply.model, attempt.tokens),
        }

    def _call_row(self, call: Call) -> dict[str, Any]:
        return {
            "provider": self.provider.name,
            "model": call.model,
            "purpose": call.purpose,
            "prompt_tokens": call.prompt_tokens,
            "completion_tokens": call.completion_tokens,
            "cost_microusd": self._cost_microusd(
                call.model, (call.prompt_tokens, call.completion_tokens)
            ),
            "latency_ms": call.latency_ms,
            "created_at": utcnow(),
        }

    def _cost_microusd(self, model: str, tokens: tuple[int, int]) -> int:
        return cost_microusd(self.settings, model, tokens)


def cost_microusd(settings: Settings, model: str, tokens: tuple[int, int]) -> int:
    """Estimated cost of (prompt, completion) tokens with the configured prices."""
    # USD per million tokens is exactly micro-USD per token.
    input_price, output_price = settings.llm_price(model)
    return round(tokens[0] * input_price + tokens[1] * output_price)


def quota_error(exc: QuotaExhausted) -> QuotaExhaustedError:
    if exc.network:
        message = (
            "Free fixes from your network are used up for today. "
            "Subscribe for unlimited fixes: /pricing"
        )
    else:
        message = (
            f"You have used all {exc.usage.limit} free fixes. "
            "Subscribe for unlimited fixes: /pricing"
        )
    err = QuotaExhaustedError(message)
    err.extra = {"pricing_url": "/pricing", "usage": _usage_public(exc.usage).model_dump()}
    return err


def _owned_by(identity: Identity):  # type: ignore[no-untyped-def]
    """Signed in: the account's fixes. Anonymous: this browser's, not yet claimed."""
    if identity.user_id is not None:
        return Fix.user_id == identity.user_id
    if identity.visitor_id:
        return (Fix.visitor_id == identity.visitor_id) & Fix.user_id.is_(None)
    return None


def claim_fixes(*, session: Session, visitor_id: str, user_id: int) -> None:
    """A browser's fixes become the account's when it signs up or in."""
    session.execute(
        update(Fix)
        .where(Fix.visitor_id == visitor_id, Fix.user_id.is_(None))
        .values(user_id=user_id)
    )


def get_fix(*, session: Session, fix_id: str, identity: Identity) -> Fix | None:
    """A saved fix, only for its owner."""
    owned = _owned_by(identity)
    if owned is None:
        return None
    return session.scalar(select(Fix).where(Fix.id == fix_id, owned))


def list_fixes(*, session: Session, identity: Identity, limit: int = 50) -> list[Fix]:
    owned = _owned_by(identity)
    if owned is None:
        return []
    return list(
        session.scalars(select(Fix).where(owned).order_by(Fix.created_at.desc()).limit(limit))
    )


def to_result(fix: Fix, usage: Usage) -> FixResult:
    return FixResult(
        id=fix.id,
        status=fix.status,  # type: ignore[arg-type]
        explanation=fix.explanation,
        fixed_code=fix.fixed_code,
        diff=fix.diff,
        language=fix.language,
        verification=Verification.model_validate(fix.verification),
        usage=_usage_public(usage),
        url=f"/fixes/{fix.id}",
        provider=fix.provider,
        model=fix.model,
    )


def _usage_public(usage: Usage) -> UsagePublic:
    return UsagePublic(
        used=usage.used, limit=usage.limit, remaining=usage.remaining, plan=usage.plan
    )
