"""`bugfixer sandbox check` tells an operator whether the sandbox works on this host."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bugfixer.cli import main
from tests.test_cli import instance_dir  # noqa: F401 - the fixture


@pytest.mark.usefixtures("instance_dir")
def test_sandbox_check_runs_its_probes_and_passes(monkeypatch):
    monkeypatch.setenv("BUGFIXER_SANDBOX_WALL_S", "3")
    monkeypatch.setenv("BUGFIXER_SANDBOX_CPU_S", "1")
    result = CliRunner().invoke(main, ["sandbox", "check"])
    assert result.exit_code == 0, result.output
    assert "ok   a program runs" in result.output
    assert "ok   the network is unreachable" in result.output
    assert "ok   an endless loop is stopped" in result.output
    assert "FAIL" not in result.output


@pytest.mark.usefixtures("instance_dir")
def test_sandbox_check_fails_when_the_sandbox_is_off(monkeypatch):
    monkeypatch.setenv("BUGFIXER_SANDBOX", "off")
    result = CliRunner().invoke(main, ["sandbox", "check"])
    assert result.exit_code == 1
    assert "never run" in result.output
