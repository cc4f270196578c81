"""What the benchmarks share: free ports, waiting for a server, a process's CPU time."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, timeout: float = 120) -> None:
    """Until ``url`` answers 200; a server starting on a busy machine may take a while."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


@dataclass(frozen=True)
class Cpu:
    own: float  # seconds, the process itself
    children: float  # seconds, its finished child processes (the sandboxed runs)


def cpu_of(pid: int) -> Cpu:
    """User + system CPU time of ``pid`` and of its reaped children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return Cpu((utime + stime) / TICKS, (cutime + cstime) / TICKS)
