"""Hostile programs are contained, and each is reported for what it did."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
from pathlib import Path

from bugfixer.sandbox import Sandbox, SandboxLimits
from tests.sandbox.conftest import FAST, run

WORKTREE = Path(__file__).resolve().parents[2]


def test_writing_outside_the_private_temp_dir_fails_and_touches_nothing(sandbox, tmp_path):
    target = tmp_path / "escaped.txt"
    program = f"""
import json
results = {{}}
for path in ["/usr/evil.txt", "/etc/evil.txt", "/evil.txt", {str(target)!r}, "/tmp/fine.txt"]:
    try:
        with open(path, "w") as f:
            f.write("x")
        results[path] = "written"
    except OSError as exc:
        results[path] = type(exc).__name__
print(json.dumps(results))
"""
    result = run(sandbox, program)
    assert result.ok, result.summary()
    seen = json.loads(result.stdout)
    assert seen.pop("/tmp/fine.txt") == "written"
    assert all(outcome != "written" for outcome in seen.values()), seen
    assert not target.exists()
    assert not Path("/usr/evil.txt").exists() and not Path("/evil.txt").exists()


def test_the_project_files_secrets_and_host_environment_are_invisible(sandbox, monkeypatch):
    monkeypatch.setenv("BUGFIXER_SECRET_KEY", "host-secret-that-must-not-leak-0123456789")
    program = f"""
import os
print(sorted(os.environ))
print(os.path.exists({str(WORKTREE)!r}), os.path.exists("/root"), os.path.exists("/etc/passwd"))
print(len([p for p in os.listdir("/proc") if p.isdigit()]))
"""
    result = run(sandbox, program)
    assert result.ok, result.summary()
    env, visible, processes = result.stdout.splitlines()
    assert env == str(["HOME", "LANG", "PATH", "PWD", "TMPDIR"])
    assert visible == "False False False"
    assert int(processes) <= 3  # bubblewrap's init and the program: the host's are hidden


def test_sockets_reach_neither_the_internet_nor_the_hosts_loopback(sandbox):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 56441))
    listener.listen()
    listener.settimeout(0.2)
    accepted: list[object] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            accepted.append(listener.accept())

    program = """
import socket
outcomes = []
for address in [("1.1.1.1", 80), ("127.0.0.1", 56441)]:
    try:
        socket.create_connection(address, timeout=1)
        outcomes.append("connected")
    except OSError as exc:
        outcomes.append(type(exc).__name__)
print(outcomes)
socket.create_connection(("1.1.1.1", 443), timeout=1)
"""
    try:
        result = run(sandbox, program)
        accept()
    finally:
        listener.close()
    assert "connected" not in result.stdout
    assert accepted == []
    assert result.outcome == "exception"
    assert result.exception == "OSError: [Errno 101] Network is unreachable"
    assert result.line == 11


def test_an_endless_loop_is_stopped_at_the_cpu_limit():
    # A generous wall clock, so that a busy machine cannot turn this into a timeout.
    sandbox = Sandbox("bwrap", SandboxLimits(wall_s=30, cpu_s=1), cache_size=0)
    result = run(sandbox, "n = 0\nwhile True:\n    n += 1\n")
    assert result.outcome == "cpu_limit"
    assert not result.ok
    assert "CPU time" in result.summary()


def test_a_program_that_sleeps_forever_is_stopped_at_the_wall_clock_limit(sandbox):
    result = run(sandbox, "import time\nprint('started', flush=True)\ntime.sleep(3600)\n")
    assert result.outcome == "timeout"
    assert result.stdout == "started\n"
    assert f"{FAST.wall_s:g} s" in result.summary()


def test_an_8_gib_allocation_hits_the_memory_limit(sandbox):
    result = run(sandbox, "data = bytearray(8 * 1024**3)\nprint('allocated')\n")
    assert result.outcome == "memory_limit"
    assert result.exception_type == "MemoryError"
    assert result.line == 1
    assert "allocated" not in result.stdout
    assert "256 MiB" in result.summary()


def _running_with_name(name: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == name:
                found.append(pid)
        except OSError:
            continue
    return found


def test_a_fork_bomb_is_capped_at_the_process_limit_and_leaves_nothing_behind(sandbox):
    name = "bf" + secrets.token_hex(6)
    program = f"""
