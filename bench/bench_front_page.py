"""`GET /` through one `bugfixer serve` process: requests a second and server CPU per request.

Starts one `bugfixer serve` on a fresh SQLite file, configured as in production (secret
key, public URL, a Stripe test key that is never called on a page load; the sandbox off,
since no fix runs), and drives `GET /` with wrk twice: as a new visitor (no cookie, so
every request mints a visitor id and a CSRF token and signs both cookies) and as a
returning one (valid `bf_visitor` and `bf_csrf` cookies, taken from a first visit).
Prints wrk's requests a second and the server process's own CPU time per request (user +
system from /proc/PID/stat before and after): on a shared machine the requests a second
follow the load, while the CPU per request stays steady (1 500 req/s on one core means
at most 667 µs a request). Nothing is asserted.

    .venv/bin/python bench/bench_front_page.py [--duration 10] [--connections 50] [--rounds 3]

Needs wrk (`apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx
from harness import cpu_of, free_port, wait_until_up


@dataclass(frozen=True)
class Run:
    requests: int
    per_second: float
    cpu_us: float  # server CPU per request, microseconds
    bad: int  # non-2xx answers plus socket errors


def wrk(url: str, *, pid: int, args: argparse.Namespace, headers: list[str]) -> Run:
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s"]
    for header in headers:
        command += ["-H", header]
    before = cpu_of(pid).own
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    spent = cpu_of(pid).own - before
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    per_second = float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    if errors := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        bad += sum(int(n) for n in errors.groups())
    return Run(requests, per_second, spent / max(requests, 1) * 1e6, bad)


def production_env(instance: str, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "BUGFIXER_ENV": "production",
        "BUGFIXER_INSTANCE_DIR": instance,
        "BUGFIXER_DATABASE_URL": "",
        "BUGFIXER_SECRET_KEY": secrets.token_urlsafe(48),
        "BUGFIXER_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "BUGFIXER_CONTACT_EMAIL": "help@example.com",
        "BUGFIXER_LOG_LEVEL": "WARNING",
        "BUGFIXER_SANDBOX": "off",
        "BUGFIXER_LLM_PROVIDER": "builtin",
        "STRIPE_SECRET_KEY": "sk_test_" + secrets.token_hex(16),
        "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_hex(16),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="Seconds per wrk run.")
    parser.add_argument("--connections", type=int, default=50, help="wrk's open connections.")
    parser.add_argument("--threads", type=int, default=2, help="wrk's threads.")
    parser.add_argument("--rounds", type=int, default=1, help="Runs of each kind, alternated.")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit(
            "bench_front_page needs wrk, which is not installed (Debian: apt-get install wrk)."
        )

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen(
            [sys.executable, "-m", "bugfixer", "serve", "--port", str(port)],
            cwd=tmp,
            env=production_env(tmp, port),
        )
        try:
            wait_until_up(f"{base}/healthz")
            first = httpx.get(f"{base}/")
            first.raise_for_status()
            cookies = "; ".join(f"{k}={first.cookies[k]}" for k in ("bf_visitor", "bf_csrf"))
            kinds = {
                "new visitor (no cookie)": [],
                "returning visitor (visitor + CSRF cookies)": [f"Cookie: {cookies}"],
            }
            warm = argparse.Namespace(**{**vars(args), "duration": 2})
            wrk(f"{base}/", pid=server.pid, args=warm, headers=[])
            print(
                f"one `bugfixer serve` process, {os.cpu_count()} cores, wrk -t{args.threads} "
                f"-c{args.connections} -d{args.duration}s, load average "
                f"{Path('/proc/loadavg').read_text().split()[0]}"
            )
            for _ in range(args.rounds):
                for label, headers in kinds.items():
                    run = wrk(f"{base}/", pid=server.pid, args=args, headers=headers)
                    print(
                        f"{label}: {run.per_second:,.0f} req/s, server CPU "
                        f"{run.cpu_us:,.0f} µs/request ({run.requests:,} requests"
                        + (f", {run.bad} failed" if run.bad else "")
                        + ")"
                    )
            print(f"load average at the end {Path('/proc/loadavg').read_text().split()[0]}")
        finally:
            server.terminate()
            server.wait(15)


if __name__ == "__main__":
    main()
