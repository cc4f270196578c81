"""One sandboxed Python run under bubblewrap: the command line, the process, the verdict.

The layout inside: /usr (and the interpreter's own prefix) read-only, an empty private
/tmp of ``file_mb`` holding main.py and serving as the working directory, fresh /proc and
/dev, nothing else (no /etc, no /home, no project files, no secrets). Every namespace is
new, so there is no network, and the environment is scrubbed. When the server runs as
root, bubblewrap is started as ``nobody``: the kernel never applies the process-count
limit to root, and an unprivileged sandbox is the smaller risk anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from bugfixer.sandbox.results import RunResult, SandboxLimits

Mode = Literal["run", "doctest"]
MAIN = "/tmp/main.py"
NOBODY = 65534
SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"
_READ_CHUNK = 65536
_REPORT_MAX = 256 * 1024
_GRACE_S = 2.0


@cache
def launcher_source() -> str:
    return (Path(__file__).with_name("_launcher.py")).read_text(encoding="utf-8")


def default_python() -> str:
    """The server's own interpreter, unless the sandbox user could not reach it."""
    own = os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
    if os.geteuid() != 0 or _world_readable(own):
        return own
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(candidate) and _world_readable(os.path.realpath(candidate)):
            return os.path.realpath(candidate)
    return own


def _world_readable(path: str) -> bool:
    """True when ``nobody`` can open every directory on the way and run the file."""
    p = Path(path)
    try:
        if p.stat().st_mode & 0o005 != 0o005:
            return False
        return all(parent.stat().st_mode & 0o001 for parent in p.parents)
    except OSError:
        return False


def find_bwrap() -> str | None:
    return shutil.which("bwrap")


@dataclass(frozen=True)
class Command:
    """The parts of a bubblewrap command line that do not change between runs."""

    bwrap: str
    python: str
    limits: SandboxLimits

    def __post_init__(self) -> None:
        _static_options(self.python, self.limits.file_mb)  # now, not inside an event loop

    def argv(self, *, source_fd: int, report_fd: int, info_fd: int, mode: Mode) -> list[str]:
        limits = self.limits
        return [
            *self.run_as,
            self.bwrap,
            *_static_options(self.python, limits.file_mb),
            "--info-fd",
            str(info_fd),
            "--file",
            str(source_fd),
            MAIN,
            self.python,
            "-I",
            "-S",
            "-B",
            "-X",
            "utf8",
            "-c",
            launcher_source(),
            str(report_fd),
            mode,
            str(max(1, math.ceil(limits.cpu_s))),
            str(limits.memory_mb * 1024 * 1024),
            str(limits.file_mb * 1024 * 1024),
            str(limits.processes),
        ]

    @property
    def run_as(self) -> list[str]:
        """As root, drop to nobody first. Done by setpriv rather than Popen's user/group
        arguments, which uvloop (uvicorn's event loop) does not support."""
        if os.geteuid() != 0:
            return []
        return [SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]


