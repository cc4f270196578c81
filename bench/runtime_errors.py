"""A held-out list of common runtime errors, to measure the built-in engine honestly.

Written after the engine's rules and apart from the test cases, so the rules were not
tuned on it. Each program parses but raises when run; a fix counts only if it runs in
the sandbox and prints what the working program should print. Nothing is asserted.

    .venv/bin/python bench/runtime_errors.py [--with-tests]   # also the test suite's cases
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bugfixer.fixing.builtin.search import search_fix  # noqa: E402
from bugfixer.sandbox import RunResult, Sandbox  # noqa: E402


def d(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


# (name, program, what the fixed program should print)
HELD_OUT = [
    ("constant_index", "scores = [90, 80]\nprint(scores[2])\n", "80\n"),
    (
        "len_index_in_function",
        d("""
        def get_last(lst):
            return lst[len(lst)]


        print(get_last([1, 2, 3]))
    """),
        "3\n",
    ),
    (
        "range_constant_too_long",
        d("""
        matrix = [[1, 2], [3, 4]]
        for i in range(3):
            print(matrix[i][0])
    """),
        "1\n3\n",
    ),
    ("key_case_in_lookup", 'phone = {"Ann": "555"}\nprint(phone["ann"])\n', "555\n"),
    (
        "augmented_missing_key",
        d("""
        inventory = {"apples": 3}
        inventory["pears"] += 2
        print(inventory)
    """),
        "{'apples': 3, 'pears': 2}\n",
    ),
    (
        "concat_number_in_middle",
        d("""
        name = "Bob"
        print("Hello " + name + ", you have " + 3 + " messages")
    """),
        "Hello Bob, you have 3 messages\n",
    ),
    ("concat_len", 'items = ["a", "b"]\nprint("Count: " + len(items))\n', "Count: 2\n"),
    ("concat_max", 'temps = [20, 25]\nprint("Max: " + max(temps))\n', "Max: 25\n"),
    (
        "extra_argument_unused",
        d("""
        def hello():
            print("hi")


        hello("Ann")
    """),
        "hi\n",
    ),
    ("number_called", "total = 10\nprint(total())\n", "10\n"),
    (
        "expression_not_returned",
        d("""
        def avg(nums):
            s = sum(nums)
            s / len(nums)


        print(avg([1, 3]) + 1)
    """),
        "3.0\n",
    ),
    (
        "sort_result_reassigned",
        d("""
        nums = [3, 1, 2]
        nums = nums.sort()
        print(nums[0])
    """),
        "1\n",
    ),
    ("queue_push", 'queue = []\nqueue.push("a")\nprint(queue.pop(0))\n', "a\n"),
    ("string_size", 'text = "hello"\nprint(text.size())\n', "5\n"),
    (
        "python2_itervalues",
        d("""
        stock = {"a": 1, "b": 2}
        print(sum(stock.itervalues()))
    """),
        "3\n",
    ),
    ("isdigit_on_int", "n = 42\nprint(n.isdigit())\n", "True\n"),
    ("int_of_float_text", 'print(int("7.0") + 1)\n', "8\n"),
    ("average_of_nothing", "values = []\nprint(sum(values) / len(values))\n", "0\n"),
    (
        "global_rebound",
        d("""
        total = 0


        def add(x):
            total = total + x


        add(5)
        print(total)
    """),
        "5\n",
    ),
    (
        "unpack_dict_single_letter_keys",
        d("""
        pairs = {"a": 1, "b": 2}
        for key, value in pairs:
            print(key, value)
    """),
        "a 1\nb 2\n",
    ),
    (
        "pop_while_iterating",
        d("""
        ages = {"a": 1, "b": 2}
        for name in ages:
            if ages[name] < 2:
                ages.pop(name)
        print(ages)
    """),
        "{'b': 2}\n",
    ),
    (
        "power_without_base",
        d("""
        def power(b, e):
            return b * power(b, e - 1)


        print(power(2, 3))
    """),
        "8\n",
    ),
    ("json_loads_python_dict", 'import json\n\nprint(json.loads("{\'x\': 1}")["x"])\n', "1\n"),
    ("module_typo", "import randon\n\nprint(randon.choice([7]))\n", "7\n"),
    (
        "from_import_typo",
        d("""
        from collections import defaultdic

        counts = defaultdic(int)
        counts["a"] += 1
        print(counts["a"])
    """),
        "1\n",
    ),
    ("builtin_typo_in_call", "print(lenn([1, 2]))\n", "2\n"),
    ("string_append", 'word = "ab"\nword.append("c")\nprint(word)\n', "abc\n"),
    ("format_too_few_values", 'print("{} + {} = {}".format(1, 2), 3)\n', "1 + 2 = 3\n"),
    ("percent_d_with_text", 'n = "3"\nprint("%d items" % n)\n', "3 items\n"),
    ("list_index_by_float", "xs = [1, 2, 3, 4]\nprint(xs[len(xs) / 2])\n", "3\n"),
    ("range_of_text", 'n = "3"\nfor i in range(n):\n    print(i)\n', "0\n1\n2\n"),
]

# Programs whose intent can't be read from the code: the right answer is "no fix".
DECLINE = [
    ("missing_argument_no_variable", "def area(r):\n    return 3 * r * r\n\n\nprint(area())\n"),
    ("math_domain", "import math\n\nprint(math.sqrt(-4))\n"),
    ("first_of_empty", "queue = []\nprint(queue[0])\n"),
    ("file_missing", 'print(open("notes.txt").read())\n'),
]


class Counted:
    """The sandbox, counting the runs the engine asks for."""

    enabled = True

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox, self.programs = sandbox, []

    async def run_program(self, code: str, test: str | None = None) -> RunResult:
        self.programs.append(code)
        return await self.sandbox.run_program(code, test)


async def fix_all(cases: list[tuple[str, str, str | None, str]], sandbox: Sandbox) -> list[dict]:
    rows = []
    for name, code, prints, test in cases:
        counted = Counted(sandbox)
        started = time.perf_counter()
        result = await search_fix(code, "", test, counted)
        seconds = time.perf_counter() - started
        verdict = "no fix"
        if result.fixed_code is not None:
            ran = await sandbox.run_program(result.fixed_code, test or None)
            right = ran.ok and ran.stdout == prints
            verdict = "fixed" if right else "WRONG" if ran.ok else "FAILS"
        rows.append(
            {"name": name, "verdict": verdict, "runs": len(counted.programs), "seconds": seconds}
        )
    return rows


def report(title: str, rows: list[dict]) -> None:
    fixed = sum(r["verdict"] == "fixed" for r in rows)
    print(f"\n{title}: {fixed} of {len(rows)} fixed")
    for row in rows:
        print(f"  {row['verdict']:7} {row['name']:32} {row['runs']:2} runs  {row['seconds']:.2f} s")
    print(
        f"  median {statistics.median(r['seconds'] for r in rows):.2f} s, "
        f"max {max(r['runs'] for r in rows)} runs, "
        f"claimed but wrong or failing: {sum(r['verdict'] in ('WRONG', 'FAILS') for r in rows)}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--with-tests", action="store_true", help="also the test suite's cases")
    args = parser.parse_args()
    sandbox = Sandbox("bwrap", concurrency=2)
    held_out = [(n, c, p, "") for n, c, p in HELD_OUT]
    report("Held-out runtime errors", await fix_all(held_out, sandbox))
    declined = await fix_all([(n, c, None, "") for n, c in DECLINE], sandbox)
    honest = sum(r["verdict"] == "no fix" for r in declined)
    print(f"\nNo right fix to find: {honest} of {len(declined)} answered with no fix")
    if args.with_tests:
        from tests.fixing.runtime_cases import CASES

        cases = [(c.id, c.code, c.prints, c.test) for c in CASES]
        report("Test-suite runtime errors", await fix_all(cases, sandbox))


if __name__ == "__main__":
    asyncio.run(main())
