"""Hostile runs neither block the event loop nor exceed the concurrency cap, as any user."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bugfixer.config import Settings
from bugfixer.sandbox import Sandbox, SandboxLimits
from tests.sandbox.conftest import FAST

ROOT = Path(__file__).resolve().parents[2]

HOSTILE = [
    "while True:\n    pass\n",
    "import time\ntime.sleep(3600)\n",
    "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
    "while True:\n    print('x' * 4096)\n",
    "x = bytearray(8 * 1024**3)\n",
    "input()\n",
]


def test_hostile_programs_run_concurrently_while_the_event_loop_keeps_ticking():
    sandbox = Sandbox("bwrap", FAST, concurrency=2, cache_size=0)

    async def scenario():
        loop = asyncio.get_running_loop()
        gaps: list[float] = []
        most_in_flight = 0
        done = asyncio.Event()

        async def watchdog() -> None:
            nonlocal most_in_flight
            last = loop.time()
            while not done.is_set():
                await asyncio.sleep(0.01)
                now = loop.time()
                gaps.append(now - last)
                last = now
                most_in_flight = max(most_in_flight, sandbox.in_flight)

        ticking = asyncio.create_task(watchdog())
        results = await asyncio.gather(*(sandbox.run_python(p) for p in HOSTILE))
        done.set()
        await ticking
        return results, gaps, most_in_flight

    results, gaps, most_in_flight = asyncio.run(scenario())
    endless, sleeper, bomb, flood, hog, reader = (r.outcome for r in results)
    assert {endless, bomb} <= {"cpu_limit", "timeout"}
    assert (sleeper, flood, hog, reader) == (
        "timeout",
        "output_limit",
        "memory_limit",
        "waits_for_input",
    )
    # A run that blocked the loop would leave a gap as long as the run (seconds).
    assert len(gaps) > 50 and max(gaps) < 1.0
    assert most_in_flight == 2
    assert sandbox.in_flight == 0
    assert asyncio.run(sandbox.run_python("print('healthy')")).stdout == "healthy\n"


def test_cancelling_a_run_stops_its_sandbox():
    sandbox = Sandbox("bwrap", SandboxLimits(wall_s=30, cpu_s=30), concurrency=1, cache_size=0)

    async def scenario():
        task = asyncio.create_task(sandbox.run_python("import time\ntime.sleep(3600)\n"))
        while sandbox.in_flight == 0:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return await sandbox.run_python("print('next')")

    assert asyncio.run(scenario()).stdout == "next\n"
    assert sandbox.in_flight == 0


def _reachable_by_nobody(path: Path) -> bool:
    return all(p.stat().st_mode & 0o005 for p in [path, *path.parents])


NOBODY_SCRIPT = """
import asyncio, json, sys
sys.path.insert(0, sys.argv[1])
from bugfixer.sandbox import Sandbox, SandboxLimits
sandbox = Sandbox("bwrap", SandboxLimits(wall_s=3, cpu_s=1), concurrency=2)
bomb = '''import os
forks = 0
try:
    while True:
        if os.fork() == 0:
            import time; time.sleep(60); os._exit(0)
        forks += 1
except OSError:
    print(forks)
'''
async def main():
    runs = await asyncio.gather(
        sandbox.run_python("import os; print(os.getuid())"),
        sandbox.run_python("items = []\\nitems[0]\\n"),
        sandbox.run_python(bomb),
    )
    return [[r.outcome, r.stdout.strip(), r.line] for r in runs]
print(json.dumps(asyncio.run(main())))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to nobody needs root")
def test_the_sandbox_works_when_the_server_runs_as_an_unprivileged_user():
    python = "/usr/bin/python3"
    if not (shutil.which("runuser") and os.path.exists(python)):
        pytest.skip("runuser or /usr/bin/python3 is missing")
    if not _reachable_by_nobody(ROOT / "bugfixer"):
        pytest.skip(f"{ROOT} is not readable by nobody")
    done = subprocess.run(
        ["runuser", "-u", "nobody", "--", python, "-I", "-c", NOBODY_SCRIPT, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr
    whoami, crash, bomb = json.loads(done.stdout)
    assert whoami == ["ok", "65534", None]
    assert crash == ["exception", "", 2]
    assert bomb[0] == "ok" and 0 < int(bomb[1]) < 64


def test_settings_choose_the_limits_and_a_missing_bwrap_turns_the_sandbox_off_with_a_warning(
    tmp_path, monkeypatch, caplog
):
    settings = Settings(
        _env_file=None,
        instance_dir=tmp_path,
        sandbox_wall_s=3,
        sandbox_cpu_s=1.5,
        sandbox_memory_mb=128,
        sandbox_file_mb=4,
        sandbox_processes=8,
        sandbox_output_bytes=5000,
        sandbox_concurrency=3,
    )
    sandbox = Sandbox.from_settings(settings)
    assert sandbox.enabled and sandbox.concurrency == 3
    assert sandbox.limits == SandboxLimits(3, 1.5, 128, 4, 8, 5000)

    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    fallback = Settings(_env_file=None, instance_dir=tmp_path)
    assert fallback.sandbox == "off"
    with caplog.at_level("WARNING"):
        assert not Sandbox.from_settings(fallback).enabled
    assert "bubblewrap" in caplog.text
    caplog.clear()
    explicit = Settings(_env_file=None, instance_dir=tmp_path, sandbox="off")
    with caplog.at_level("WARNING"):
        Sandbox.from_settings(explicit)
    assert caplog.text == ""


def test_production_refuses_to_run_without_a_sandbox_unless_off_is_explicit(tmp_path, monkeypatch):
    production = {
        "_env_file": None,
        "instance_dir": tmp_path,
        "env": "production",
        "secret_key": "Qx7vR2pL9mW4tY8kN3bH6jD1sF5gZ0cA-e_uI",
        "public_url": "https://bugfixer.example",
        "stripe_secret_key": "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
        "stripe_webhook_secret": "whsec_x",
        "contact_email": "help@bugfixer.example",
    }
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    with pytest.raises(ValueError, match="BUGFIXER_SANDBOX=off"):
        Settings(**production)
    assert Settings(**production, sandbox="off").sandbox == "off"
    with pytest.raises(ValueError, match="bubblewrap"):
        Settings(**{**production, "env": "development"}, sandbox="bwrap")


def test_the_default_interpreter_is_one_the_sandbox_user_can_run_and_self_test_passes():
    sandbox = Sandbox("bwrap")
    assert sandbox.python is not None
    if os.geteuid() == 0:
        assert _reachable_by_nobody(Path(sandbox.python))
    assert asyncio.run(sandbox.self_test()) is None
