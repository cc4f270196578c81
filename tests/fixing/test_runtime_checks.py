"""Reproducing the user's error, and the `runs` and `doctests` checks of a fix."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from bugfixer.fixing.runtime_checks import (
    PastedError,
    check_doctests,
    check_runs,
    parse_pasted_error,
    reproduce,
)
from bugfixer.sandbox import Sandbox, SandboxLimits

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")

LAST = "items = [3, 1, 2]\nlast = items[len(items)]\nprint(last)\n"
LAST_FIXED = "items = [3, 1, 2]\nlast = items[len(items) - 1]\nprint(last)\n"
TRACEBACK = """Traceback (most recent call last):
  File "/home/me/app.py", line 2, in <module>
    last = items[len(items)]
IndexError: list index out of range
"""
MID = "def mid(values):\n    return sorted(values)[len(values) // 2 - 1]\n"
MID_FIXED = "def mid(values):\n    return sorted(values)[len(values) // 2]\n"
MID_TEST = "assert mid([3, 1, 2]) == 2\n"
LOOP = "while True:\n    pass\n"


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox("bwrap", SandboxLimits(wall_s=3, cpu_s=1), concurrency=2)


def go(coro):
    return asyncio.run(coro)


def test_a_pasted_traceback_is_reproduced(sandbox):
    found = go(reproduce(sandbox, LAST, None, TRACEBACK))
    assert found.status == "reproduced" and found.reproduced
    assert found.run.line == 2
    assert found.message == "Reproduced: it raised IndexError: list index out of range on line 2."


def test_a_failing_user_test_reproduces_the_bug_without_a_pasted_error(sandbox):
    found = go(reproduce(sandbox, MID, MID_TEST, None))
    assert found.status == "reproduced"
    assert found.run.in_test and found.run.test_line == 1
    assert "on line 1 of the test" in found.message


def test_a_different_error_than_the_pasted_one_is_told_apart(sandbox):
    found = go(reproduce(sandbox, LAST, None, "KeyError: 'name'"))
    assert found.status == "different_error"
    assert "IndexError" in found.message


def test_a_program_that_runs_fine_is_not_reproduced(sandbox):
    found = go(reproduce(sandbox, LAST_FIXED, None, TRACEBACK))
    assert found.status == "no_error"
    assert found.message == "It ran without an error; the bug did not show here."


def test_a_program_that_waits_for_input_is_reported_as_such(sandbox):
    found = go(reproduce(sandbox, "n = int(input())\nprint(10 / n)\n", None, "ZeroDivisionError"))
    assert found.status == "waits_for_input"
    assert "keyboard input" in found.message


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("import numpy as np\nprint(np.zeros(3))\n", "it imports numpy, which is not installed"),
        ("print(open('data.csv').read())\n", "it opens the file data.csv"),
        ("import urllib.request\nurllib.request.urlopen('http://example.com')\n", "network"),
    ],
)
def test_what_the_sandbox_lacks_makes_the_program_not_runnable_here(sandbox, code, reason):
    found = go(reproduce(sandbox, code, None, "TypeError: bad operand"))
    assert found.status == "could_not_run"
    assert reason in found.message


def test_an_endless_loop_is_reproduced_when_no_error_was_pasted(sandbox):
    assert go(reproduce(sandbox, LOOP, None, None)).status == "reproduced"
    assert go(reproduce(sandbox, LOOP, None, "IndexError: x")).status == "could_not_run"


def test_nothing_runs_with_the_sandbox_off_or_for_other_languages(sandbox):
    off = go(reproduce(Sandbox("off"), LAST, None, TRACEBACK))
    assert (off.status, off.run) == ("not_run", None)
    assert "sandbox is off" in off.message
    js = go(reproduce(sandbox, "console.log(1)", None, None, language="javascript"))
    assert js.status == "not_run"


@pytest.mark.parametrize(
    ("pasted", "expected"),
    [
        (TRACEBACK, PastedError("IndexError", "list index out of range")),
        ("KeyError: 'name'", PastedError("KeyError", "'name'")),
        ("ZeroDivisionError", PastedError("ZeroDivisionError", "")),
        (
            "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)",
            PastedError(
                "json.decoder.JSONDecodeError", "Expecting value: line 1 column 1 (char 0)"
            ),
        ),
        ("list index out of range", PastedError(None, "list index out of range")),
        ("", None),
        (None, None),
    ],
)
def test_the_pasted_error_is_read_from_a_traceback_or_a_message(pasted, expected):
    assert parse_pasted_error(pasted) == expected


def test_runs_passes_a_fix_that_runs_and_fails_one_that_still_raises(sandbox):
    original = go(reproduce(sandbox, LAST, None, TRACEBACK)).run
    good = go(check_runs(sandbox, LAST_FIXED, None, original))
    assert (good.name, good.ok, good.skipped) == ("runs", True, False)
    assert good.message == "Ran the fixed program: it finishes without an error."
    still = "items = [3, 1, 2]\nlast = items[len(items)]\nprint(last)\nprint('done')\n"
    bad = go(check_runs(sandbox, still, None, original))
    assert (bad.ok, bad.skipped) == (False, False)
    assert bad.message == (
        "Ran the fixed program: it raised IndexError: list index out of range on line 2."
    )


def test_runs_includes_the_users_test(sandbox):
    original = go(reproduce(sandbox, MID, MID_TEST, None)).run
    assert go(check_runs(sandbox, MID_FIXED, MID_TEST, original)).ok
    wrong = go(check_runs(sandbox, MID, MID_TEST, original))
    assert not wrong.ok
    assert "with your test" in wrong.message and "line 1 of the test" in wrong.message


def test_runs_is_skipped_with_the_reason_when_the_fix_cannot_be_run(sandbox):
    waiting = go(reproduce(sandbox, "x = input()\nprint(x[5])\n", None, None)).run
    check = go(check_runs(sandbox, "x = input()\nprint(x[:5])\n", None, waiting))
    assert check.skipped and check.ok and "keyboard input" in check.message

    off = go(check_runs(Sandbox("off"), LAST_FIXED, None, None))
    assert off.skipped and "sandbox is off" in off.message
    js = go(check_runs(sandbox, "console.log(1)", None, None, language="javascript"))
    assert js.skipped and "Only Python" in js.message

    needs_numpy = "import numpy as np\nprint(np.arange(3)[-1])\n"
    numpy = go(check_runs(sandbox, needs_numpy, None, None))
    assert numpy.skipped and "numpy" in numpy.message


def test_runs_does_not_blame_a_fix_for_limits_the_original_also_hit(sandbox):
    original = go(reproduce(sandbox, LOOP, None, None)).run
    same = go(check_runs(sandbox, "while True:\n    x = 1\n", None, original))
    assert same.skipped and "limits" in same.message
    fixed = go(check_runs(sandbox, "for _ in range(3):\n    pass\n", None, original))
    assert fixed.ok and not fixed.skipped
    healthy = go(reproduce(sandbox, LAST, None, TRACEBACK)).run
    looping = go(check_runs(sandbox, LOOP, None, healthy))
    assert not looping.ok and "CPU time" in looping.message


DOCTESTED = '''def mid(values):
    """
    >>> mid([3, 1, 2])
    2
    """
    return sorted(values)[len(values) // 2{off}]
'''


def test_doctests_pass_fail_or_are_absent(sandbox):
    passing = go(check_doctests(sandbox, DOCTESTED.format(off="")))
    assert (passing.name, passing.ok, passing.message) == (
        "doctests",
        True,
        "The docstring example passes.",
    )
    failing = go(check_doctests(sandbox, DOCTESTED.format(off=" - 1")))
    assert not failing.ok and "expected 2, got 1" in failing.message
    assert go(check_doctests(sandbox, MID_FIXED)) is None
    assert go(check_doctests(sandbox, "console.log(1)", language="javascript")) is None


def test_doctests_are_skipped_when_the_module_itself_cannot_run(sandbox):
    crashing = DOCTESTED.format(off="") + "\nraise SystemError('boom')\n"
    check = go(check_doctests(sandbox, crashing))
    assert check.skipped and "SystemError" in check.message
    off = go(check_doctests(Sandbox("off"), DOCTESTED.format(off="")))
    assert off.skipped and "sandbox is off" in off.message
