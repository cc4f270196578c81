"""The `bugfixer` command: fixing files from the terminal, the database task, and serving."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from bugfixer import migrate
from bugfixer.cli import main
from bugfixer.db import make_engine
from tests.support.fake_llm import FakeLLM

BROKEN = "def f()\n    return 1\n"
FIXED = "def f():\n    return 1\n"
ERROR = "SyntaxError: expected ':'"
GOOD = (
    "### Explanation\n"
    "The `def` header is missing its colon.\n\n"
    "### Fixed code\n"
    f"```python\n{FIXED}```\n"
)


def clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("BUGFIXER_", "OPENAI_"))}


@pytest.fixture
def instance_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings from this test's environment only, with the offline engine."""
    for name in os.environ.keys() - clean_environ().keys():
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env file is read
    monkeypatch.setenv("BUGFIXER_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.setenv("BUGFIXER_LLM_PROVIDER", "builtin")
    return tmp_path / "instance"


@pytest.fixture
def broken_file(tmp_path: Path) -> Path:
    path = tmp_path / "broken.py"
    path.write_text(BROKEN)
    return path


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.usefixtures("instance_dir")
class TestFix:
    def test_prints_the_explanation_and_the_fixed_code(self, broken_file):
        result = run("fix", str(broken_file), "--error", ERROR)
        assert result.exit_code == 0, result.output
        assert "Explanation" in result.output
        assert "missing the colon" in result.output
        assert "Fixed code" in result.output
        assert FIXED.rstrip("\n") in result.output

    def test_reads_the_error_from_a_file(self, broken_file, tmp_path):
        (tmp_path / "error.txt").write_text(ERROR)
        result = run("fix", str(broken_file), "--error-file", str(tmp_path / "error.txt"))
        assert result.exit_code == 0, result.output
        assert FIXED.rstrip("\n") in result.output

    def test_json_output_has_status_fixed_code_diff_and_verification(self, broken_file):
        result = run("fix", str(broken_file), "--error", ERROR, "--json")
        assert result.exit_code == 0, result.output
        out = json.loads(result.stdout)
        assert out["status"] == "fixed"
        assert out["fixed_code"] == FIXED
        assert "-def f()\n" in out["diff"] and "+def f():\n" in out["diff"]
        assert out["verification"]["ok"] is True
        assert out["model"] == "builtin-rules-1"

    def test_reads_the_code_from_standard_input(self):
        result = run("fix", "-", "--error", ERROR, "--json", input=BROKEN)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["fixed_code"] == FIXED

    def test_code_it_cannot_fix_exits_1_with_an_honest_explanation(self, tmp_path):
        (tmp_path / "fine.py").write_text("x = 1\n")
        result = run("fix", str(tmp_path / "fine.py"))
        assert result.exit_code == 1
        assert "couldn't find a confident fix" in result.output
        assert "Fixed code" not in result.output

    def test_other_languages_exit_1_and_say_the_offline_engine_only_fixes_python(self, tmp_path):
        (tmp_path / "app.js").write_text("console.log(x\n")
        result = run("fix", str(tmp_path / "app.js"), "--language", "javascript", "--json")
        assert result.exit_code == 1
        out = json.loads(result.stdout)
        assert out["status"] == "no_fix" and out["fixed_code"] is None
        assert "only fixes Python" in out["explanation"]

    def test_error_and_error_file_together_is_a_usage_error(self, broken_file, tmp_path):
        (tmp_path / "error.txt").write_text(ERROR)
        result = run(
            "fix", str(broken_file), "--error", ERROR, "--error-file", str(tmp_path / "error.txt")
        )
        assert result.exit_code == 2
        assert "not both" in result.output

    def test_empty_file_is_a_usage_error_that_names_the_problem(self, tmp_path):
        (tmp_path / "empty.py").write_text("  \n")
        result = run("fix", str(tmp_path / "empty.py"))
        assert result.exit_code == 2
        assert "code is empty" in result.output
        assert "Traceback" not in result.output

    def test_missing_file_is_a_usage_error(self, tmp_path):
        result = run("fix", str(tmp_path / "nope.py"))
        assert result.exit_code == 2
        assert "nope.py" in result.output and "No such file" in result.output


def test_fix_with_the_openai_provider_uses_the_configured_endpoint(
    instance_dir, broken_file, monkeypatch
):
    with FakeLLM(GOOD) as fake:
        monkeypatch.setenv("BUGFIXER_LLM_PROVIDER", "openai")
        monkeypatch.setenv("BUGFIXER_LLM_BASE_URL", fake.base_url)
        monkeypatch.setenv("BUGFIXER_LLM_API_KEY", "sk-test")
        monkeypatch.setenv("BUGFIXER_LLM_MODEL", "test-model")
        result = run("fix", str(broken_file), "--error", ERROR, "--json")
        assert result.exit_code == 0, result.output
        out = json.loads(result.stdout)
        assert out["fixed_code"] == FIXED
        assert out["explanation"] == "The `def` header is missing its colon."
        assert out["model"] == "test-model"
        assert fake.request_count == 1


def test_fix_with_the_llm_unreachable_fails_with_a_clear_message(
    instance_dir, broken_file, monkeypatch
):
    port = closed_port()
    monkeypatch.setenv("BUGFIXER_LLM_PROVIDER", "openai")
    monkeypatch.setenv("BUGFIXER_LLM_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("BUGFIXER_LLM_API_KEY", "sk-test")
    monkeypatch.setenv("BUGFIXER_LLM_MAX_RETRIES", "0")
    monkeypatch.setenv("BUGFIXER_LLM_TIMEOUT_S", "2")
    result = run("fix", str(broken_file), "--error", ERROR)
    assert result.exit_code == 4  # the provider is unavailable
    assert f"could not reach the LLM endpoint at http://127.0.0.1:{port}" in result.output
    assert "free fix" not in result.output
    assert "Traceback" not in result.output
    assert "sk-test" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_invalid_setting_fails_naming_the_setting(instance_dir, broken_file, monkeypatch):
    monkeypatch.setenv("BUGFIXER_FREE_FIXES", "lots")
    result = run("fix", str(broken_file), "--error", ERROR)
    assert result.exit_code == 2
    assert "BUGFIXER_FREE_FIXES" in result.output
    assert isinstance(result.exception, SystemExit)


def test_db_upgrade_creates_the_database_at_head(instance_dir):
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "database at head" in result.output
    database = instance_dir / "bugfixer.sqlite3"
    assert database.exists()
    engine = make_engine(f"sqlite:///{database}")
    try:
        assert migrate.is_current(engine)
    finally:
        engine.dispose()


def test_serve_help_lists_host_port_and_workers():
    result = run("serve", "--help")
    assert result.exit_code == 0
    for option in ("--host", "--port", "--workers"):
        assert option in result.output


# -- the real command in its own process -------------------------------------------------


@contextmanager
def bugfixer_serve(tmp_path: Path, **extra_env: str) -> Iterator[str]:
    """`bugfixer serve` as a subprocess on a free port, until it answers /healthz."""
    port = closed_port()
    command = Path(sys.executable).with_name("bugfixer")
    argv = [str(command)] if command.exists() else [sys.executable, "-m", "bugfixer"]
    env = {
        **clean_environ(),
        "BUGFIXER_INSTANCE_DIR": str(tmp_path / "instance"),
        "BUGFIXER_LLM_PROVIDER": "builtin",
        "BUGFIXER_LOG_LEVEL": "WARNING",
        **extra_env,
    }
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [*argv, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "bugfixer serve did not become healthy"
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    with bugfixer_serve(tmp_path) as url:
        yield url


def test_serve_runs_the_app_that_answers_a_fix(served):
    r = httpx.post(f"{served}/api/v1/fixes", json={"code": BROKEN, "error": ERROR}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["fixed_code"] == FIXED
    assert r.json()["usage"]["remaining"] == 2


def test_serve_says_where_the_app_the_emulator_and_the_outbox_are(served, tmp_path):
    printed = (tmp_path / "serve.log").read_text()
    assert f"Code Bug Fixer:  {served}/" in printed
    assert f"Stripe emulator: {served}/_stripe" in printed
    assert f"Dev outbox:      {served}/dev/outbox" in printed


def use_up_the_trial(url: str) -> None:
    for _ in range(3):
        r = httpx.post(f"{url}/api/v1/fixes", json={"code": BROKEN, "error": ERROR}, timeout=10)
        assert r.status_code == 200, r.text


def test_serve_ignores_x_forwarded_for_from_a_loopback_peer_by_default(served):
    use_up_the_trial(served)
    # A fresh client (no cookie) claiming to be someone else on another network.
    spoofed = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    r = httpx.post(f"{served}/api/v1/fixes", json={"code": BROKEN}, headers=spoofed, timeout=10)
    assert r.status_code == 402, r.text
    assert "strict-transport-security" not in r.headers  # not taken for https either


def test_serve_believes_x_forwarded_for_from_a_trusted_proxy(tmp_path):
    with bugfixer_serve(tmp_path, BUGFIXER_TRUSTED_PROXIES="127.0.0.1") as url:
        use_up_the_trial(url)
        forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
        r = httpx.post(f"{url}/api/v1/fixes", json={"code": BROKEN}, headers=forwarded, timeout=10)
        assert r.status_code == 200, r.text
        assert r.headers["strict-transport-security"]
