"""Running programs as evidence: does the original fail, does a fix run, do its examples pass.

Every run happens in the sandbox; with it off, or for other languages, the checks say
plainly that nothing was run.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

from bugfixer.fixing.schemas import Check
from bugfixer.sandbox import LIMIT_OUTCOMES, RunResult, Sandbox, has_doctest_examples

# Failures that say more about the sandbox than about the program: no such file, a
# third-party module that is not installed here, no network.
_ENVIRONMENT_ERRORS = frozenset(
    {
        "FileNotFoundError",
        "PermissionError",
        "ConnectionError",
        "ConnectionRefusedError",
        "TimeoutError",
        "OSError",
        "socket.gaierror",
        "gaierror",
        "urllib.error.URLError",
        "requests.exceptions.ConnectionError",
    }
)
_NO_NETWORK = ("network is unreachable", "name resolution", "name or service not known")
_MISSING_MODULE = re.compile(r"No module named '([\w.]+)'")
FEEDBACK_LIMIT = 4_000


@dataclass(frozen=True)
class Reproduction:
    """What running the user's own program (and test) showed, before any fix."""

    run: RunResult | None
    reproduced: bool | None  # raised the error that was pasted (None: not run / none pasted)
    skip_reason: str | None  # why fixes are not run either
    observed_error: str = ""  # the traceback seen, for the model when none was pasted

    @property
    def ran(self) -> bool:
        return self.run is not None


def _needs_environment(run: RunResult) -> bool:
    """The program failed for want of a file, the network or a third-party module."""
    if run.exception_type in _ENVIRONMENT_ERRORS:
        return True
    if any(sign in (run.exception or "").lower() for sign in _NO_NETWORK):
        return True
    if run.exception_type == "ModuleNotFoundError" and run.exception:
        match = _MISSING_MODULE.search(run.exception)
        top = match.group(1).split(".")[0] if match else ""
        return bool(top) and top not in sys.stdlib_module_names
    return False


def _matches(run: RunResult, pasted: str) -> bool:
    """Loosely: the pasted error names the same exception (and, if given, the message)."""
    if run.outcome != "exception" or not run.exception_type:
        return False
    kind = run.exception_type.rsplit(".", 1)[-1]
    if kind not in pasted:
        return False
    message = (run.exception or "").partition(":")[2].strip()
    return not message or message[:60] in pasted or len(pasted.strip()) <= len(kind) + 2


async def reproduce(
    sandbox: Sandbox, *, language: str, code: str, test: str, pasted_error: str
) -> Reproduction:
    """Run the original program (with the user's test) to see the bug happen."""
    if language != "python":
        return Reproduction(None, None, "Only Python programs are run; this one was not.")
    if not sandbox.enabled:
        return Reproduction(
            None, None, "Running code is switched off on this server, so the fix was not run."
        )
    run = await sandbox.run_program(code, test or None)
    if run.outcome == "waits_for_input":
        return Reproduction(run, None, "The program waits for input, so it was not run.")
    if run.outcome == "sandbox_error":
        return Reproduction(run, None, "The original program could not be run here.")
    pasted = pasted_error.strip()
    if (
        run.outcome == "exception"
        and _needs_environment(run)
        and not (pasted and _matches(run, pasted))
    ):
        return Reproduction(
            run,
            False if pasted else None,
            "The program needs files, network access or modules this server's sandbox does "
            f"not have ({run.exception}), so it was not run.",
        )
    reproduced = _matches(run, pasted) if pasted else None
    observed = ""
    if not pasted and not run.ok:
        observed = (run.traceback or run.summary())[-FEEDBACK_LIMIT:]
    return Reproduction(run, reproduced, None, observed)


async def check_runs(
    sandbox: Sandbox, *, fixed: str, test: str, reproduction: Reproduction
) -> tuple[Check, str | None]:
    """The ``runs`` check, and on failure what the sandbox saw (for a repair prompt)."""
    if reproduction.skip_reason is not None:
        return Check(name="runs", ok=True, skipped=True, message=reproduction.skip_reason), None
    run = await sandbox.run_program(fixed, test or None)
    with_test = " with your test" if test else ""
    if run.ok:
        message = f"Ran the fixed program{with_test}: it finishes without an error."
        return Check(name="runs", ok=True, message=message), None
    if run.outcome == "waits_for_input":
        message = "The fixed program waits for input, so it was not run to the end."
        return Check(name="runs", ok=True, skipped=True, message=message), None
    if run.outcome == "exception" and _needs_environment(run):
        # Past the bug, the fix reached a file, the network or a module the sandbox lacks.
        message = (
            "The fixed program needs files, network access or modules this server's sandbox "
            f"does not have ({run.exception}), so it was not run to the end."
        )
        return Check(name="runs", ok=True, skipped=True, message=message), None
    original = reproduction.run
    if (
        run.outcome in LIMIT_OUTCOMES
        and original is not None
        and original.outcome in LIMIT_OUTCOMES
    ):
        # A long computation, not necessarily a bug: running cannot tell either way.
        message = (
            "Like the original, the fixed program runs past the sandbox's limits "
            f"({run.summary().rstrip('.')}), so running it cannot tell."
        )
        return Check(name="runs", ok=True, skipped=True, message=message), None
    where = " (in your test)" if run.in_test else ""
    message = f"Ran the fixed program{with_test}: {run.summary().rstrip('.')}{where}."
    return Check(name="runs", ok=False, message=message), _feedback(run)


async def check_doctests(sandbox: Sandbox, *, fixed: str) -> Check | None:
    """The ``doctests`` check, when the fix has docstring examples (``>>>``)."""
    if not sandbox.enabled or not has_doctest_examples(fixed):
        return None
    run = await sandbox.run_doctests(fixed)
    if run is None:
        return None
    if run.ok and not run.doctests_failed:
        count = run.doctests_attempted
        noun = "example passes" if count == 1 else "examples pass"
        return Check(name="doctests", ok=True, message=f"{count} docstring {noun}.")
    if run.doctests_failed:
        message = (
            f"{run.doctests_failed} of {run.doctests_attempted} docstring examples fail: "
            f"{run.summary().rstrip('.')}."
        )
    else:
        message = f"The docstring examples could not be run: {run.summary().rstrip('.')}."
    return Check(name="doctests", ok=False, message=message)


def _feedback(run: RunResult) -> str:
    """What the model is told about a failed run: the traceback and the end of the output."""
    parts = [run.summary()]
    if run.traceback:
        parts.append(run.traceback)
    elif run.stderr.strip():
        parts.append(run.stderr[-1500:])
    if run.stdout.strip():
        parts.append("Output before it stopped:\n" + run.stdout[-1000:])
    return "\n".join(parts)[-FEEDBACK_LIMIT:]
