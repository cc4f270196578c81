"""The runtime rules propose the right edit for each common runtime error, without running.

Given a program and the exception CPython 3.11 raises for it, the ordered list of edits
the search would run must contain the fix, early enough to fit the run budget, and
every proposal must compile and use no name the program didn't already define.
"""

from __future__ import annotations

import ast
import warnings

import pytest
from pyflakes import checker, messages

from bugfixer.fixing.builtin.failure import Failure
from bugfixer.fixing.builtin.scopes import one_edit
from bugfixer.fixing.builtin.search import MAX_RUNS, options_for
from tests.fixing.runtime_cases import CASES, Case


def undefined(code: str) -> set[str]:
    found = checker.Checker(ast.parse(code), filename="<fixed>").messages
    return {m.message_args[0] for m in found if isinstance(m, messages.UndefinedName)}


def failure_of(case: Case) -> Failure:
    exc_type = case.raises.split(":", 1)[0]
    return Failure.from_run(case.raises, exc_type, case.line)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_fix_is_among_the_first_edits_the_search_would_run(case: Case):
    options = options_for(case.code, failure_of(case), case.test)
    position = next(i for i, o in enumerate(options) if case.fixed in o.code)
    assert position < MAX_RUNS - 1
    assert options[position].notes, "every edit explains itself"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_proposed_edit_compiles_and_defines_its_names(case: Case):
    known = undefined(case.code)
    for option in options_for(case.code, failure_of(case), case.test):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            compile(option.code, "<candidate>", "exec")
        assert undefined(option.code) <= known
        assert option.code != case.code


@pytest.mark.parametrize(
    ("code", "raises", "line"),
    [
        ("x = []\nprint(x[0])\n", "IndexError: list index out of range", 2),
        ('d = {"a": 1}\nprint(d["zzz"])\n', "KeyError: 'zzz'", 2),
        ("print(undefined_thing)\n", "NameError: name 'undefined_thing' is not defined", 1),
        ("raise SystemError('boom')\n", "SystemError: boom", 1),
        ("x = 1\n", "AssertionError", 5),
    ],
    ids=["first_of_empty", "key_unlike_any", "unknown_name", "unknown_error", "no_test"],
)
def test_errors_without_a_recognisable_cause_propose_nothing(code: str, raises: str, line: int):
    failure = Failure.from_run(raises, raises.split(":")[0], line)
    assert options_for(code, failure) == []


def test_the_static_fix_of_the_pasted_error_is_tried_first():
    from bugfixer.fixing.builtin import fix_python

    code = "count = 0\ndef click():\n    count += 1\nclick()\nprint(cuont)\n"
    static = fix_python(code)
    failure = Failure.from_run(
        "UnboundLocalError: cannot access local variable 'count' where it is not associated "
        "with a value",
        "UnboundLocalError",
        3,
    )
    options = options_for(code, failure, static=static)
    assert options[0].code == static.fixed_code
    assert any("global count" in o.code for o in options[1:])


def test_failure_from_a_run_keeps_the_short_exception_name():
    failure = Failure.from_run(
        "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)",
        "json.decoder.JSONDecodeError",
        4,
    )
    assert failure.exc_type == "JSONDecodeError"
    assert failure.message == "Expecting value: line 1 column 1 (char 0)"
    assert failure.hint().last_line.startswith("JSONDecodeError: Expecting value")


@pytest.mark.parametrize(
    ("a", "b", "near"),
    [
        ("sortd", "sorted", True),
        ("pritn", "print", True),
        ("lem", "len", True),
        ("maths", "math", True),
        ("sum", "sum", False),
        ("summ", "sim", False),
        ("ab", "ba", True),
        ("abc", "cab", False),
    ],
)
def test_one_edit_means_one_keystroke(a: str, b: str, near: bool):
    assert one_edit(a, b) is near
    assert one_edit(b, a) is near