@cache
def _static_options(python: str, file_mb: int) -> tuple[str, ...]:
    options = [
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--die-with-parent",
        "--as-pid-1",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--hostname",
        "sandbox",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for name in ("bin", "lib", "lib64", "sbin"):
        target = f"/{name}"
        if os.path.islink(target):
            options += ["--symlink", os.readlink(target), target]
        elif os.path.isdir(target):
            options += ["--ro-bind", target, target]
    for folder in _folders_of(python):
        if folder != "/usr" and not folder.startswith("/usr/"):
            options += ["--ro-bind", folder, folder]
    size = str(file_mb * 1024 * 1024)
    options += [
        "--proc",
        "/proc",
        # bubblewrap's /dev is a tmpfs of its own: read-only, with a bounded /dev/shm.
        "--dev",
        "/dev",
        "--size",
        size,
        "--tmpfs",
        "/dev/shm",
        "--remount-ro",
        "/dev",
        "--size",
        size,
        "--tmpfs",
        "/tmp",
        "--remount-ro",
        "/",
        "--chdir",
        "/tmp",
        "--clearenv",
        "--setenv",
        "PATH",
        "/usr/local/bin:/usr/bin:/bin",
        "--setenv",
        "HOME",
        "/tmp",
        "--setenv",
        "TMPDIR",
        "/tmp",
        "--setenv",
        "LANG",
        "C.UTF-8",
    ]
    return tuple(options)


@cache
def _folders_of(python: str) -> tuple[str, ...]:
    """The folders the interpreter needs: where it lives and its standard library's prefix.

    Asked of the interpreter itself (our own one-liner, once), so a venv or an unusual
    layout is bound correctly; the layout ``PREFIX/bin/python`` is assumed if that fails.
    """
    executable = os.path.realpath(python)
    folders = {os.path.dirname(executable)}
    try:
        answer = subprocess.run(
            [executable, "-I", "-S", "-c", "import sys; print(sys.base_prefix)"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        folders.add(os.path.realpath(answer.stdout.strip()))
    except (OSError, subprocess.SubprocessError):
        folders.add(os.path.dirname(os.path.dirname(executable)))
    kept = sorted(f for f in folders if f and f != "/")
    return tuple(f for f in kept if not any(f.startswith(other + "/") for other in kept))


class _Capped:
    """Keeps the first ``limit`` bytes of a stream and notes whether there was more."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()
        self.overflowed = False

    def add(self, chunk: bytes) -> bool:
        room = self.limit - len(self.data)
        if len(chunk) > room:
            self.data += chunk[: max(room, 0)]
            self.overflowed = True
            return False
        self.data += chunk
        return True

    def text(self) -> str:
        text = self.data.decode("utf-8", errors="replace")
        if self.overflowed:
            text += f"\n[output truncated after {self.limit} bytes]"
        return text


async def run(
    command: Command, source: str, *, stdin: str | None, mode: Mode, code_lines: int | None
) -> RunResult:
    """Run ``source`` once; never raises for anything the program does.

    A cancelled run (the user went away) still stops its sandbox before it gives up.
    """
    limits = command.limits
    started = time.perf_counter()
    source_fd = _memfd(source)
    report_r, report_w = os.pipe()
    info_r, info_w = os.pipe()
    cancelled = False
    try:
        spawn = asyncio.ensure_future(
            asyncio.create_subprocess_exec(
                *command.argv(source_fd=source_fd, report_fd=report_w, info_fd=info_w, mode=mode),
                stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                pass_fds=(source_fd, report_w, info_w),
                start_new_session=True,
                env={},
            )
        )
        try:
            # asyncio hangs when the creation of a subprocess is cancelled midway, so a
            # cancellation lets it finish (milliseconds) and then stops what it started.
            proc = await asyncio.shield(spawn)
        except asyncio.CancelledError:
            cancelled = True
            proc = await spawn
    except OSError as exc:
        os.close(report_r)
        os.close(info_r)
        if cancelled:
            raise asyncio.CancelledError from exc
        return _sandbox_error(f"bwrap: {exc}", started, limits)
    finally:
        for fd in (source_fd, report_w, info_w):
            os.close(fd)

    box = _Box(proc, info_r, limits.output_bytes, stdin)
    try:
        if cancelled:
            raise asyncio.CancelledError
        timed_out = await box.wait(limits.wall_s)
        await box.finish()
    except asyncio.CancelledError:
        await box.kill()
        await box.finish()
        raise
    finally:
        box.stop()
        os.close(info_r)
        report = _read_all(report_r)
        os.close(report_r)
    return judge(
        exit_code=proc.returncode,
        stdout=box.out.text(),
        stderr=box.err.text(),
        report=report,
        timed_out=timed_out,
        overflow=box.out.overflowed or box.err.overflowed,
        seconds=time.perf_counter() - started,
        limits=limits,
        code_lines=code_lines,
    )


class _Box:
    """A running bubblewrap process: feeds it, drains it, and stops all of it at once.

    The launcher is PID 1 of the sandbox (``--as-pid-1``), so bubblewrap reaps it itself
    and only after the kernel has removed every process of the PID namespace: nothing
    of a run outlives ``run``, and no zombie is left to a host init that may never reap
    it. Stopping therefore kills that PID 1 (its host pid comes from ``--info-fd``), not
    bubblewrap. The pipes are drained to the end even past the output limit, so that
    asyncio always sees them close.
    """

    def __init__(
        self, proc: asyncio.subprocess.Process, info_fd: int, output_bytes: int, stdin: str | None
    ):
        self.proc = proc
        self.info_fd = info_fd
        self.out = _Capped(output_bytes)
        self.err = _Capped(output_bytes)
        self._init_pid: int | None = None
        self._tasks = [
            asyncio.ensure_future(self._pump(proc.stdout, self.out)),
            asyncio.ensure_future(self._pump(proc.stderr, self.err)),
            asyncio.ensure_future(self._feed(stdin)),
        ]

    async def wait(self, wall_s: float) -> bool:
        """Wait for the end of the run; True when the wall-clock limit ended it."""
        try:
            await asyncio.wait_for(asyncio.shield(self.proc.wait()), timeout=wall_s)
        except TimeoutError:
            await self.kill()
            return True
        return False

    async def finish(self) -> None:
        """Collect the last output; the pipes close with the sandbox's last process."""
        _done, pending = await asyncio.wait(self._tasks, timeout=_GRACE_S)
        for task in pending:
            task.cancel()

    async def kill(self) -> None:
        self.stop()
        try:
            await asyncio.wait_for(asyncio.shield(self.proc.wait()), timeout=_GRACE_S)
        except TimeoutError:
            self.stop(everything=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.proc.wait()), timeout=_GRACE_S)

    def stop(self, *, everything: bool = False) -> None:
        if self.proc.returncode is not None:
            return
        init_pid = self._sandbox_init_pid()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if init_pid and not everything:
                os.kill(init_pid, signal.SIGKILL)
            else:
                os.killpg(self.proc.pid, signal.SIGKILL)

    def _sandbox_init_pid(self) -> int | None:
        if self._init_pid is None:
            with contextlib.suppress(ValueError, KeyError, OSError):
                info = json.loads(_read_all(self.info_fd) or b"{}")
                self._init_pid = int(info["child-pid"])
        return self._init_pid

    async def _pump(self, stream: asyncio.StreamReader | None, buf: _Capped) -> None:
        assert stream is not None
        while chunk := await stream.read(_READ_CHUNK):
            if not buf.add(chunk):
                self.stop()

    async def _feed(self, stdin: str | None) -> None:
        if stdin is None or self.proc.stdin is None:
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.proc.stdin.write(stdin.encode("utf-8"))
            await self.proc.stdin.drain()
            self.proc.stdin.close()


def _memfd(source: str) -> int:
    fd = os.memfd_create("main.py", 0)
    data = source.encode("utf-8", errors="surrogatepass")
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _read_all(fd: int) -> bytes:
    os.set_blocking(fd, False)
    chunks = bytearray()
    with contextlib.suppress(BlockingIOError):
        while len(chunks) < _REPORT_MAX and (chunk := os.read(fd, _READ_CHUNK)):
            chunks += chunk
    return bytes(chunks)


def _sandbox_error(message: str, started: float, limits: SandboxLimits) -> RunResult:
    return RunResult(
        outcome="sandbox_error",
        exit_code=None,
        stdout="",
        stderr=message,
        exception=None,
        exception_type=None,
        traceback=None,
        line=None,
        seconds=time.perf_counter() - started,
        limits=limits,
    )


def _hide_paths(text: str | None) -> str | None:
    return None if text is None else text.replace(MAIN, "main.py")


def judge(
    *,
    exit_code: int | None,
    stdout: str,
    stderr: str,
    report: bytes,
    timed_out: bool,
    overflow: bool,
    seconds: float,
    limits: SandboxLimits,
    code_lines: int | None,
) -> RunResult:
    """Turn what the host saw (exit status, output, the launcher's report) into a verdict."""
    started = report.startswith(b"S")
    details = _launcher_details(report[1:] if started else b"")
    exc = _typed(details.get("exception"), _EXCEPTION_FIELDS)
    doctests = _typed(details.get("doctests"), _DOCTEST_FIELDS)
    if "first_failure" in doctests:
        doctests["first_failure"] = _typed(doctests["first_failure"], _FAILURE_FIELDS)
    stderr = _hide_paths(stderr) or ""

    exc_type = exc.get("type")
    message = exc.get("message", "")
    exception = (f"{exc_type}: {message}" if message else exc_type) if exc_type else None
    line = exc.get("line")
    if doctests.get("failed"):
        first = doctests.get("first_failure") or {}
        exc_type = "DocTestFailure"
        exception = (
            f"{doctests['failed']} of {doctests['attempted']} docstring examples failed; "
            f"the first, {first.get('source', '?')}, {first.get('detail', 'failed')}"
        )
        line = first.get("line")

    if not started:
        outcome = "sandbox_error"
    elif overflow:
        outcome = "output_limit"
    elif timed_out:
        outcome = "timeout"
    elif exit_code == 128 + signal.SIGXCPU or (
        # Past the soft limit a program stuck in C code gets the hard limit's SIGKILL.
        exit_code == 128 + signal.SIGKILL and seconds >= limits.cpu_s
    ):
        outcome = "cpu_limit"
    elif exc_type == "MemoryError" or (exc_type and "[Errno 12]" in message):
        outcome = "memory_limit"
    elif exc.get("eof_from_input"):
        outcome = "waits_for_input"
    elif exc_type or doctests.get("failed"):
        outcome = "exception"
    elif exit_code == 0:
        outcome = "ok"
    elif exit_code is not None and exit_code > 128 and _is_signal(exit_code - 128):
        outcome = "killed"
    else:
        outcome = "exception"

    in_test = code_lines is not None and line is not None and line > code_lines
    return RunResult(
        outcome=outcome,  # type: ignore[arg-type]
        exit_code=exit_code,
        stdout=_hide_paths(stdout) or "",
        stderr=stderr,
        exception=exception,
        exception_type=exc_type,
        traceback=_hide_paths(exc.get("traceback")),
        line=line,
        seconds=seconds,
        in_test=in_test,
        test_line=(line - code_lines) if in_test and line and code_lines is not None else None,
        doctests_attempted=int(doctests.get("attempted", 0)),
        doctests_failed=int(doctests.get("failed", 0)),
        limits=limits,
    )


# What each field of the launcher's report must be. The program runs in the launcher's
# process and can write to the report's descriptor too: what does not fit is dropped.
_EXCEPTION_FIELDS: dict[str, type | tuple[type, ...]] = {
    "type": str,
    "message": str,
    "traceback": str,
    "line": int,
    "eof_from_input": bool,
}
_DOCTEST_FIELDS: dict[str, type | tuple[type, ...]] = {
    "attempted": int,
    "failed": int,
    "first_failure": dict,
}
_FAILURE_FIELDS: dict[str, type | tuple[type, ...]] = {"source": str, "detail": str, "line": int}


def _launcher_details(lines: bytes) -> dict[str, Any]:
    details: dict[str, Any] = {}
    for line in lines.splitlines():
        try:
            item = json.loads(line)
        except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
            continue
        if isinstance(item, dict):
            details.update(item)
    return details


def _typed(value: Any, fields: dict[str, type | tuple[type, ...]]) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    kept = {}
    for name, kind in fields.items():
        item = value.get(name)
        is_int = kind is int
        if isinstance(item, kind) and not (is_int and isinstance(item, bool)):
            kept[name] = item
    return kept


def _is_signal(number: int) -> bool:
    try:
        signal.Signals(number)
    except ValueError:
        return False
    return True
