"""Fixes through one `bugfixer serve` process: throughput, the server's CPU per fix, LLM calls.

Starts a local OpenAI-compatible server that answers after --delay seconds with a real
fix, then one `bugfixer serve` process using it, then fires N concurrent fixes from N
distinct visitors, each a different program (so no cached sandbox run helps). Prints,
per burst: wall time, errors, LLM calls counted at the fake server, the server process's
own CPU time per fix, and the CPU time of the sandboxed runs it started. Then a steady
run, a few fixes at a time, for latency beyond the provider's: the client-observed time
minus the provider's fixed delay, so time spent waiting for a busy event loop is booked
as the server's. Nothing is asserted, except with --quick (CI): no errors and one LLM
call per fix.

    .venv/bin/python bench/bench_fixes.py [--delay 0.5] [--sizes 100 1000] [--sandbox off]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
from harness import cpu_of, free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
serial = itertools.count()
BUG = "print('total: ' + sum(items))"
FIX = "print('total: ' + str(sum(items)))"
ERROR = 'TypeError: can only concatenate str (not "int") to str'


def program() -> str:
    """A different program each time (its first line), with the same bug."""
    return f"# request {next(serial)}\nitems = [1, 2, 3]\n{BUG}\n"


def llm_calls(llm_base: str) -> int:
    return httpx.get(f"{llm_base}/_stats", timeout=5).json()["requests"]


@dataclass
class Outcome:
    status: int
    fixed: bool
    seconds: float


async def fire(base: str, n: int, *, concurrency: int | None = None) -> list[Outcome | Exception]:
    """n fixes, each from a new visitor (no cookie is ever kept), at most `concurrency` at once."""
    connector = aiohttp.TCPConnector(limit=concurrency or n)
    async with aiohttp.ClientSession(
        base, connector=connector, cookie_jar=aiohttp.DummyCookieJar()
    ) as client:

        async def ping() -> None:
            async with client.get("/healthz") as r:
                await r.read()

        # Open the connections first so the measurement is of the server, not TCP set-up.
        await asyncio.gather(*(ping() for _ in range(min(n, concurrency or n))))

        async def one() -> Outcome | Exception:
            started = time.perf_counter()
            try:
                async with client.post(
                    "/api/v1/fixes",
                    json={"code": program(), "error": ERROR, "language": "python"},
                    headers={"User-Agent": f"bench-visitor/{next(serial)}"},
                ) as r:
                    text = await r.text()
                    return Outcome(
                        r.status,
                        '"status":"fixed"' in text.replace(" ", ""),
                        time.perf_counter() - started,
                    )
            except Exception as exc:
                return exc

        if concurrency is None:
            return list(await asyncio.gather(*(one() for _ in range(n))))
        gate = asyncio.Semaphore(concurrency)

        async def gated() -> Outcome | Exception:
            async with gate:
                return await one()

        return list(await asyncio.gather(*(gated() for _ in range(n))))


def measure(label: str, base: str, llm: str, pid: int, n: int, **kw: int) -> tuple[int, int]:
    calls_before, cpu_before = llm_calls(llm), cpu_of(pid)
    started = time.perf_counter()
    results = asyncio.run(fire(base, n, **kw))
    wall = time.perf_counter() - started
    # The last sandboxed runs are reaped a moment after their fixes answer.
    time.sleep(0.3)
    cpu_after, calls = cpu_of(pid), llm_calls(llm) - calls_before
    ok = [r for r in results if isinstance(r, Outcome) and r.status == 200 and r.fixed]
    errors = n - len(ok)
    own = (cpu_after.own - cpu_before.own) / n * 1000
    runs = (cpu_after.children - cpu_before.children) / n * 1000
    print(
        f"{label}: wall {wall:.2f} s, fixed {len(ok)}, errors {errors}, LLM calls {calls}, "
        f"server CPU {own:.2f} ms/fix, sandboxed runs' CPU {runs:.2f} ms/fix"
    )
    if errors:
        bad = next(r for r in results if not (isinstance(r, Outcome) and r.fixed))
        print("   first error:", bad)
    return errors, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.5, help="LLM answer delay, seconds.")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000], help="Burst sizes.")
    parser.add_argument("--steady", type=int, default=100, help="Fixes for the latency run.")
    parser.add_argument(
        "--sandbox",
        default="bwrap",
        choices=["bwrap", "off"],
        help="Run programs to verify fixes (bwrap) or not (off).",
    )
    parser.add_argument("--database-url", default="", help="Default: a fresh SQLite file.")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="CI: small bursts; exit 1 on any error or extra LLM call.",
    )
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.steady = [20], 8

    llm_port, app_port = free_port(), free_port()
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "BUGFIXER_INSTANCE_DIR": tmp,
            "BUGFIXER_DATABASE_URL": args.database_url,
            "BUGFIXER_LLM_PROVIDER": "openai",
            "BUGFIXER_LLM_BASE_URL": f"http://127.0.0.1:{llm_port}/v1",
            "BUGFIXER_LLM_API_KEY": "sk-bench",
            "BUGFIXER_LLM_MODEL": "bench-model",
            "BUGFIXER_LOG_LEVEL": "WARNING",
            "BUGFIXER_SANDBOX": args.sandbox,
            # One loopback address sends everything; the per-address limits are not under test.
            "BUGFIXER_RATE_LIMIT_FIX_IP": "",
            "BUGFIXER_FREE_FIXES_PER_NETWORK_PER_DAY": "0",
        }
        llm = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.fake_llm",
                "--port",
                str(llm_port),
                "--delay",
                str(args.delay),
                "--replace",
                BUG,
                FIX,
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        app = subprocess.Popen(
            [str(BIN / "bugfixer"), "serve", "--port", str(app_port)], cwd=tmp, env=env
        )
        try:
            llm_base = f"http://127.0.0.1:{llm_port}"
            wait_until_up(f"{llm_base}/v1/models")
            base = f"http://127.0.0.1:{app_port}"
            wait_until_up(f"{base}/healthz")
            print(
                f"provider delay {args.delay} s, sandbox {args.sandbox}, one `bugfixer serve` "
                f"process, {os.cpu_count()} cores"
            )
            asyncio.run(fire(base, 10))  # warm-up
            for n in args.sizes:
                errors, calls = measure(f"{n:>5} concurrent", base, llm_base, app.pid, n)
                failures += errors + abs(calls - n)
            started = time.perf_counter()
            steady = asyncio.run(fire(base, args.steady, concurrency=4))
            elapsed = time.perf_counter() - started
            beyond = sorted(
                (r.seconds - args.delay) * 1000 for r in steady if isinstance(r, Outcome)
            )
            failures += sum(1 for r in steady if not (isinstance(r, Outcome) and r.fixed))
            print(
                f"steady load ({args.steady} fixes, 4 at a time, {elapsed:.1f} s): time beyond "
                f"the provider's {args.delay} s median {statistics.median(beyond):.1f} ms, "
                f"p95 {beyond[int(len(beyond) * 0.95) - 1]:.1f} ms"
            )
        finally:
            for proc in (app, llm):
                proc.terminate()
                proc.wait(10)
    if args.quick and failures:
        raise SystemExit(f"{failures} errors or unexpected LLM calls")


if __name__ == "__main__":
    main()