import os, time
with open("/proc/self/comm", "w") as f:
    f.write({name!r})
forks = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(600)
            os._exit(0)
        forks += 1
except OSError as exc:
    print(forks, type(exc).__name__)
"""
    result = run(sandbox, program)
    assert result.ok, result.summary()
    forks, error = result.stdout.split()
    assert 0 < int(forks) < FAST.processes
    assert error == "BlockingIOError"
    assert _running_with_name(name) == []


def test_a_classic_fork_bomb_is_contained_and_the_next_run_works(sandbox):
    name = "bf" + secrets.token_hex(6)
    program = f"""
import os
with open("/proc/self/comm", "w") as f:
    f.write({name!r})
while True:
    try:
        os.fork()
    except OSError:
        pass
"""
    result = run(sandbox, program)
    assert not result.ok
    assert result.outcome in {"timeout", "cpu_limit"}
    assert _running_with_name(name) == []
    assert run(sandbox, "print('still fine')").stdout == "still fine\n"


def test_reading_stdin_without_input_is_reported_as_waiting_for_input(sandbox):
    result = run(sandbox, "name = input('Your name? ')\nprint('hi', name)\n")
    assert result.outcome == "waits_for_input"
    assert result.line == 1
    assert result.stdout == "Your name? "
    assert "keyboard input" in result.summary()


def test_given_stdin_is_read_by_the_program(sandbox):
    result = run(sandbox, "a = int(input())\nb = int(input())\nprint(a + b)\n", stdin="2\n40\n")
    assert result.ok and result.stdout == "42\n"


def test_huge_output_is_truncated_and_the_program_stopped(sandbox):
    result = run(sandbox, "while True:\n    print('spam' * 100)\n")
    assert result.outcome == "output_limit"
    marker = f"[output truncated after {FAST.output_bytes} bytes]"
    assert result.stdout.endswith(marker)
    assert len(result.stdout) <= FAST.output_bytes + len(marker) + 1
    assert result.stdout.startswith("spamspam")


def test_a_flood_on_stderr_is_bounded_too(sandbox):
    result = run(sandbox, "import sys\nsys.stderr.write('e' * 10_000_000)\n")
    assert result.outcome == "output_limit"
    assert len(result.stderr) < FAST.output_bytes + 100


def test_garbage_written_to_the_launchers_report_is_ignored(sandbox):
    """The program shares the launcher's process and can find its report descriptor."""
    program = """
import os
garbage = b"\\n" + b"[" * 100000 + b"\\n[1, 2]\\n" + b'{"exception": "x", "doctests": [1]}\\n'
for fd in range(3, 64):
    try:
        os.set_blocking(fd, False)  # a full pipe must not hold the program up
        os.write(fd, garbage + b'{"exception": {"line": "many", "type": 7}}\\n')
    except OSError:
        pass
raise ValueError("the real one")
"""
    result = run(sandbox, program)  # it used to raise RecursionError here, in the server
    assert result.outcome == "exception", result.summary()
    assert result.exit_code == 1 and "the real one" in result.stderr


def test_dev_is_read_only_and_dev_shm_is_bounded(sandbox):
    program = """
outcomes = []
for path in ["/dev/fill", "/dev/shm/a", "/dev/shm/b", "/dev/shm/c"]:
    try:
        with open(path, "wb") as f:
            f.write(b"x" * (8 * 1024 * 1024 - 4096))
        outcomes.append("written")
    except OSError as exc:
        outcomes.append(exc.errno)
with open("/dev/null", "w") as f:
    f.write("fine")
print(outcomes)
"""
    result = run(sandbox, program)
    assert result.ok, result.summary()
    # EROFS for /dev itself; /dev/shm fills up (ENOSPC) at the file limit.
    assert result.stdout == "[30, 'written', 'written', 28]\n"


def test_sandboxed_processes_are_the_oom_killers_first_choice(sandbox):
    program = "import os\nif os.fork() == 0:\n    print(open('/proc/self/oom_score_adj').read())\n"
    result = run(sandbox, program + "else:\n    os.wait()\n")
    assert result.stdout.split() == ["1000"]
