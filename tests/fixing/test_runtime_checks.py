"""Reproducing the user's error, and the `runs` and `doctests` checks of one fix."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from bugfixer.fixing.runtime_checks import check_doctests, check_runs, reproduce
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


def original(sandbox: Sandbox, code: str, test: str = "", pasted: str = "", language="python"):
    return asyncio.run(
        reproduce(sandbox, language=language, code=code, test=test, pasted_error=pasted)
    )


def runs(sandbox: Sandbox, fixed: str, reproduction, test: str = ""):
    return asyncio.run(check_runs(sandbox, fixed=fixed, test=test, reproduction=reproduction))


def test_a_pasted_traceback_is_reproduced(sandbox):
    found = original(sandbox, LAST, pasted=TRACEBACK)
    assert found.reproduced is True and found.skip_reason is None
    assert found.run.line == 2
    assert found.observed_error == ""  # the user's own traceback goes to the model


def test_without_a_pasted_error_the_failing_test_is_what_the_model_is_told(sandbox):
    found = original(sandbox, MID, test=MID_TEST)
    assert found.reproduced is None and found.skip_reason is None
    assert found.run.in_test and found.run.test_line == 1
    assert "AssertionError" in found.observed_error
    assert 'File "main.py", line 3' in found.observed_error


def test_a_different_error_than_the_pasted_one_is_not_a_reproduction(sandbox):
    found = original(sandbox, LAST, pasted="KeyError: 'name'")
    assert found.reproduced is False and found.skip_reason is None


@pytest.mark.parametrize(
    "code",
    [
        "import numpy as np\nprint(np.zeros(3))\n",
        "print(open('data.csv').read())\n",
        "import urllib.request\nurllib.request.urlopen('http://example.com')\n",
    ],
)
def test_what_the_sandbox_lacks_means_fixes_are_not_run(sandbox, code):
    found = original(sandbox, code, pasted="TypeError: bad operand")
    assert found.skip_reason is not None and "does not have" in found.skip_reason
    check, feedback = runs(sandbox, code, found)
    assert check.skipped and check.ok and feedback is None


def test_a_program_waiting_for_input_is_not_run_and_says_so(sandbox):
    found = original(sandbox, "n = int(input())\nprint(10 / n)\n", pasted="ZeroDivisionError")
    assert found.run.outcome == "waits_for_input"
    assert "waits for input" in found.skip_reason


def test_nothing_runs_with_the_sandbox_off_or_for_other_languages(sandbox):
    off = original(Sandbox("off"), LAST, pasted=TRACEBACK)
    assert off.run is None and "switched off" in off.skip_reason
    js = original(sandbox, "console.log(1)", language="javascript")
    assert js.run is None and "Only Python" in js.skip_reason
    check, _ = runs(sandbox, "console.log(2)", js)
    assert check.skipped


def test_runs_passes_a_fix_that_runs_and_fails_one_that_still_raises(sandbox):
    found = original(sandbox, LAST, pasted=TRACEBACK)
    good, feedback = runs(sandbox, LAST_FIXED, found)
    assert (good.name, good.ok, good.skipped, feedback) == ("runs", True, False, None)
    still = "items = [3, 1, 2]\nlast = items[len(items)]\nprint(last)\nprint('done')\n"
    bad, feedback = runs(sandbox, still, found)
    assert (bad.ok, bad.skipped) == (False, False)
    assert "IndexError: list index out of range on line 2" in bad.message
    assert "Traceback (most recent call last)" in feedback


def test_runs_includes_the_users_test(sandbox):
    found = original(sandbox, MID, test=MID_TEST)
    assert runs(sandbox, MID_FIXED, found, test=MID_TEST)[0].ok
    wrong, _ = runs(sandbox, MID, found, test=MID_TEST)
    assert not wrong.ok
    assert "with your test" in wrong.message and "line 1 of the test" in wrong.message


def test_a_fix_that_gets_past_the_bug_to_a_missing_file_is_skipped_not_failed(sandbox):
    code = "rows = []\nfirst = rows[0]\nprint(open('data.csv').read())\n"
    found = original(sandbox, code, pasted="IndexError: list index out of range")
    assert found.reproduced is True
    fixed = "rows = []\nfirst = rows[0] if rows else None\nprint(open('data.csv').read())\n"
    check, feedback = runs(sandbox, fixed, found)
    assert check.skipped and check.ok and feedback is None
    assert "data.csv" in check.message


def test_runs_does_not_blame_a_fix_for_limits_the_original_also_hit(sandbox):
    found = original(sandbox, LOOP)
    same, _ = runs(sandbox, "while True:\n    x = 1\n", found)
    assert same.skipped and "limits" in same.message
    fixed, _ = runs(sandbox, "for _ in range(3):\n    pass\n", found)
    assert fixed.ok and not fixed.skipped
    healthy = original(sandbox, LAST, pasted=TRACEBACK)
    looping, feedback = runs(sandbox, LOOP, healthy)
    assert not looping.ok and not looping.skipped and feedback


DOCTESTED = '''def mid(values):
    """
    >>> mid([3, 1, 2])
    2
    """
    return sorted(values)[len(values) // 2{off}]
'''


def test_doctests_pass_fail_or_are_absent(sandbox):
    passing = asyncio.run(check_doctests(sandbox, fixed=DOCTESTED.format(off="")))
    assert (passing.name, passing.ok) == ("doctests", True)
    failing = asyncio.run(check_doctests(sandbox, fixed=DOCTESTED.format(off=" - 1")))
    assert not failing.ok and "expected 2, got 1" in failing.message
    assert asyncio.run(check_doctests(sandbox, fixed=MID_FIXED)) is None
    assert asyncio.run(check_doctests(Sandbox("off"), fixed=DOCTESTED.format(off=""))) is None
