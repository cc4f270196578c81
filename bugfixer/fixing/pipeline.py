"""From a request to the best answer the evidence supports: reproduce, ask, check, repair, choose.

Python programs are run in the sandbox: first the user's own (with their test), to see
the bug happen; then every candidate fix. Candidates are ranked by evidence — runs >
docstring examples pass > static checks pass > smallest diff — and a later candidate (a
repair after a failed run) replaces an earlier one only when its evidence is strictly
better: an answer that merely differs is not an improvement.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from bugfixer import timing
from bugfixer.errors import ProviderUnavailable
from bugfixer.fixing import runtime_checks
from bugfixer.fixing.providers import (
    FixPrompt,
    Provider,
    ProviderError,
    ProviderReply,
    build_provider,
)
from bugfixer.fixing.schemas import Check, Verification
from bugfixer.fixing.streaming import ExplanationFilter
from bugfixer.fixing.verify import verify
from bugfixer.sandbox import Sandbox

if TYPE_CHECKING:
    from bugfixer.config import Settings

log = logging.getLogger(__name__)

# A failed check of these kinds means the answer is not a fix. Docstring examples are a
# weak oracle (some are inexact): they rank candidates but never reject one on their own.
VETO_CHECKS = frozenset(
    {"fix_found", "not_empty", "changed", "parses", "compiles", "no_new_undefined_names", "runs"}
)
STATIC_CHECKS = frozenset({"not_empty", "changed", "parses", "compiles", "no_new_undefined_names"})


@dataclass(frozen=True)
class FixInput:
    code: str
    error: str
    language: str
    test: str = ""


@dataclass(frozen=True)
class Delta:
    """A piece of the explanation as it is written (never code)."""

    text: str


@dataclass(frozen=True)
class Retrying:
    """The best answer so far failed a check; the provider is asked once more."""

    message: str


@dataclass(frozen=True)
class Call:
    """One request to the provider: what the operator pays for, fix or no fix."""

    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: int
    purpose: str  # first | candidate | repair


@dataclass(frozen=True)
class Candidate:
    reply: ProviderReply
    verification: Verification
    feedback: str  # what to tell the model when this one is sent back
    evidence: tuple[int, ...]
    order: int  # earlier candidates win ties

    @property
    def vetoed(self) -> bool:
        return any(
            not c.ok and not c.skipped and c.name in VETO_CHECKS for c in self.verification.checks
        )

    @property
    def delivered(self) -> bool:
        return self.reply.fixed_code is not None and not self.vetoed

    def summary(self) -> str:
        """How this candidate fared, in a sentence (no code)."""
        if self.reply.fixed_code is None:
            return "the model had no confident fix"
        failed = [c for c in self.verification.checks if not c.ok and not c.skipped]
        if not failed:
            return "it passed every check"
        return failed[0].message.rstrip(".")


@dataclass(frozen=True)
class Attempt:
    """The chosen answer, every call it took, and what was tried."""

    best: Candidate
    calls: tuple[Call, ...]
    tried: tuple[str, ...] = field(default_factory=tuple)
    reproduced: bool | None = None

    @property
    def reply(self) -> ProviderReply:
        return self.best.reply

    @property
    def verification(self) -> Verification:
        return self.best.verification

    @property
    def delivered(self) -> bool:
        return self.best.delivered

    @property
    def fixed_code(self) -> str | None:
        return self.best.reply.fixed_code if self.delivered else None

    @property
    def tokens(self) -> tuple[int, int]:
        return (
            sum(c.prompt_tokens for c in self.calls),
            sum(c.completion_tokens for c in self.calls),
        )

    @property
    def explanation(self) -> str:
        if self.delivered or self.best.reply.fixed_code is None:
            return self.best.reply.explanation
        attempts = "; ".join(
            f"answer {n}: {summary}" for n, summary in enumerate(self.tried, start=1)
        )
        return (
            "I could not produce a fix that passes the checks, so no free fix was used. "
            f"What was tried — {attempts}."
        )


FixEvent = Delta | Retrying | Attempt


class Pipeline:
    """One provider and one sandbox, shared by every fix."""

    def __init__(self, *, provider: Provider, sandbox: Sandbox, candidates: int = 1) -> None:
        self.provider = provider
        self.sandbox = sandbox
        self.candidates = candidates

    async def run(self, fix_input: FixInput) -> Attempt:
        """The whole attempt at once, nothing streamed. Raises ProviderUnavailable."""
        async for event in self.attempt(fix_input, stream=False):
            if isinstance(event, Attempt):
                return event
        raise AssertionError("the pipeline ended without an attempt")

    async def attempt(self, fix_input: FixInput, *, stream: bool = True) -> AsyncIterator[FixEvent]:
        """Yield explanation text as it streams, a Retrying before a repair, then one Attempt.

        Raises ProviderUnavailable.
        """
        reproduction = await self._reproduce(fix_input)
        prompt = FixPrompt(
            code=fix_input.code,
            error=fix_input.error or reproduction.observed_error,
            language=fix_input.language,
            test=fix_input.test,
        )
        calls: list[Call] = []
        replies: list[ProviderReply] = []
        if self.candidates > 1:
            replies = await self._ask_many(prompt, calls)
        else:
            async for item in self._ask(prompt, calls, purpose="first", stream=stream):
                if isinstance(item, Delta):
                    yield item
                else:
                    replies.append(item)
        checked = await asyncio.gather(
            *(self._check(r, fix_input, reproduction, n) for n, r in enumerate(replies))
        )
        best = _best(checked)
        tried = [c.summary() for c in checked]
        if best.reply.fixed_code is not None and best.vetoed:
            yield Retrying(_tell_user(best))
            repair = replace(prompt, feedback=best.feedback, previous_fix=best.reply.fixed_code)
            again: ProviderReply | None = None
            async for item in self._ask(repair, calls, purpose="repair", stream=stream):
                if isinstance(item, Delta):
                    yield item
                else:
                    again = item
            assert again is not None
            second = await self._check(again, fix_input, reproduction, len(checked))
            tried.append(second.summary())
            if second.evidence > best.evidence:
                best = second
        yield Attempt(
            best=best, calls=tuple(calls), tried=tuple(tried), reproduced=reproduction.reproduced
        )

    # -- asking --------------------------------------------------------------------------

    async def _ask(
        self, prompt: FixPrompt, calls: list[Call], *, purpose: str, stream: bool
    ) -> AsyncIterator[Delta | ProviderReply]:
        asked = time.perf_counter()
        reply: ProviderReply | None = None
        try:
            if not stream:
                reply = await self.provider.complete(prompt)
            else:
                prose = ExplanationFilter()
                async for item in self.provider.stream(prompt):
                    if isinstance(item, ProviderReply):
                        reply = item
                        if shown := prose.finish():
                            yield Delta(shown)
                    elif item and (shown := prose.feed(item)):
                        yield Delta(shown)
        except ProviderError as exc:
            raise _unavailable(self.provider, exc) from exc
        finally:
            timing.record("provider", (time.perf_counter() - asked) * 1000)
        if reply is None:
            raise ProviderUnavailable("The fixing service gave no answer; no free fix was used.")
        calls.append(_call(reply, asked, purpose))
        yield reply

    async def _ask_many(self, prompt: FixPrompt, calls: list[Call]) -> list[ProviderReply]:
        asked = time.perf_counter()
        try:
            replies = await self.provider.complete_many(prompt, self.candidates)
        except ProviderError as exc:
            raise _unavailable(self.provider, exc) from exc
        finally:
            timing.record("provider", (time.perf_counter() - asked) * 1000)
        if not replies:
            raise ProviderUnavailable("The fixing service gave no answer; no free fix was used.")
        calls.extend(_call(r, asked, "candidate") for r in replies)
        return replies

    # -- checking ------------------------------------------------------------------------

    async def _reproduce(self, fix_input: FixInput) -> runtime_checks.Reproduction:
        started = time.perf_counter()
        try:
            return await runtime_checks.reproduce(
                self.sandbox,
                language=fix_input.language,
                code=fix_input.code,
                test=fix_input.test,
                pasted_error=fix_input.error,
            )
        finally:
            timing.record("reproduce", (time.perf_counter() - started) * 1000)

    async def _check(
        self,
        reply: ProviderReply,
        fix_input: FixInput,
        reproduction: runtime_checks.Reproduction,
        order: int,
    ) -> Candidate:
        fixed = reply.fixed_code
        if fixed is None:
            verification = Verification(
                ok=False, checks=[Check(name="fix_found", ok=False, message="No confident fix.")]
            )
            return Candidate(reply, verification, "", (0, 0, 0, 0, 0), order)
        started = time.perf_counter()
        checks = list(_static(fix_input, fixed))
        static_ok = all(c.ok for c in checks)
        feedback = " ".join(c.message for c in checks if not c.ok)
        if static_ok and fix_input.language == "python":
            runs, failure = await runtime_checks.check_runs(
                self.sandbox, fixed=fixed, test=fix_input.test, reproduction=reproduction
            )
            checks.append(runs)
            if failure:
                feedback = failure
            doctests = await runtime_checks.check_doctests(self.sandbox, fixed=fixed)
            if doctests is not None:
                checks.append(doctests)
        timing.record("verify", (time.perf_counter() - started) * 1000)
        verification = Verification(
            ok=all(c.ok or c.skipped for c in checks),
            checks=checks,
            reproduced=reproduction.reproduced,
        )
        evidence = _evidence(checks, static_ok, fix_input.code, fixed)
        return Candidate(reply, verification, feedback, evidence, order)


def _static(fix_input: FixInput, fixed: str) -> list[Check]:
    checks = verify(language=fix_input.language, original=fix_input.code, fixed=fixed).checks
    if _same(fixed, fix_input.code):
        checks = [
            Check(
                name="changed",
                ok=False,
                message="The answer was your code, unchanged.",
            ),
            *checks,
        ]
    return checks


def _same(a: str, b: str) -> bool:
    def norm(text: str) -> list[str]:
        return [line.rstrip() for line in text.strip().splitlines()]

    return norm(a) == norm(b)


def _level(checks: list[Check], name: str, *, runnable: bool) -> int:
    """2 passed, 1 not run for a reason of ours (or no such check), 0 failed or not runnable."""
    if not runnable:
        return 0
    found = next((c for c in checks if c.name == name), None)
    if found is None or found.skipped:
        return 1
    return 2 if found.ok else 0


def _evidence(checks: list[Check], static_ok: bool, original: str, fixed: str) -> tuple[int, ...]:
    diff = sum(
        1
        for line in difflib.unified_diff(original.splitlines(), fixed.splitlines(), lineterm="")
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    )
    return (
        1,
        _level(checks, "runs", runnable=static_ok),
        _level(checks, "doctests", runnable=static_ok),
        int(static_ok),
        -diff,
    )


def _best(candidates: list[Candidate]) -> Candidate:
    return max(candidates, key=lambda c: (c.evidence, -c.order))


def _tell_user(candidate: Candidate) -> str:
    """Why the answer goes back, in words safe to show (no code)."""
    return candidate.summary().rstrip(".") + "."


def _call(reply: ProviderReply, asked: float, purpose: str) -> Call:
    return Call(
        model=reply.model,
        prompt_tokens=reply.prompt_tokens,
        completion_tokens=reply.completion_tokens,
        latency_ms=round((time.perf_counter() - asked) * 1000),
        purpose=purpose,
    )


def _unavailable(provider: Provider, exc: ProviderError) -> ProviderUnavailable:
    log.warning("provider %s failed: %s", provider.name, exc)
    return ProviderUnavailable(
        "The fixing service is unavailable right now; no free fix was used. "
        "Please try again shortly."
    )


@asynccontextmanager
async def local_pipeline(settings: Settings) -> AsyncIterator[Pipeline]:
    """The configured provider and sandbox, for fixing here without the web server."""
    sandbox = Sandbox.from_settings(settings)
    provider = build_provider(settings, sandbox=sandbox)
    try:
        yield Pipeline(provider=provider, sandbox=sandbox, candidates=settings.fix_candidates)
    finally:
        await provider.aclose()
