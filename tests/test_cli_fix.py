"""`bugfixer fix` as a person and a script see it: the output, and one exit code per outcome.

0 fixed, 1 no fix found, 2 usage error, 3 allowance used up or key refused, 4 server or
provider unavailable. Server-side cases run the real app on a loopback port.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bugfixer.main import create_app
from tests.conftest import make_settings
from tests.support.fake_llm import Delay, Error, FakeLLM
from tests.support.server import serve
from tests.test_cli import (  # noqa: F401 - instance_dir is a fixture
    BROKEN,
    ERROR,
    FIXED,
    GOOD,
    clean_environ,
    closed_port,
    instance_dir,
    run,
)

ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def broken_file(tmp_path: Path) -> Path:
    path = tmp_path / "broken.py"
    path.write_text(BROKEN)
    return path


@pytest.fixture
def server(tmp_path):
    """A real app with one free fix, on the offline engine."""
    with serve(create_app(make_settings(tmp_path / "server", free_fixes=1))) as url:
        yield url


# -- 0: fixed ------------------------------------------------------------------------------


@pytest.mark.usefixtures("instance_dir")
def test_exit_0_prints_explanation_fixed_code_diff_and_what_was_checked(broken_file):
    result = run("fix", str(broken_file), "--error", ERROR)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.index("Explanation") < out.index("Fixed code") < out.index("Changes")
    assert "-def f()\n+def f():\n" in out
    assert out.rstrip().endswith("Ran your code: passes")  # in the sandbox
    assert not ANSI_COLOUR.search(out)  # not a terminal: plain text


@pytest.mark.usefixtures("instance_dir")
def test_quiet_prints_only_the_fixed_code_for_pipes(broken_file):
    result = run("fix", str(broken_file), "--error", ERROR, "--quiet")
    assert result.exit_code == 0
    assert result.stdout == FIXED


def test_through_a_server_the_messages_carry_absolute_urls(broken_file, server):
    result = run("fix", str(broken_file), "--error", ERROR, "--server", server)
    assert result.exit_code == 0, result.output
    assert re.search(rf"Saved at {re.escape(server)}/fixes/\S+", result.stderr)
    assert "0 of 1 free fixes left" in result.stderr


def test_a_test_file_is_sent_along_to_the_server(broken_file, server, tmp_path):
    test = tmp_path / "test_broken.py"
    test.write_text("assert f() == 1\n")
    result = run("fix", str(broken_file), "--error", ERROR, "--server", server, "--test", str(test))
    assert result.exit_code == 0, result.output
    assert "Ran your code: passes" in result.stdout


# -- 1: no fix found -----------------------------------------------------------------------


@pytest.mark.usefixtures("instance_dir")
def test_exit_1_when_no_fix_is_found_and_quiet_prints_nothing(tmp_path):
    (tmp_path / "fine.py").write_text("x = 1\n")
    result = run("fix", str(tmp_path / "fine.py"))
    assert result.exit_code == 1
    assert "No verified fix" in result.stdout and "Fixed code" not in result.stdout
    quiet = run("fix", str(tmp_path / "fine.py"), "-q")
    assert (quiet.exit_code, quiet.stdout) == (1, "")


@pytest.mark.usefixtures("instance_dir")
def test_other_languages_locally_get_a_hint_for_the_operator(tmp_path):
    (tmp_path / "app.js").write_text("console.log(x\n")
    result = run("fix", str(tmp_path / "app.js"), "--language", "javascript")
    assert result.exit_code == 1
    assert "BUGFIXER_LLM_API_KEY" in result.stderr  # the operator may set it; visitors never see it


# -- 2: usage errors -----------------------------------------------------------------------


@pytest.mark.usefixtures("instance_dir")
@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--api-key", "bfk_x"], "--api-key needs --server"),
        (["--language", "cobol"], "not supported"),
        (["--test", "TEST"], "test is 10,001 characters; the limit is 10,000"),
    ],
)
def test_exit_2_on_usage_errors(broken_file, tmp_path, args, words):
    (tmp_path / "t.py").write_text("#" * 10_001)
    args = [str(tmp_path / "t.py") if a == "TEST" else a for a in args]
    result = run("fix", str(broken_file), *args)
    assert result.exit_code == 2
    assert words in result.output


def test_exit_2_when_the_server_refuses_the_input(tmp_path, server):
    (tmp_path / "big.py").write_text("x = 1\n" * 4_000)
    result = run("fix", str(tmp_path / "big.py"), "--server", server)
    assert result.exit_code == 2
    assert "the limit is 20,000" in result.stderr


def test_a_test_over_the_limit_is_refused_by_the_server(broken_file, tmp_path, server):
    (tmp_path / "t.py").write_text("#" * 10_001)
    result = run("fix", str(broken_file), "--server", server, "--test", str(tmp_path / "t.py"))
    assert result.exit_code == 2 and "the limit is 10,000" in result.output


# -- 3: allowance used up or key refused -----------------------------------------------------


def test_exit_3_when_the_free_fixes_are_used_up(broken_file, server):
    assert run("fix", str(broken_file), "--error", ERROR, "--server", server).exit_code == 0
    result = run("fix", str(broken_file), "--error", ERROR, "--server", server)
    assert result.exit_code == 3
    assert f"Choose a plan at {server}/pricing" in result.stderr
    assert f"{server}/account" in result.stderr


def test_exit_3_when_the_api_key_is_refused(broken_file, server):
    result = run("fix", str(broken_file), "--server", server, "--api-key", "bfk_not_a_key")
    assert result.exit_code == 3
    assert "not valid" in result.stderr and f"{server}/account" in result.stderr


# -- 4: unavailable ------------------------------------------------------------------------


def test_exit_4_when_the_server_cannot_be_reached(broken_file):
    url = f"http://127.0.0.1:{closed_port()}"
    result = run("fix", str(broken_file), "--server", url)
    assert result.exit_code == 4
    assert f"could not reach {url}" in result.stderr


def test_exit_4_when_the_servers_provider_is_down(broken_file, tmp_path):
    with FakeLLM(GOOD) as fake:
        fake.script([Error(500), Error(500)])
        settings = make_settings(
            tmp_path,
            llm_provider="openai",
            llm_base_url=fake.base_url,
            llm_api_key="sk-test",
            llm_max_retries=0,
        )
        with serve(create_app(settings)) as url:
            result = run("fix", str(broken_file), "--server", url)
    assert result.exit_code == 4
    assert "unavailable" in result.stderr and "HTTP 503" in result.stderr


def test_exit_4_when_the_url_is_not_a_bug_fixer(broken_file):
    with FakeLLM(GOOD) as fake:  # any HTTP server that is not this product
        result = run("fix", str(broken_file), "--server", fake.base_url)
    assert result.exit_code == 4 and "check the --server URL" in result.stderr


# -- in a terminal -------------------------------------------------------------------------


def run_in_terminal(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """The real command with a pseudo-terminal for stdout and stderr, as a person runs it."""
    controller, terminal = pty.openpty()
    command = [sys.executable, "-m", "bugfixer", *args]
    process = subprocess.Popen(command, stdout=terminal, stderr=terminal, env=env, cwd=cwd)
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closes when the command exits
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert process.wait(timeout=60) == 0
    os.close(controller)
    return b"".join(chunks).decode()


def test_in_a_terminal_there_is_colour_and_a_spinner_with_the_time(broken_file, tmp_path):
    with FakeLLM(GOOD, chunk_delay_s=0.3) as fake:
        fake.script([Delay(1.3, GOOD)])
        env = {
            **clean_environ(),
            "BUGFIXER_INSTANCE_DIR": str(tmp_path / "instance"),
            "BUGFIXER_LLM_PROVIDER": "openai",
            "BUGFIXER_LLM_BASE_URL": fake.base_url,
            "BUGFIXER_LLM_API_KEY": "sk-test",
            "BUGFIXER_LOG_LEVEL": "WARNING",
        }
        env.pop("NO_COLOR", None)
        shown = run_in_terminal(["fix", str(broken_file), "--error", ERROR], env, tmp_path)
        assert "Fixing… 1 s" in shown  # the spinner counted the seconds
        # ...and showed the explanation while the model was still writing it
        assert re.search(r"Fixing… \d+ s  The `def` header", shown)
        assert "\x1b[32m+def f():" in shown  # the added line, in green
        assert ANSI_COLOUR.search(shown.split("Fixed code")[1].split("Changes")[0])

        fake.script([Delay(0.3, GOOD)])
        plain = run_in_terminal(
            ["fix", str(broken_file), "--error", ERROR], {**env, "NO_COLOR": "1"}, tmp_path
        )
        assert not ANSI_COLOUR.search(plain) and "+def f():" in plain


def test_in_a_terminal_through_a_server_the_explanation_streams(broken_file, tmp_path):
    with FakeLLM(GOOD, chunk_delay_s=0.3) as fake:
        fake.script([Delay(1.3, GOOD)])
        settings = make_settings(
            tmp_path / "server",
            llm_provider="openai",
            llm_base_url=fake.base_url,
            llm_api_key="sk-test",
        )
        with serve(create_app(settings)) as url:
            env = {**clean_environ(), "BUGFIXER_INSTANCE_DIR": str(tmp_path / "client")}
            args = ["fix", str(broken_file), "--error", ERROR, "--server", url]
            shown = run_in_terminal(args, env, tmp_path)
    # The server's stream reached the spinner while the model was still writing...
    assert re.search(r"Fixing… \d+ s  The `def` header", shown)
    # ...and the settled result was printed once, with its absolute link.
    assert "+def f():" in shown and f"{url}/fixes/" in shown


@pytest.mark.usefixtures("instance_dir")
def test_help_documents_every_exit_code():
    result = run("fix", "--help")
    for line in ("0  fixed", "1  no fix found", "2  usage error", "3  free fixes used up", "4  "):
        assert line in result.output
    assert "NO_COLOR" in result.output and "--quiet" in result.output


@pytest.mark.usefixtures("instance_dir")
def test_json_output_is_unchanged_by_the_terminal_niceties(broken_file):
    result = run("fix", str(broken_file), "--error", ERROR, "--json")
    out = json.loads(result.stdout)
    assert out["status"] == "fixed" and out["language"] == "python"
