"""Checks that run the user's program: reproduce the bug first, then run each fix.

``runs`` is the check that says a fix works: the fixed program, with the user's test
after it, finishes within the sandbox's limits without an uncaught exception. What the
sandbox cannot tell (the program waits for keyboard input, needs a package, a file or
the network it does not have, or the original already ran past the limits) is reported
as skipped, never as passed. ``doctests`` runs docstring examples; some examples are
inexact, so it ranks candidates and does not veto on its own.
"""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass
from typing import Literal

from bugfixer.fixing.schemas import Check
from bugfixer.sandbox import LIMIT_OUTCOMES, RunResult, Sandbox, has_doctest_examples

ReproductionStatus = Literal[
    "reproduced", "different_error", "no_error", "waits_for_input", "could_not_run", "not_run"
]


@dataclass(frozen=True)
class PastedError:
    """The exception a user pasted: its type when one is named, and its message."""

    type: str | None
    message: str


@dataclass(frozen=True)
class Reproduction:
    """What running the original program (plus the user's test) showed.

    ``reproduced``: it fails as the user said (the pasted error, or, with nothing
    pasted, any uncaught exception or failing test). ``different_error``: it fails, but
    not with the pasted error. ``no_error``: it runs fine here. ``waits_for_input``,
    ``could_not_run`` (the sandbox lacks something, or the limits cut it short) and
    ``not_run`` (sandbox off, not Python) say why nothing can be concluded.
    """

    status: ReproductionStatus
    message: str
    run: RunResult | None = None

    @property
    def reproduced(self) -> bool:
        return self.status == "reproduced"


async def reproduce(
    sandbox: Sandbox | None,
    code: str,
    test: str | None,
    pasted_error: str | None,
    *,
    language: str = "python",
) -> Reproduction:
    if (why := _not_runnable(sandbox, language, "the program")) is not None:
        return Reproduction("not_run", why)
    assert sandbox is not None
    run = await sandbox.run_program(code, test)
    pasted = parse_pasted_error(pasted_error)
    if run.outcome == "waits_for_input":
        return Reproduction("waits_for_input", f"Not reproduced: {_lower(run.summary())}", run)
    if run.outcome == "sandbox_error":
        return Reproduction("could_not_run", run.summary(), run)
    if run.ok:
        tested = " and your test passed" if test and test.strip() else ""
        return Reproduction(
            "no_error", f"It ran without an error{tested}; the bug did not show here.", run
        )
    if run.outcome in LIMIT_OUTCOMES and run.exception_type is None:
        if pasted is None:
            return Reproduction("reproduced", f"Reproduced: {_lower(run.summary())}", run)
        return Reproduction("could_not_run", f"Not reproduced: {_lower(run.summary())}", run)
    if pasted is not None and matches(pasted, run):
        return Reproduction("reproduced", f"Reproduced: {_lower(run.summary())}", run)
    if (why := environment_problem(run)) is not None:
        return Reproduction("could_not_run", f"It could not be run here: {why}.", run)
    if pasted is None:
        return Reproduction("reproduced", f"Reproduced: {_lower(run.summary())}", run)
    return Reproduction(
        "different_error", f"It fails, but not as pasted: {_lower(run.summary())}", run
    )


async def check_runs(
    sandbox: Sandbox | None,
    fixed: str,
    test: str | None,
    original_run: RunResult | None,
    *,
    language: str = "python",
) -> Check:
    """The ``runs`` check of one candidate fix."""
    if (why := _not_runnable(sandbox, language, "the fix")) is not None:
        return _skipped("runs", why)
    assert sandbox is not None
    if original_run is not None:
        if original_run.outcome == "waits_for_input":
            return _skipped("runs", "The program waits for keyboard input, so the fix was not run.")
        if original_run.outcome == "sandbox_error":
            return _skipped(
                "runs", f"The original program could not be run: {original_run.summary()}"
            )
    run = await sandbox.run_program(fixed, test)
    with_test = " with your test" if test and test.strip() else ""
    if run.ok:
        return Check(
            name="runs",
            ok=True,
            message=f"Ran the fixed program{with_test}: it finishes without an error.",
        )
    if run.outcome == "waits_for_input":
        return _skipped(
            "runs", "The fixed program waits for keyboard input, so it was not run to the end."
        )
    if (why := environment_problem(run)) is not None:
        return _skipped("runs", f"The fixed program could not be run to the end here: {why}.")
    if (
        run.outcome in LIMIT_OUTCOMES
        and original_run is not None
        and original_run.outcome in LIMIT_OUTCOMES
    ):
        return _skipped(
            "runs",
            "Like the original, the fixed program runs past the sandbox's limits "
            f"({_lower(run.summary())[:-1]}), so running it cannot tell.",
        )
    return Check(
        name="runs", ok=False, message=f"Ran the fixed program{with_test}: {_lower(run.summary())}"
    )


