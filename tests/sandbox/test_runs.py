"""What a run reports: exceptions and their lines, exit codes, tests, doctests, the cache."""

from __future__ import annotations

import asyncio
import threading

import pytest

from bugfixer.sandbox import Sandbox, SandboxUnavailable
from tests.sandbox.conftest import FAST, run


def test_an_uncaught_exception_is_reported_with_its_line_and_a_clean_traceback(sandbox):
    program = "def last(items):\n    return items[len(items)]\n\nprint(last([1, 2, 3]))\n"
    result = run(sandbox, program)
    assert result.outcome == "exception"
    assert result.exception == "IndexError: list index out of range"
    assert result.exception_type == "IndexError"
    assert result.line == 2
    assert result.exit_code == 1
    assert result.traceback.startswith("Traceback (most recent call last):")
    assert 'File "main.py", line 4, in <module>' in result.traceback
    assert 'File "main.py", line 2, in last' in result.traceback
    assert "/tmp/" not in result.traceback and "<string>" not in result.traceback
    assert result.stderr.strip().endswith("IndexError: list index out of range")
    assert "<string>" not in result.stderr
    assert result.summary() == "It raised IndexError: list index out of range on line 2."


def test_an_exception_raised_inside_the_standard_library_points_at_the_users_line(sandbox):
    result = run(sandbox, "import json\n\ndata = json.loads(\"{'a': 1}\")\n")
    assert result.exception_type == "json.decoder.JSONDecodeError"
    assert result.exception.startswith("json.decoder.JSONDecodeError: Expecting property name")
    assert result.line == 3


def test_a_syntax_error_is_reported_with_its_line(sandbox):
    result = run(sandbox, "x = 1\ndef f(:\n    pass\n")
    assert result.outcome == "exception"
    assert result.exception == "SyntaxError: invalid syntax"
    assert result.line == 2
    assert 'File "main.py", line 2' in result.stderr


@pytest.mark.parametrize(
    ("call", "outcome", "exit_code"),
    [
        ("sys.exit()", "ok", 0),
        ("sys.exit(0)", "ok", 0),
        ("sys.exit(3)", "exception", 3),
        ("sys.exit('usage: prog FILE')", "exception", 1),
    ],
)
def test_sys_exit_codes_are_kept_and_only_zero_is_ok(sandbox, call, outcome, exit_code):
    result = run(sandbox, f"import sys\nprint('before')\n{call}\nprint('after')\n")
    assert (result.outcome, result.exit_code) == (outcome, exit_code)
    assert result.stdout == "before\n"
    if outcome != "ok":
        assert result.exception_type == "SystemExit"
        assert result.line == 3
        assert call.replace("sys.exit", "") in result.summary()


def test_a_program_that_prints_then_raises_keeps_its_output(sandbox):
    result = run(sandbox, "print('step 1')\nprint('step 2')\nraise ValueError('bad input')\n")
    assert result.stdout == "step 1\nstep 2\n"
    assert result.exception == "ValueError: bad input"
    assert result.line == 3
    assert not result.ok


def test_unicode_output_round_trips(sandbox):
    result = run(sandbox, "print('héllo ✓ 你好')\n")
    assert result.ok and result.stdout == "héllo ✓ 你好\n"


@pytest.mark.parametrize(
    "program",
    [
        "with open('big.bin', 'wb') as f:\n    f.write(b'x' * (64 * 1024 * 1024))\n",
        "for i in range(8):\n    open(f'part{i}', 'wb').write(b'x' * (8 * 1024 * 1024))\n",
    ],
)
def test_the_private_temp_dir_cannot_grow_past_the_file_limit(sandbox, program):
    result = run(sandbox, program)
    assert result.exception_type == "OSError"
    assert "[Errno 28] No space left" in result.exception or "[Errno 27]" in result.exception
    assert result.line == 2


