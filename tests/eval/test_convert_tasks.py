"""bench/convert_tasks.py: HumanEvalFix rows become tasks that `bugfixer eval` runs and judges."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.eval.test_eval import answer, rows
from tests.support.fake_llm import FakeLLM
from tests.test_cli import instance_dir, run  # noqa: F401 - instance_dir is a fixture

ROOT = Path(__file__).resolve().parents[2]

PROMPT = (
    "def add_one(xs: list) -> list:\n"
    '    """Add one to every number.\n    >>> add_one([1])\n    [2]\n    """\n'
)
CANONICAL = "    return [x + 1 for x in xs]\n"
# A tiny sample in the HumanEvalPack shape, written for this test.
SAMPLE = [
    {
        "task_id": "Python/0",
        "prompt": PROMPT,
        "declaration": "def add_one(xs: list) -> list:\n",
        "canonical_solution": CANONICAL,
        "buggy_solution": "    return [x - 1 for x in xs]\n",
        "bug_type": "operator misuse",
        "entry_point": "add_one",
        "test": "\n\ndef check(add_one):\n    assert add_one([1, 2]) == [2, 3]\n"
        "    assert add_one([]) == []\n\ncheck(add_one)",
        "example_test": "def check(add_one):\n    assert add_one([1]) == [2]\ncheck(add_one)\n",
    },
    {
        "task_id": "HumanEval/1",  # the original HumanEval: check is not called
        "prompt": "def double(n):\n",
        "buggy_solution": "    return n * 3\n",
        "entry_point": "double",
        "test": "def check(candidate):\n    assert candidate(2) == 4\n",
    },
    {
        "task_id": "Go/0",
        "prompt": "func AddOne() {}\n",
        "buggy_solution": "",
        "entry_point": "AddOne",
        "test": "func TestAddOne(t *testing.T) {}\n",
    },
]


def convert(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    source = tmp_path / "humanevalfix.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in SAMPLE))
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "convert_tasks.py"), str(source), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_python_rows_become_tasks_judged_by_the_benchmarks_check(tmp_path):
    done = convert(tmp_path)
    assert done.returncode == 0, done.stderr
    tasks = [json.loads(line) for line in done.stdout.splitlines()]
    assert [t["id"] for t in tasks] == ["Python/0", "HumanEval/1"]  # Go is skipped
    first, second = tasks
    assert first["code"] == PROMPT + "    return [x - 1 for x in xs]\n"
    assert first["test"] == SAMPLE[0]["test"] + "\n"  # check is called already: as it was
    assert second["test"].endswith("\ncheck(double)\n")
    assert "2 tasks written" in done.stderr


def test_no_docstrings_gives_the_bare_declaration(tmp_path):
    done = convert(tmp_path, "--no-docstrings")
    first = json.loads(done.stdout.splitlines()[0])
    assert first["code"] == "def add_one(xs: list) -> list:\n    return [x - 1 for x in xs]\n"


def test_a_row_without_the_buggy_solution_is_named(tmp_path):
    source = tmp_path / "bad.jsonl"
    source.write_text(json.dumps({"task_id": "Python/9", "test": "", "entry_point": "f"}) + "\n")
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "convert_tasks.py"), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "line 1: missing or not text: buggy_solution" in done.stderr


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_converted_tasks_run_through_eval(tmp_path, monkeypatch, instance_dir):  # noqa: F811
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(convert(tmp_path).stdout)
    # A model that answers with the canonical solution: both tasks pass their checks.
    fixed = {"add_one": PROMPT + CANONICAL, "double": "def double(n):\n    return n * 2\n"}

    def reply(body: dict) -> str:
        user = body["messages"][-1]["content"]
        return answer(fixed["add_one" if "add_one" in user else "double"])

    with FakeLLM(reply) as fake:
        monkeypatch.setenv("BUGFIXER_LLM_PROVIDER", "openai")
        monkeypatch.setenv("BUGFIXER_LLM_BASE_URL", fake.base_url)
        monkeypatch.setenv("BUGFIXER_LLM_API_KEY", "sk-test")
        result = run("eval", str(tasks), "--out", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 0, result.output
    found = rows(tmp_path / "out.jsonl")
    assert found["Python/0"]["passed"] and found["HumanEval/1"]["passed"]