async def check_doctests(
    sandbox: Sandbox | None, fixed: str, *, language: str = "python"
) -> Check | None:
    """The ``doctests`` check; None when the fix has no ``>>>`` examples."""
    if language != "python" or not has_doctest_examples(fixed):
        return None
    if (why := _not_runnable(sandbox, language, "its examples")) is not None:
        return _skipped("doctests", why)
    assert sandbox is not None
    run = await sandbox.run_doctests(fixed)
    if run is None:
        return None
    if run.ok:
        count = run.doctests_attempted
        words = (
            "The docstring example passes."
            if count == 1
            else f"All {count} docstring examples pass."
        )
        return Check(name="doctests", ok=True, message=words)
    if run.exception_type == "DocTestFailure":
        return Check(name="doctests", ok=False, message=run.summary())
    return _skipped("doctests", f"The docstring examples could not be run: {run.summary()}")


_EXCEPTION_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(?::\s*(.*?))?\s*$")
_EXCEPTION_SUFFIXES = ("Error", "Exception", "Exit", "Interrupt", "Warning", "Iteration")


def parse_pasted_error(text: str | None) -> PastedError | None:
    """The last exception line of a pasted traceback or message (``Type: message``)."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return None
    for line in reversed(lines):
        found = _EXCEPTION_LINE.match(line)
        if found and found.group(1).split(".")[-1].endswith(_EXCEPTION_SUFFIXES):
            return PastedError(found.group(1), found.group(2) or "")
    last = lines[-1].strip()
    return PastedError(None, last) if len(last) <= 300 else None


def matches(pasted: PastedError, run: RunResult) -> bool:
    """Loosely the same error: same type (ignoring the module) and a similar message."""
    if run.exception_type is None:
        return False
    message = (run.exception or "").partition(": ")[2]
    if pasted.type is not None:
        if pasted.type.split(".")[-1] != run.exception_type.split(".")[-1]:
            return False
        return not pasted.message or not message or _similar(pasted.message, message)
    return _similar(pasted.message, message)


def _similar(a: str, b: str) -> bool:
    a, b = _normal(a), _normal(b)
    if not a or not b:
        return False
    return a in b or b in a or difflib.SequenceMatcher(None, a, b).ratio() >= 0.6


def _normal(text: str) -> str:
    return " ".join(text.lower().replace('"', "'").split())


_NETWORK_SIGNS = (
    "network is unreachable",
    "name or service not known",
    "temporary failure in name resolution",
    "connection refused",
    "no address associated with hostname",
)
_NETWORK_TYPES = ("gaierror", "ConnectionError", "ConnectionRefusedError", "URLError")
_MISSING_MODULE = re.compile(r"No module named '([\w.]+)'")
_MISSING_FILE = re.compile(r"\[Errno 2\] No such file or directory: '([^']+)'")


def environment_problem(run: RunResult) -> str | None:
    """Why a failure says more about the sandbox than about the program, if it does."""
    if run.outcome == "sandbox_error":
        return "the sandbox failed to start it"
    exception = run.exception or ""
    kind = (run.exception_type or "").split(".")[-1]
    if kind == "ModuleNotFoundError" and (found := _MISSING_MODULE.search(exception)):
        top = found.group(1).split(".")[0]
        if top not in sys.stdlib_module_names:
            return f"it imports {top}, which is not installed in the sandbox"
    found = _MISSING_FILE.search(exception) if kind == "FileNotFoundError" else None
    if found and not found.group(1).startswith("/tmp/"):
        return f"it opens the file {found.group(1)}, which the sandbox does not have"
    if kind in _NETWORK_TYPES or any(sign in exception.lower() for sign in _NETWORK_SIGNS):
        return "it uses the network, which the sandbox does not have"
    return None


def _not_runnable(sandbox: Sandbox | None, language: str, subject: str) -> str | None:
    if language != "python":
        return f"Only Python programs are run, so {subject} was not run."
    if sandbox is None or not sandbox.enabled:
        return f"The sandbox is off, so {subject} was not run."
    return None


def _skipped(name: str, message: str) -> Check:
    return Check(name=name, ok=True, skipped=True, message=message)


def _lower(sentence: str) -> str:
    """'It raised X.' -> 'it raised X.' so a summary can follow a colon."""
    return sentence[:1].lower() + sentence[1:]