def test_the_users_test_runs_after_the_program_and_failures_name_the_test_line(sandbox):
    code = "def mid(values):\n    return sorted(values)[len(values) // 2 - 1]\n"
    test = "assert mid([1, 2, 3]) == 2\nassert mid([3, 1, 2]) == 2, 'middle of three'\n"
    result = asyncio.run(sandbox.run_program(code, test))
    assert result.outcome == "exception"
    assert result.exception == "AssertionError"
    assert result.line == 3 and result.in_test and result.test_line == 1
    assert result.summary() == "It raised AssertionError on line 1 of the test."
    fixed = "def mid(values):\n    return sorted(values)[len(values) // 2]"
    assert asyncio.run(sandbox.run_program(fixed, test)).ok


def test_an_error_in_the_program_keeps_the_programs_line_number_under_a_test(sandbox):
    result = asyncio.run(sandbox.run_program("x = [1]\nprint(x[1])\n", "assert True\n"))
    assert result.line == 2 and not result.in_test and result.test_line is None


def test_docstring_examples_are_run_and_a_failure_names_its_line(sandbox):
    passing = '''def mid(values):
    """The middle value.

    >>> mid([3, 1, 2])
    2
    >>> mid([5])
    5
    """
    return sorted(values)[len(values) // 2]
'''
    result = asyncio.run(sandbox.run_doctests(passing))
    assert result.ok and result.doctests_attempted == 2 and result.doctests_failed == 0
    failing = passing.replace("// 2]", "// 2 - 1]")
    result = asyncio.run(sandbox.run_doctests(failing))
    assert result.outcome == "exception"
    assert result.exception_type == "DocTestFailure"
    assert result.doctests_failed == 1 and result.doctests_attempted == 2
    assert result.line == 4
    assert "mid([3, 1, 2])" in result.exception and "expected 2, got 1" in result.exception
    assert 'File "main.py", line 4' in result.stdout


def test_code_without_docstring_examples_has_no_doctest_result(sandbox):
    code = "# >>> not a docstring\ndef f():\n    '''Plain words.'''\n    return 1\n"
    assert asyncio.run(sandbox.run_doctests(code)) is None


def test_a_repeated_run_is_answered_from_the_cache():
    sandbox = Sandbox("bwrap", FAST, concurrency=1, cache_size=4)
    program = "import secrets\nprint(secrets.token_hex(16))\n"
    first = run(sandbox, program)
    assert run(sandbox, program) is first
    assert run(sandbox, program, stdin="") is not first


def test_run_python_sync_works_from_a_worker_thread_and_refuses_inside_an_event_loop(sandbox):
    results = []
    worker = threading.Thread(target=lambda: results.append(sandbox.run_python_sync("print(7)")))
    worker.start()
    worker.join()
    assert results[0].ok and results[0].stdout == "7\n"

    async def inside_a_loop():
        sandbox.run_python_sync("print(7)")

    with pytest.raises(RuntimeError, match="block the event loop"):
        asyncio.run(inside_a_loop())


def test_the_sandbox_turned_off_refuses_to_run_code():
    off = Sandbox("off")
    assert not off.enabled
    with pytest.raises(SandboxUnavailable):
        asyncio.run(off.run_python("print(1)"))
    with pytest.raises(SandboxUnavailable):
        off.run_python_sync("print(1)")
    with pytest.raises(SandboxUnavailable):
        asyncio.run(off.run_program("print(1)", "assert True"))
    with pytest.raises(SandboxUnavailable):
        asyncio.run(off.run_doctests("def f():\n    '''\n    >>> f()\n    '''\n"))
    assert asyncio.run(off.self_test()) == "the sandbox is off"


def test_a_missing_bwrap_binary_is_refused_rather_than_running_code_unsandboxed():
    with pytest.raises(SandboxUnavailable, match="/nonexistent/bwrap"):
        Sandbox("bwrap", bwrap_path="/nonexistent/bwrap")
