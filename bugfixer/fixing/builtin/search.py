"""Finding a fix that runs: reproduce the error in the sandbox, then try candidate edits.

The static rules can only say a fix parses; this loop runs the user's program (with
their test, if any), generates candidate edits from the exception and the line it was
raised on, runs each one, and keeps the first -- best ranked, then smallest -- that
finishes without an error. A fix that didn't run is never presented as one that did.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

from bugfixer.fixing.builtin.engine import fix_python
from bugfixer.fixing.builtin.errors import explain_error
from bugfixer.fixing.builtin.failure import Failure
from bugfixer.fixing.builtin.model import BuiltinFix, Change, Note
from bugfixer.fixing.builtin.runtime import candidates
from bugfixer.fixing.builtin.source import compile_error
from bugfixer.fixing.builtin.work import Work, explanation
from bugfixer.sandbox import SandboxUnavailable

MAX_RUNS = 12  # sandbox runs per fix, the first (reproducing) run included
MAX_ROUNDS = 3  # how many errors in a row one fix may repair
# A run stopped by a limit took the whole time limit: it costs as much as several runs,
# so a fix never waits on more than a few of them.
LIMIT_COST = 4


class Runner(Protocol):
    """The part of the sandbox the search needs (``bugfixer.sandbox.Sandbox``)."""

    @property
    def enabled(self) -> bool: ...

    async def run_program(self, code: str, test: str | None = None) -> Any: ...


@dataclass(frozen=True)
class Run:
    """What one sandboxed run showed, reduced to what the search compares."""

    outcome: str
    stdout: str
    failure: Failure | None
    summary: str

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


class _Budget:
    def __init__(self, runner: Runner, test: str, runs: int) -> None:
        self.runner, self.test, self.left = runner, test or None, runs

    async def run(self, code: str) -> Run:
        self.left -= 1
        result = await self.runner.run_program(code, self.test)
        if result.outcome in ("timeout", "cpu_limit", "memory_limit"):
            self.left -= LIMIT_COST - 1
        failure = None
        if result.outcome == "exception":
            # A line inside the user's test says nothing about which program line to edit.
            line = None if getattr(result, "in_test", False) else result.line
            failure = Failure.from_run(result.exception or "", result.exception_type or "", line)
        said = result.summary()
        return Run(result.outcome, result.stdout or "", failure, said[:1].lower() + said[1:])


def _as_change(fix: BuiltinFix) -> Change:
    notes = tuple(Note(line, text) for line, text in fix.notes)
    return Change(code=fix.fixed_code or "", rule="+".join(fix.rules), notes=notes)


def options_for(
    text: str, failure: Failure, test: str = "", static: BuiltinFix | None = None
) -> list[Change]:
    """The edits to run for ``failure``, in order, without duplicates.

    The static fix of the user's own error goes first, then the runtime rules' surest
    guesses, then the static rules told about this failure, then the long shots.
    """
    found = candidates(text, failure, test)
    options: list[Change] = []
    if static is not None and static.fixed_code is not None:
        options.append(_as_change(static))
    options += [c.change for c in found if c.tier == 0]
    hinted = fix_python(text, hint=failure.hint())
    if hinted.fixed_code is not None:
        options.append(_as_change(hinted))
    options += [c.change for c in found if c.tier > 0]
    unique: dict[str, Change] = {}
    for option in options:
        if option.code != text:
            unique.setdefault(option.code, option)
    return list(unique.values())


def _progressed(before: Run, after: Run) -> bool:
    """The candidate got past the old error and stopped at a later, different one."""
    old, new = before.failure, after.failure
    if old is None or new is None or not after.stdout.startswith(before.stdout):
        return False
    if (new.exc_type, new.message, new.line) == (old.exc_type, old.message, old.line):
        return False
    later = new.line is not None and old.line is not None and new.line > old.line
    return later or len(after.stdout) > len(before.stdout)


def _where(failure: Failure) -> str:
    return f" on line {failure.line}" if failure.line else ""


def _ran_note(test: str) -> str:
    if test:
        return "I ran the fixed program with your test in an isolated sandbox: it passes."
    return "I ran the fixed program in an isolated sandbox: it now finishes without an error."


def not_run(result: BuiltinFix, why: str) -> BuiltinFix:
    """The static answer, saying plainly (``why``: a sentence) that it was not run."""
    if result.fixed_code is None:
        return result
    text = (
        f"{result.explanation}\n\n{why} So this fix is checked statically only: it parses "
        "and uses no undefined names, but it has not been run."
    )
    return BuiltinFix(result.fixed_code, text, result.rules, result.notes)


def _no_fix(reason: str) -> BuiltinFix:
    return BuiltinFix(None, f"I couldn't find a confident fix for this code. {reason}".strip(), ())


async def search_fix(code: str, error: str, test: str, runner: Runner) -> BuiltinFix:
    """Fix ``code`` and prove it by running it; see the module docstring."""
    newline = "\r\n" if "\r\n" in code else "\n"
    text = code.replace("\r\n", "\n")
    static = await asyncio.to_thread(fix_python, text, error)
    work = Work(text)
    if compile_error(text) is not None:
        if static.fixed_code is None:
            return static  # nothing can run until Python can read it
        # A program Python can't read can't be run: the syntax fixes are the start.
        work.apply(_as_change(static))
    budget = _Budget(runner, test, MAX_RUNS)
    try:
        first = await budget.run(work.text)
    except SandboxUnavailable as exc:
        why = f"I couldn't run your program: {exc or 'the sandbox is unavailable'}."
        return _restore(not_run(static, why), newline)
    if first.outcome == "waits_for_input":
        return _restore(not_run(static, f"I couldn't run your program: {first.summary}"), newline)
    if work.notes:  # the syntax fixes above
        result = await _from_syntax_fix(work, first, static, budget, test)
    elif first.failure is None:
        result = await _nothing_raised(text, first, static, budget, error, test)
    else:
        result = await _search(work, first, static, budget, test)
    return _restore(result, newline)


async def _from_syntax_fix(
    work: Work, first: Run, static: BuiltinFix, budget: _Budget, test: str
) -> BuiltinFix:
    if first.ok:
        return _proven(work, "", test)
    if first.failure is None:
        return not_run(static, f"When I ran the fixed program in the sandbox, {first.summary}")
    return await _search(work, first, None, budget, test)


async def _nothing_raised(
    text: str, first: Run, static: BuiltinFix, budget: _Budget, error: str, test: str
) -> BuiltinFix:
    """The program ran without an uncaught exception (or hit a limit)."""
    if static.fixed_code is not None:
        checked = await budget.run(static.fixed_code)
        if checked.ok:
            work = Work(text)
            work.apply(_as_change(static))
            return _proven(work, "", test)
        why = f"When I ran the fixed program in the sandbox, {checked.summary}"
        return not_run(static, why)
    if first.ok:
        passed = " and your test passed" if test else ""
        said = (
            " The error you pasted may depend on input, files or settings that differ here."
            if error.strip()
            else ""
        )
        return _no_fix(
            "When I ran your program in the sandbox it finished without an error"
            f"{passed}, so there was nothing to repair.{said}"
        )
    return _no_fix(
        f"When I ran your program in the sandbox, {first.summary} The offline rules only "
        "repair programs that stop with an error message."
    )


def _proven(work: Work, intro: str, test: str) -> BuiltinFix:
    body = explanation(work.notes)
    text = "\n\n".join(part for part in (intro, body, _ran_note(test)) if part)
    return BuiltinFix(work.text, text, tuple(work.rules), tuple(work.notes))


async def _search(
    work: Work, first: Run, static: BuiltinFix | None, budget: _Budget, test: str
) -> BuiltinFix:
    assert first.failure is not None
    seen = first.failure
    program = "your program" if not work.notes else "the program with its syntax fixed"
    intro = f"When I ran {program} it stopped with `{seen.shown}`{_where(seen)}."
    current, tried = first, 0
    for round_number in range(MAX_ROUNDS):
        failure = current.failure
        assert failure is not None
        first_try = static if round_number == 0 else None
        unique = await asyncio.to_thread(options_for, work.text, failure, test, first_try)
        passing: Change | None = None
        progress: tuple[Change, Run] | None = None
        for option in unique:
            if budget.left <= 0:
                break
            run = await budget.run(option.code)
            tried += 1
            if run.ok and run.stdout.startswith(current.stdout):
                passing = option
                break
            if run.ok:
                passing = passing or option
            elif progress is None and _progressed(current, run):
                progress = (option, run)
        if passing is not None:
            work.apply(passing)
            return _proven(work, intro, test)
        if progress is None or budget.left <= 0:
            break
        work.apply(progress[0])
        current = progress[1]
    return _give_up(intro, first, current, tried)


def _give_up(intro: str, first: Run, last: Run, tried: int) -> BuiltinFix:
    assert first.failure is not None
    parts = [intro]
    meaning = explain_error(first.failure.hint())
    if meaning:
        parts.append(meaning)
    if tried:
        parts.append(
            f"I tried {tried} candidate change{'s' if tried != 1 else ''}, but none of them "
            "made the program run without an error."
        )
    else:
        parts.append("None of the offline rules recognises how to repair this error.")
    if last is not first and last.failure is not None:
        parts.append(
            f"The closest attempt got further but then stopped with `{last.failure.shown}`."
        )
    return _no_fix(" ".join(parts))


def _restore(fix: BuiltinFix, newline: str) -> BuiltinFix:
    if newline == "\n" or fix.fixed_code is None:
        return fix
    return BuiltinFix(fix.fixed_code.replace("\n", newline), fix.explanation, fix.rules, fix.notes)
