"""With the sandbox, the built-in engine fixes programs that raise when run, and proves it.

Every case runs in the real bubblewrap sandbox: the engine reproduces the error, tries
its candidate edits, and the answer must run and print what the working program prints.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass, field

import pytest

from bugfixer.config import Settings
from bugfixer.fixing.builtin.search import MAX_RUNS, search_fix
from bugfixer.fixing.providers import build_provider
from bugfixer.fixing.providers.base import FixPrompt
from bugfixer.fixing.providers.builtin import BuiltinProvider
from bugfixer.sandbox import RunResult, Sandbox, SandboxLimits
from tests.fixing.runtime_cases import CASES, Case

if shutil.which("bwrap") is None:  # pragma: no cover - make test installs bubblewrap
    pytest.skip("bubblewrap is not installed (make test installs it)", allow_module_level=True)

LIMITS = SandboxLimits(wall_s=3.0, cpu_s=2.0, memory_mb=256, output_bytes=20_000)


@dataclass
class Counted:
    """The real sandbox, counting the runs the engine asks for."""

    sandbox: Sandbox
    programs: list[str] = field(default_factory=list)

    @property
    def enabled(self) -> bool:
        return self.sandbox.enabled

    async def run_program(self, code: str, test: str | None = None) -> RunResult:
        self.programs.append(code)
        return await self.sandbox.run_program(code, test)


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox("bwrap", LIMITS, concurrency=2)


def fix(sandbox: Sandbox, code: str, error: str = "", test: str = ""):
    counted = Counted(sandbox)
    result = asyncio.run(search_fix(code, error, test, counted))
    return result, counted.programs


def output(sandbox: Sandbox, code: str, test: str = "") -> RunResult:
    return asyncio.run(sandbox.run_program(code, test or None))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_runtime_error_gets_a_fix_that_runs_and_prints_the_right_thing(
    sandbox: Sandbox, case: Case
):
    result, runs = fix(sandbox, case.code, test=case.test)
    assert result.fixed_code is not None, result.explanation
    assert case.fixed in result.fixed_code
    ran = output(sandbox, result.fixed_code, case.test)
    assert ran.ok, ran.summary()
    assert ran.stdout == case.prints
    assert len(runs) <= MAX_RUNS
    assert "I ran the fixed program" in result.explanation
    assert case.raises.split(":")[0].rsplit(".", 1)[-1] in result.explanation


def test_explanation_names_the_error_it_saw_and_the_users_line(sandbox: Sandbox):
    code = "import math\n\nitems = [3, 5, 8]\nlast = items[len(items)]\nprint(last)\n"
    result, _ = fix(sandbox, code)
    assert result.explanation.startswith(
        "When I ran your program it stopped with `IndexError: list index out of range` on line 4."
    )
    assert "\n\nLine 4: `items[len(items)]` asks for the item after the last one" in (
        result.explanation
    )
    assert result.explanation.endswith(
        "I ran the fixed program in an isolated sandbox: it now finishes without an error."
    )
    assert result.rules == ("index_off_by_one",)


def test_a_syntax_fix_is_run_before_it_is_offered(sandbox: Sandbox):
    result, runs = fix(sandbox, "x = 7\nif x > 5\n    print('big')\n")
    assert result.fixed_code == "x = 7\nif x > 5:\n    print('big')\n"
    assert runs == [result.fixed_code]
    assert result.explanation.startswith("Line 2: `if x > 5` is missing the colon")
    assert "it now finishes without an error" in result.explanation


def test_a_syntax_error_and_a_runtime_error_are_fixed_together(sandbox: Sandbox):
    code = "items = [1, 2]\nif len(items) > 1\n    print(items[len(items)])\n"
    result, _ = fix(sandbox, code)
    assert result.fixed_code == (
        "items = [1, 2]\nif len(items) > 1:\n    print(items[len(items) - 1])\n"
    )
    assert result.explanation.startswith(
        "When I ran the program with its syntax fixed it stopped with `IndexError"
    )
    assert "I made 2 fixes:\n- Line 2:" in result.explanation
    assert "\n- Line 3:" in result.explanation


def test_code_python_cannot_read_is_not_run_at_all(sandbox: Sandbox):
    result, runs = fix(sandbox, "asdf qwer zxcv\n")
    assert result.fixed_code is None
    assert runs == []
    assert "can't read it on line 1" in result.explanation


def test_two_errors_in_a_row_are_fixed_one_after_the_other(sandbox: Sandbox):
    code = 'prices = {"tea": 2, "cake": 3}\nprint(prices["Tea"])\nprint("total: " + 5)\n'
    result, _ = fix(sandbox, code)
    assert result.fixed_code == (
        'prices = {"tea": 2, "cake": 3}\nprint(prices["tea"])\nprint("total: " + str(5))\n'
    )
    assert result.explanation.count("\n- Line") == 2
    assert output(sandbox, result.fixed_code).stdout == "2\ntotal: 5\n"


def test_the_users_test_decides_between_candidates(sandbox: Sandbox):
    code = "def last(items):\n    return items[len(items)]\n"
    result, _ = fix(sandbox, code, test="assert last([1, 2, 3]) == 3\n")
    assert result.fixed_code == "def last(items):\n    return items[len(items) - 1]\n"
    assert "with your test" in result.explanation


def test_a_fix_that_still_fails_the_users_test_is_not_offered(sandbox: Sandbox):
    code = "def double(x):\n    return x * 3\n"
    result, runs = fix(sandbox, code, test="assert double(2) == 4\n")
    assert result.fixed_code is None
    assert "AssertionError" in result.explanation
    assert len(runs) <= MAX_RUNS


def test_an_error_no_rule_knows_is_answered_honestly_without_code(sandbox: Sandbox):
    code = "import math\nprint(math.sqrt(-1))\n"
    result, runs = fix(sandbox, code)
    assert result.fixed_code is None
    assert result.explanation.startswith("I couldn't find a confident fix for this code.")
    assert "`ValueError: math domain error` on line 2" in result.explanation
    assert len(runs) == 1


def test_a_program_that_already_runs_gets_no_fix(sandbox: Sandbox):
    result, runs = fix(sandbox, "print(sum([1, 2]))\n", error="IndexError: list index")
    assert result.fixed_code is None
    assert "finished without an error" in result.explanation
    assert "may depend on input" in result.explanation
    assert len(runs) == 1


def test_a_program_waiting_for_input_is_fixed_statically_and_says_it_was_not_run(
    sandbox: Sandbox,
):
    code = 'age = input("Age? ")\nif age >= 18:\n    print("adult")\n'
    result, runs = fix(sandbox, code)
    assert result.fixed_code is not None
    assert "int(input(" in result.fixed_code
    assert "it has not been run" in result.explanation
    assert "I ran the fixed program" not in result.explanation
    assert len(runs) == 1


def test_an_endless_loop_is_not_claimed_as_fixed(sandbox: Sandbox):
    code = "n = 0\nwhile n < 3:\n    total = n * 2\nprint('done')\n"
    result, _ = fix(sandbox, code)
    assert result.fixed_code is None
    assert "it may never finish" in result.explanation


def test_every_candidate_counts_against_the_run_budget(sandbox: Sandbox):
    code = "data = [1, 2]\nvalue = data[3] + undefined_total\n"
    result, runs = fix(sandbox, code)
    assert len(runs) <= MAX_RUNS
    assert len(set(runs)) == len(runs), "no program is run twice"
    if result.fixed_code is not None:
        assert output(sandbox, result.fixed_code).ok


def test_windows_line_endings_survive_the_search(sandbox: Sandbox):
    result, _ = fix(sandbox, "nums = [1, 2]\r\nprint(nums[len(nums)])\r\n")
    assert result.fixed_code == "nums = [1, 2]\r\nprint(nums[len(nums) - 1])\r\n"


def test_search_is_deterministic(sandbox: Sandbox):
    case = next(c for c in CASES if c.id == "int_plus_str")
    first, _ = fix(sandbox, case.code)
    second, _ = fix(sandbox, case.code)
    assert first == second


def test_provider_runs_the_search_through_its_sandbox(sandbox: Sandbox):
    case = next(c for c in CASES if c.id == "off_by_one_with_test")
    provider = BuiltinProvider(sandbox)
    prompt = FixPrompt(code=case.code, error="", language="python", test=case.test)
    reply = asyncio.run(provider.complete(prompt))
    assert reply.fixed_code is not None and case.fixed in reply.fixed_code
    assert "with your test" in reply.explanation
    assert (reply.prompt_tokens, reply.completion_tokens) == (0, 0)


def test_provider_without_a_sandbox_keeps_static_rules_and_says_it_did_not_run():
    provider = BuiltinProvider(Sandbox("off"))
    code = "x = 7\nif x > 5\n    print('big')\n"
    reply = asyncio.run(provider.complete(FixPrompt(code=code, error="", language="python")))
    assert reply.fixed_code == "x = 7\nif x > 5:\n    print('big')\n"
    assert "the sandbox that runs code is turned off here" in reply.explanation
    assert "it has not been run" in reply.explanation
    case = next(c for c in CASES if c.id == "index_len")
    reply = asyncio.run(provider.complete(FixPrompt(code=case.code, error="", language="python")))
    assert reply.fixed_code is None


def test_build_provider_hands_the_sandbox_to_the_builtin_engine_only(sandbox: Sandbox):
    builtin = build_provider(Settings(llm_provider="builtin"), sandbox=sandbox)
    assert isinstance(builtin, BuiltinProvider)
    case = next(c for c in CASES if c.id == "push")
    reply = asyncio.run(builtin.complete(FixPrompt(code=case.code, error="", language="py")))
    assert reply.fixed_code is not None and "stack.append(1)" in reply.fixed_code
    llm = build_provider(
        Settings(llm_provider="openai", llm_base_url="http://127.0.0.1:9/v1"), sandbox=sandbox
    )
    assert llm.name == "openai"
    asyncio.run(llm.aclose())


def test_provider_retry_searches_from_the_rejected_fix(sandbox: Sandbox):
    prompt = FixPrompt(
        code="items = [1, 2]\nprint(items[2])\n",
        error="",
        language="python",
        feedback="IndexError: list index out of range",
        previous_fix="items = [1, 2]\nprint(items[len(items)])\n",
    )
    reply = asyncio.run(BuiltinProvider(sandbox).complete(prompt))
    assert reply.fixed_code == "items = [1, 2]\nprint(items[len(items) - 1])\n"
