"""`bugfixer eval` as an operator sees it: the rows, the summary, and one exit code per outcome.

0 every task ran and nothing claimed verified failed its test, 1 some tasks could not be
run, 2 bad input or no sandbox, 4 a fix claimed verified failed its hidden test.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.fake_llm import Error, FakeLLM
from tests.test_cli import instance_dir, run  # noqa: F401 - instance_dir is a fixture

if shutil.which("bwrap") is None:  # pragma: no cover - make test installs bubblewrap
    pytest.skip("bubblewrap is not installed (make test installs it)", allow_module_level=True)

COLON = {
    "id": "colon",
    "code": "def area(w, h)\n    return w * h\n",
    "error": "SyntaxError: expected ':'",
    "test": "assert area(3, 4) == 12\nassert area(0, 5) == 0\n",
}
# The engine fixes the colon; the wrong sign is left for the test (and the example) to see.
LOGIC_REMAINS = {
    "id": "logic_remains",
    "code": 'def add(a, b)\n    """\n    >>> add(2, 3)\n    5\n    """\n    return a - b\n',
    "error": "SyntaxError: expected ':'",
    "test": "assert add(2, 3) == 5\n",
}
# Nothing the engine knows: a missing comma, no error given.
NO_FIX = {
    "id": "no_fix",
    "code": 'COLOURS = ["red", "green" "blue"]\n',
    "test": "assert len(COLOURS) == 3\n",
}
ROW_FIELDS = {"id", "status", "verified", "passed", "seconds", "tokens", "cost_usd"}


def answer(code: str) -> str:
    return f"### Explanation\nFixed it.\n\n### Fixed code\n```python\n{code}```\n"


def write_tasks(path: Path, *tasks: dict) -> Path:
    path.write_text("".join(json.dumps(task) + "\n" for task in tasks))
    return path


def rows(path: Path) -> dict[str, dict]:
    found = [json.loads(line) for line in path.read_text().splitlines()]
    return {row["id"]: row for row in found}


@pytest.fixture
def openai_env(instance_dir, monkeypatch):  # noqa: F811 - the fixture imported above
    """Settings for the OpenAI-compatible provider at a scripted local server."""

    def use(fake: FakeLLM) -> None:
        monkeypatch.setenv("BUGFIXER_LLM_PROVIDER", "openai")
        monkeypatch.setenv("BUGFIXER_LLM_BASE_URL", fake.base_url)
        monkeypatch.setenv("BUGFIXER_LLM_API_KEY", "sk-test")
        monkeypatch.setenv("BUGFIXER_LLM_MAX_RETRIES", "0")

    return use


# -- the builtin engine --------------------------------------------------------------------


@pytest.mark.usefixtures("instance_dir")
def test_builtin_engine_judges_each_fix_by_its_test(tmp_path):
    tasks = write_tasks(tmp_path / "tasks.jsonl", COLON, LOGIC_REMAINS, NO_FIX)
    out = tmp_path / "results.jsonl"
    result = run("eval", str(tasks), "--out", str(out), "--concurrency", "2")
    assert result.exit_code == 0, result.output
    found = rows(out)
    assert set(found) == {"colon", "logic_remains", "no_fix"}
    for row in found.values():
        assert row.keys() >= ROW_FIELDS
        assert row["tokens"] == 0 and row["cost_usd"] == 0  # the offline engine is free
    assert found["colon"] | {"seconds": 0} == {
        "id": "colon",
        "status": "fixed",
        "verified": True,
        "passed": True,
        "seconds": 0,
        "tokens": 0,
        "cost_usd": 0.0,
        "checks": ["parses", "compiles", "no_new_undefined_names", "runs"],
    }
    # The syntax error is fixed, the wrong sign is not: the product says so, the judge fails it.
    remains = found["logic_remains"]
    assert remains["status"] == "fixed" and remains["verified"] is False
    assert remains["passed"] is False and "AssertionError" in remains["judge"]
    assert found["no_fix"] | {"seconds": 0} == {
        "id": "no_fix",
        "status": "no_fix",
        "verified": False,
        "passed": False,
        "seconds": 0,
        "tokens": 0,
        "cost_usd": 0.0,
    }
    table = result.stdout
    assert "tasks                        3" in table
    assert "passed                       1 (33.3%)" in table
    assert "no fix                       1 (33.3%)" in table
    assert "claimed verified but failed  0" in table
    assert "Evaluating" in result.stderr


@pytest.mark.usefixtures("instance_dir")
def test_limit_runs_only_the_first_tasks(tmp_path):
    tasks = write_tasks(tmp_path / "tasks.jsonl", COLON, LOGIC_REMAINS, NO_FIX)
    out = tmp_path / "results.jsonl"
    result = run("eval", str(tasks), "--out", str(out), "--limit", "1")
    assert result.exit_code == 0, result.output
    assert list(rows(out)) == ["colon"]
    assert "tasks                        1" in result.stdout


@pytest.mark.usefixtures("instance_dir")
def test_results_go_to_eval_results_jsonl_by_default(tmp_path):
    tasks = write_tasks(tmp_path / "tasks.jsonl", COLON)
    result = run("eval", str(tasks))
    assert result.exit_code == 0, result.output
    assert rows(tmp_path / "eval-results.jsonl")["colon"]["passed"] is True


# -- a scripted OpenAI-compatible server ---------------------------------------------------


def test_a_fix_claimed_verified_that_fails_the_hidden_test_exits_4(tmp_path, openai_env):
    # It runs without an error, so the product calls it verified; the test knows better.
    with FakeLLM(answer("def area(w, h):\n    return w + h\n")) as fake:
        openai_env(fake)
        tasks = write_tasks(tmp_path / "tasks.jsonl", COLON)
        result = run("eval", str(tasks), "--out", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 4, result.output
    row = rows(tmp_path / "out.jsonl")["colon"]
    assert row["status"] == "fixed" and row["verified"] is True and row["passed"] is False
    assert row["tokens"] > 0 and row["cost_usd"] > 0
    assert "claimed verified but failed  1" in result.stdout


def test_the_test_reaches_the_prompt_only_with_show_tests(tmp_path, openai_env):
    with FakeLLM(answer("def area(w, h):\n    return w * h\n")) as fake:
        openai_env(fake)
        tasks = write_tasks(tmp_path / "tasks.jsonl", COLON)
        hidden = run("eval", str(tasks), "--out", str(tmp_path / "hidden.jsonl"))
        prompts = [m["content"] for body in fake.requests for m in body["messages"]]
        assert hidden.exit_code == 0, hidden.output
        assert not any("area(0, 5)" in prompt for prompt in prompts)

        shown = run("eval", str(tasks), "--out", str(tmp_path / "shown.jsonl"), "--show-tests")
        prompts = [m["content"] for body in fake.requests[1:] for m in body["messages"]]
        assert shown.exit_code == 0, shown.output
        assert any("assert area(0, 5) == 0" in prompt for prompt in prompts)
    assert rows(tmp_path / "shown.jsonl")["colon"]["passed"] is True


def test_a_provider_that_is_down_gives_error_rows_and_exit_1(tmp_path, openai_env):
    with FakeLLM(answer("x = 1\n")) as fake:
        fake.script([Error(500), Error(500)])
        openai_env(fake)
        tasks = write_tasks(tmp_path / "tasks.jsonl", COLON)
        result = run("eval", str(tasks), "--out", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 1, result.output
    row = rows(tmp_path / "out.jsonl")["colon"]
    assert row["status"] == "error" and row["passed"] is False and row["error"]
    assert "errors                       1" in result.stdout


# -- 2: bad input, nothing run -------------------------------------------------------------


@pytest.mark.usefixtures("instance_dir")
@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2: not valid JSON"),
        ('["a list"]', "line 2: a task is a JSON object, not list"),
        ('{"id": "t", "code": "x = 1\\n"}', "line 2: field 'test' is missing"),
        ('{"id": "t", "code": 1, "test": "pass"}', "line 2: field 'code' must be a string"),
        ('{"id": "colon", "code": "x = 1", "test": "pass"}', "id 'colon' is used already"),
        ('{"id": "t", "code": "x = 1", "test": "assert ("}', "field 'test' does not parse"),
        ('{"id": "t", "code": "  ", "test": "pass"}', "line 2: code is empty"),
        (
            '{"id": "t", "code": "x", "test": "pass", "language": "go"}',
            "line 2: field 'language' is 'go'; only Python tasks can be judged",
        ),
    ],
)
def test_a_bad_task_line_is_named_and_nothing_runs(tmp_path, line, message):
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(json.dumps(COLON) + "\n" + line + "\n")
    out = tmp_path / "out.jsonl"
    result = run("eval", str(tasks), "--out", str(out))
    assert result.exit_code == 2
    assert message in result.stderr
    assert not out.exists()


@pytest.mark.usefixtures("instance_dir")
def test_with_the_sandbox_off_eval_refuses_to_run_task_code(tmp_path, monkeypatch):
    monkeypatch.setenv("BUGFIXER_SANDBOX", "off")
    tasks = write_tasks(tmp_path / "tasks.jsonl", COLON)
    result = run("eval", str(tasks), "--out", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 2
    assert "the sandbox is off" in result.stderr
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.usefixtures("instance_dir")
def test_help_documents_every_exit_code_and_the_row_fields():
    result = run("eval", "--help")
    for text in ("0  every task ran", "1  some tasks", "2  usage error", "4  a fix the"):
        assert text in result.output
    for field in ("verified", "passed", "seconds", "tokens", "cost_usd", "--show-tests"):
        assert field in result.output


@pytest.mark.usefixtures("instance_dir")
def test_an_out_file_that_cannot_be_written_is_a_usage_error(tmp_path):
    tasks = write_tasks(tmp_path / "tasks.jsonl", COLON)
    result = run("eval", str(tasks), "--out", str(tmp_path / "no-such-folder" / "out.jsonl"))
    assert result.exit_code == 2
    assert "cannot write --out" in result.stderr
