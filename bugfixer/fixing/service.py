"""The fix flow: validate, reserve a free fix, ask the provider, verify, then commit or release.

The caller owns nothing but the input; this module owns the transactions, because the
provider call sits between the reservation and its settlement and must not hold a
database transaction open while it waits.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
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
from bugfixer.errors import InputTooLarge, InvalidInput, ProviderUnavailable, QuotaExhaustedError
from bugfixer.fixing.languages import LANGUAGES, detect_language, normalize_language
from bugfixer.fixing.models import Fix
from bugfixer.fixing.providers import FixPrompt, Provider, ProviderError, ProviderReply
from bugfixer.fixing.render import unified_diff
from bugfixer.fixing.schemas import Check, FixResult, UsagePublic, Verification
from bugfixer.fixing.streaming import ExplanationFilter
from bugfixer.fixing.verify import failure_message, verify
from bugfixer.metering import service as metering
from bugfixer.metering.identity import Identity
from bugfixer.metering.service import Allowance, QuotaExhausted, Reservation, Usage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FixInput:
    code: str
    error: str
    language: str


@dataclass(frozen=True)
class Delta:
    """A piece of the provider's answer as it arrives."""

    text: str


@dataclass(frozen=True)
class Retrying:
    """The first answer failed verification; the provider is asked once more."""

    message: str


@dataclass(frozen=True)
class Finished:
    result: FixResult


FixEvent = Delta | Retrying | Finished


@dataclass(frozen=True)
class Attempt:
    """The outcome of asking the provider (and once more after a failed check)."""

    reply: ProviderReply
    verification: Verification
    tokens: tuple[int, int]

    @property
    def delivered(self) -> bool:
        return self.verification.ok and self.reply.fixed_code is not None

    @property
    def fixed_code(self) -> str | None:
        return self.reply.fixed_code if self.delivered else None

    @property
    def explanation(self) -> str:
        if self.delivered or self.reply.fixed_code is None:
            return self.reply.explanation
        return (
            "I could not produce a fix that passes verification: "
            f"{failure_message(self.verification)} No free fix was used."
        )


async def attempt_fix(
    *, provider: Provider, fix_input: FixInput, stream: bool = True
) -> AsyncIterator[Delta | Retrying | Attempt]:
    """Ask the provider, verify, and on a failed check ask once more with the checker's words.

    Yields the text as it streams (when ``stream``), then one Attempt.
    Raises ProviderUnavailable.
    """
    prompt = FixPrompt(code=fix_input.code, error=fix_input.error, language=fix_input.language)
    prompt_tokens = completion_tokens = 0
    for attempt in (1, 2):
        reply: ProviderReply | None = None
        asked = time.perf_counter()
        try:
            if not stream:
                reply = await provider.complete(prompt)
            else:
                prose = ExplanationFilter()
                async for item in provider.stream(prompt):
                    if isinstance(item, ProviderReply):
                        reply = item
                        if shown := prose.finish():
                            yield Delta(shown)
                    elif item and (shown := prose.feed(item)):
                        yield Delta(shown)
        except ProviderError as exc:
            log.warning("provider %s failed: %s", provider.name, exc)
            raise ProviderUnavailable(
                "The fixing service is unavailable right now; no free fix was used. "
                "Please try again shortly."
            ) from exc
        finally:
            timing.record("provider", (time.perf_counter() - asked) * 1000)
        if reply is None:
            raise ProviderUnavailable("The fixing service gave no answer; no free fix was used.")
        prompt_tokens += reply.prompt_tokens
        completion_tokens += reply.completion_tokens
        if reply.fixed_code is None:
            verification = Verification(
                ok=False, checks=[Check(name="fix_found", ok=False, message="No confident fix.")]
            )
        else:
            checked = time.perf_counter()
            verification = verify(
                language=fix_input.language, original=fix_input.code, fixed=reply.fixed_code
            )
            timing.record("verify", (time.perf_counter() - checked) * 1000)
        if verification.ok or reply.fixed_code is None or attempt == 2:
            yield Attempt(reply, verification, (prompt_tokens, completion_tokens))
            return
        message = failure_message(verification)
        yield Retrying(message)
        prompt = replace(prompt, feedback=message, previous_fix=reply.fixed_code)


def validate_input(
    *, code: object, error: object, language: object, settings: Settings
) -> FixInput:
    """Check a fix request; every refusal names the field and the limit."""
    if not isinstance(code, str):
        raise InvalidInput("code must be a string")
    if error is not None and not isinstance(error, str):
        raise InvalidInput("error must be a string")
    if language is not None and not isinstance(language, str):
        raise InvalidInput("language must be a string")
    error = error or ""
    if not code.strip():
        raise InvalidInput("code is empty: paste the code that fails")
    for name, value in (("code", code), ("error", error)):
        if "\x00" in value:
            raise InvalidInput(f"{name} contains NUL bytes: paste text, not binary data")
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
    return FixInput(code=code, error=error, language=lang)


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
    llm: dict[str, Any] | None = None,
) -> Usage:
    """Save the fix and charge it (``charge`` holds the usage record), or give it back.

    ``llm`` (provider, model, tokens, latency) goes into the product event, which is
    recorded for a fix that was not delivered too: its tokens were spent all the same.
    """
    session.execute(_INSERT_FIX, fix)
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
    }


class Fixer:
    """Runs fixes with one provider against one database."""

    def __init__(self, *, provider: Provider, db: Database, settings: Settings) -> None:
        self.provider = provider
        self.db = db
        self.settings = settings
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
        try:
            async for event in attempt_fix(
                provider=self.provider, fix_input=fix_input, stream=live
            ):
                if not isinstance(event, Attempt):
                    yield event
                    continue
                latency_ms = round((time.perf_counter() - started) * 1000)
                fix = self._saved_fix(reservation, fix_input, event)
                llm = self._charge(event, latency_ms)
                charge = llm if event.delivered else None
                settling = time.perf_counter()
                # Shielded: a settlement that commits must be known to have committed.
                with anyio.CancelScope(shield=True):
                    usage = await self.db.write(
                        settle_fix,
                        reservation=reservation,
                        fix=fix,
                        charge=charge,
                        free_fixes=self.settings.free_fixes,
                        llm=llm,
                    )
                    settled = True
                timing.record("settle", (time.perf_counter() - settling) * 1000)
                yield Finished(to_result(Fix(**fix), usage))
        finally:
            if not settled:
                with anyio.CancelScope(shield=True):
                    await self.db.write(metering.release, reservation=reservation)

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

    def _cost_microusd(self, model: str, tokens: tuple[int, int]) -> int:
        # USD per million tokens is exactly micro-USD per token.
        input_price, output_price = self.settings.llm_price(model)
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
