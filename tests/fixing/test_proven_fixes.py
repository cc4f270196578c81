"""Fixes are run before they are shown: reproduce, check, repair once, choose by evidence.

The real openai SDK talks to a scripted local OpenAI-compatible server; programs run in
the real bubblewrap sandbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bugfixer.fixing.models import LlmCall
from bugfixer.main import create_app
from bugfixer.metering.models import UsageRecord
from tests.conftest import make_settings
from tests.support.fake_llm import FakeLLM

pytestmark = pytest.mark.usefixtures("bwrap")

LAST = "items = [1, 2, 3]\nlast = items[len(items)]\nprint(last)\n"
LAST_ERROR = (
    'Traceback (most recent call last):\n  File "main.py", line 2\n'
    "IndexError: list index out of range"
)
STILL_BROKEN = "items = [1, 2, 3]\nlast = items[len(items)]; print(last)\n"
FIXED = "items = [1, 2, 3]\nlast = items[len(items) - 1]\nprint(last)\n"


def answer(code: str, explanation: str = "Python counts from 0.") -> str:
    return f"### Explanation\n{explanation}\n\n### Fixed code\n```python\n{code}```\n"


@pytest.fixture
def bwrap() -> None:
    import shutil

    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed (make test installs it)")


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


def app_for(tmp_path: Path, fake: FakeLLM, **overrides: object):  # type: ignore[no-untyped-def]
    settings = make_settings(
        tmp_path,
        llm_provider="openai",
        llm_base_url=fake.base_url,
        llm_api_key="sk-test",
        llm_model="test-model",
        llm_max_retries=0,
        **overrides,
    )
    return create_app(settings)


def fix(client: TestClient, code: str = LAST, **fields: str) -> dict:  # type: ignore[type-arg]
    r = client.post("/api/v1/fixes", json={"code": code, "language": "python", **fields})
    assert r.status_code == 200, r.text
    return r.json()


def checks(result: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {c["name"]: c for c in result["verification"]["checks"]}


def records(client: TestClient, model) -> list:  # type: ignore[no-untyped-def]
    with client.app.state.ctx.db.session() as s:
        return list(s.scalars(select(model)))


def test_an_answer_that_parses_but_still_raises_is_sent_back_and_the_repair_is_shown(
    tmp_path, fake
):
    fake.script([answer(STILL_BROKEN), answer(FIXED)])
    with TestClient(app_for(tmp_path, fake)) as client:
        result = fix(client, error=LAST_ERROR)
        assert result["status"] == "fixed" and result["fixed_code"] == FIXED
        assert result["verification"]["ok"] is True
        assert checks(result)["runs"]["ok"] is True and not checks(result)["runs"]["skipped"]
        assert result["verification"]["reproduced"] is True
        assert fake.request_count == 2
        repair = fake.requests[1]["messages"][-1]["content"]
        assert "IndexError: list index out of range" in repair and "line 2" in repair
        # Two calls, one charge: both calls' tokens are on the record.
        calls = records(client, LlmCall)
        assert [c.purpose for c in calls] == ["first", "repair"]
        (usage,) = records(client, UsageRecord)
        assert usage.prompt_tokens == sum(c.prompt_tokens for c in calls)
        assert usage.completion_tokens == sum(c.completion_tokens for c in calls)
        assert result["usage"]["remaining"] == 2


def test_a_server_that_only_answers_failing_fixes_gives_a_free_unverified_no_fix(tmp_path, fake):
    fake.reply_with(answer(STILL_BROKEN))
    with TestClient(app_for(tmp_path, fake)) as client:
        result = fix(client, error=LAST_ERROR)
        assert result["status"] == "no_fix" and result["fixed_code"] is None
        assert result["verification"]["ok"] is False
        assert checks(result)["runs"]["ok"] is False
        assert "IndexError" in checks(result)["runs"]["message"]
        assert "What was tried" in result["explanation"] and "items[" not in result["explanation"]
        assert result["usage"]["remaining"] == 3
        assert records(client, UsageRecord) == []
        assert len(records(client, LlmCall)) == 2  # the operator still paid for both calls


@pytest.mark.parametrize("order", ["raising first", "running first"])
@pytest.mark.parametrize("supports_n", [True, False], ids=["one request with n", "n requests"])
def test_of_two_candidates_the_one_that_runs_is_chosen(tmp_path, order, supports_n):
    answers = [answer(STILL_BROKEN), answer(FIXED)]
    if order == "running first":
        answers.reverse()
    with FakeLLM(supports_n=supports_n) as fake:
        fake.script(answers)
        with TestClient(app_for(tmp_path, fake, fix_candidates=2)) as client:
            result = fix(client, error=LAST_ERROR)
            assert result["status"] == "fixed" and result["fixed_code"] == FIXED
            assert fake.request_count == (1 if supports_n else 2)
            if supports_n:
                assert fake.requests[0]["n"] == 2
            assert result["usage"]["remaining"] == 2


def test_the_users_test_goes_into_the_prompt_and_must_pass(tmp_path, fake):
    code = "def mid(xs):\n    return sorted(xs)[len(xs) // 2 + 1]\n"
    wrong = "def mid(xs):\n    return sorted(xs)[-1]\n"
    right = "def mid(xs):\n    return sorted(xs)[len(xs) // 2]\n"
    test = "assert mid([3, 1, 2]) == 2\nassert mid([5, 9, 7]) == 7"
    fake.script([answer(wrong), answer(right)])
    with TestClient(app_for(tmp_path, fake)) as client:
        result = fix(client, code=code, test=test)
        assert result["status"] == "fixed" and result["fixed_code"] == right
        assert "with your test" in checks(result)["runs"]["message"]
        first_prompt = fake.requests[0]["messages"][-1]["content"]
        assert "assert mid([3, 1, 2]) == 2" in first_prompt
        # No error was pasted: the one the sandbox saw is what the model is told.
        assert "AssertionError" in first_prompt
        assert "AssertionError" in fake.requests[1]["messages"][-1]["content"]


def test_the_input_returned_unchanged_is_not_a_fix(tmp_path, fake):
    fake.reply_with(answer(LAST))
    with TestClient(app_for(tmp_path, fake)) as client:
        result = fix(client, error=LAST_ERROR)
        assert result["status"] == "no_fix"
        assert checks(result)["changed"]["ok"] is False
        assert result["usage"]["remaining"] == 3


def test_a_pasted_error_the_program_does_not_raise_is_not_reproduced(tmp_path, fake):
    fake.script([answer(FIXED)])
    with TestClient(app_for(tmp_path, fake)) as client:
        result = fix(client, error="KeyError: 'name'")
        assert result["verification"]["reproduced"] is False
        assert result["status"] == "fixed"


def test_with_the_sandbox_off_nothing_runs_and_the_check_says_so(tmp_path, fake):
    fake.script([answer(STILL_BROKEN)])
    with TestClient(app_for(tmp_path, fake, sandbox="off")) as client:
        result = fix(client, error=LAST_ERROR)
        runs = checks(result)["runs"]
        assert runs["skipped"] is True and "switched off" in runs["message"]
        assert result["verification"]["reproduced"] is None
        assert result["status"] == "fixed"  # statically fine; not claimed to run


def test_docstring_examples_rank_candidates_but_never_reject_alone(tmp_path):
    doc_wrong = 'def double(x):\n    """\n    >>> double(2)\n    5\n    """\n    return x * 2\n'
    doc_right = 'def double(x):\n    """\n    >>> double(2)\n    4\n    """\n    return x * 2\n'
    broken = 'def double(x)\n    """\n    >>> double(2)\n    4\n    """\n    return x * 2\n'
    with FakeLLM() as fake:
        fake.script([answer(doc_wrong), answer(doc_right)])
        with TestClient(app_for(tmp_path, fake, fix_candidates=2)) as client:
            result = fix(client, code=broken, error="SyntaxError: expected ':'")
            assert result["fixed_code"] == doc_right
            assert checks(result)["doctests"]["ok"] is True
    with FakeLLM() as fake:
        fake.script([answer(doc_wrong)])
        with TestClient(app_for(tmp_path / "2", fake)) as client:
            result = fix(client, code=broken, error="SyntaxError: expected ':'")
            # Delivered (it runs), but not labelled verified: one example fails.
            assert result["status"] == "fixed" and result["verification"]["ok"] is False
            assert checks(result)["doctests"]["ok"] is False
            assert fake.request_count == 1


def test_a_fix_that_never_ends_is_stopped_and_not_delivered(tmp_path, fake):
    endless = "items = [1, 2, 3]\nwhile True:\n    pass\n"
    fake.reply_with(answer(endless))
    with TestClient(app_for(tmp_path, fake, sandbox_wall_s=1, sandbox_cpu_s=0.5)) as client:
        result = fix(client, error=LAST_ERROR)
        assert result["status"] == "no_fix"
        assert checks(result)["runs"]["ok"] is False
        assert client.get("/healthz").status_code == 200


def test_a_program_that_waits_for_input_is_not_run(tmp_path, fake):
    code = "name = input('Name? ')\nprint('Hi ' + nme)\n"
    fake.script([answer("name = input('Name? ')\nprint('Hi ' + name)\n")])
    with TestClient(app_for(tmp_path, fake)) as client:
        result = fix(client, code=code, error="NameError: name 'nme' is not defined")
        runs = checks(result)["runs"]
        assert runs["skipped"] is True and "input" in runs["message"]
        assert result["status"] == "fixed"
