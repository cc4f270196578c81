"""Run a server command (``bugfixer serve``, the image's entrypoint) as a real process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_environ(**extra: str) -> dict[str, str]:
    """This machine's environment without settings of ours, the venv first on PATH."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BUGFIXER_", "OPENAI_", "STRIPE_", "PROMETHEUS_"))
    }
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **extra}


@contextmanager
def running(
    argv: Sequence[str | Path], *, env: dict[str, str], cwd: Path, log: Path, port: int
) -> Iterator[str]:
    """Start ``argv``, wait until it answers /healthz on ``port``, stop it with SIGTERM."""
    with started(argv, env=env, cwd=cwd, log=log, port=port) as (url, _process):
        yield url


@contextmanager
def started(
    argv: Sequence[str | Path], *, env: dict[str, str], cwd: Path, log: Path, port: int
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``running``, with the process too (to signal it)."""
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(a) for a in argv], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90  # workers import the app; a busy machine is slow
            while True:
                assert process.poll() is None, log.read_text()
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"no answer on {url}:\n{log.read_text()}"
                time.sleep(0.05)
            yield url, process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
