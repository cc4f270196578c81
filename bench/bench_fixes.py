"""How many concurrent fixes one `bugfixer serve` process completes, and its own overhead.

Starts a local OpenAI-compatible server that answers after --delay seconds, then one
`bugfixer serve` process using it, then fires N concurrent fixes from N distinct visitors
(no shared cookie). Prints wall time, errors, and the server's own time per fix beyond the
provider's (from the Server-Timing header: total minus provider). Nothing is asserted.

    .venv/bin/python bench/bench_fixes.py [--delay 0.5] [--sizes 100 500]

Under a burst the "provider" share also holds the time replies wait for the busy event
loop, so the steady run (a few fixes at a time) is the one that measures our overhead.
Set BENCH_PROFILE=FILE to record the server with py-spy (pip install py-spy) meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parents[1]
serial = itertools.count()
BIN = Path(sys.executable).parent
# The fake LLM echoes the code back as the "fix"; this code parses, so every fix passes
# verification on the first try and is charged: the full successful path is measured.
CODE = "items = [1, 2, 3]\nprint('total: ' + sum(items))\n"
ERROR = 'TypeError: can only concatenate str (not "int") to str'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def timings(header: str) -> dict[str, float]:
    return {k: float(v) for k, v in re.findall(r"(\w+);dur=([\d.]+)", header)}


@dataclass
class Reply:
    status: int
    server_timing: str
    text: str


async def burst(base: str, n: int) -> tuple[float, list[Reply | Exception]]:
    """n concurrent fixes, each from a new visitor (no cookie is ever kept)."""
    connector = aiohttp.TCPConnector(limit=n)
    async with aiohttp.ClientSession(
        base, connector=connector, cookie_jar=aiohttp.DummyCookieJar()
    ) as client:

        async def one() -> Reply | Exception:
            try:
                # No cookie is kept and each has its own User-Agent: n distinct visitors.
                async with client.post(
                    "/api/v1/fixes",
                    json={"code": CODE, "error": ERROR, "language": "python"},
                    headers={"User-Agent": f"bench-visitor/{next(serial)}"},
                ) as r:
                    return Reply(r.status, r.headers.get("server-timing", ""), await r.text())
            except Exception as exc:
                return exc

        async def ping() -> None:
            async with client.get("/healthz") as r:
                await r.read()

        # Open the connections first so the measurement is of the server, not TCP set-up.
        await asyncio.gather(*(ping() for _ in range(n)))
        started = time.perf_counter()
        results = await asyncio.gather(*(one() for _ in range(n)))
        return time.perf_counter() - started, results


async def steady_overhead(base: str, n: int, *, concurrency: int) -> list[float]:
    """Our own time per fix when the server is not queueing: total minus provider."""
    overheads: list[float] = []
    phases: list[dict[str, float]] = []
    async with aiohttp.ClientSession(base, cookie_jar=aiohttp.DummyCookieJar()) as client:

        async def worker(count: int) -> None:
            for _ in range(count):
                async with client.post(
                    "/api/v1/fixes",
                    json={"code": CODE, "error": ERROR, "language": "python"},
                    headers={"User-Agent": f"bench-visitor/{next(serial)}"},
                ) as r:
                    await r.read()
                    t = timings(r.headers.get("server-timing", ""))
                    overheads.append(t["total"] - t.get("provider", 0.0))
                    phases.append(t)

        await asyncio.gather(*(worker(n // concurrency) for _ in range(concurrency)))
    names = sorted({k for t in phases for k in t})
    print(
        "      median ms per phase: "
        + ", ".join(f"{k} {statistics.median(t.get(k, 0) for t in phases):.2f}" for k in names)
    )
    return overheads


def report(n: int, wall: float, results: list[Reply | Exception]) -> None:
    ok = [r for r in results if isinstance(r, Reply) and r.status == 200 and '"fixed"' in r.text]
    errors = len(results) - len(ok)
    overheads = []
    for r in ok:
        t = timings(r.server_timing)
        overheads.append(t["total"] - t.get("provider", 0.0))
    med = statistics.median(overheads) if overheads else float("nan")
    p95 = statistics.quantiles(overheads, n=20)[-1] if len(overheads) >= 20 else float("nan")
    print(
        f"{n:>4} concurrent fixes: wall {wall:.2f} s, ok {len(ok)}, errors {errors}, "
        f"server overhead median {med:.2f} ms, p95 {p95:.2f} ms"
    )
    phases: dict[str, list[float]] = {}
    for r in ok:
        for name, ms in timings(r.server_timing).items():
            phases.setdefault(name, []).append(ms)
    print(
        "      median ms per phase: "
        + ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in sorted(phases.items()))
    )
    if errors:
        bad = next(r for r in results if not (isinstance(r, Reply) and r.status == 200))
        print("   first error:", bad if isinstance(bad, Exception) else bad.text[:200])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.5, help="LLM answer delay, seconds.")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500], help="Burst sizes.")
    parser.add_argument("--steady", type=int, default=100, help="Fixes for the overhead run.")
    parser.add_argument("--database-url", default="", help="Default: a fresh SQLite file.")
    args = parser.parse_args()

    llm_port, app_port = free_port(), free_port()
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
            "BUGFIXER_SERVER_TIMING": "true",  # the overhead figures come from it
            # One loopback address sends everything; the per-IP limit is not under test.
            "BUGFIXER_RATE_LIMIT_FIX_IP": "100000/minute",
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
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        app = subprocess.Popen(
            [str(BIN / "bugfixer"), "serve", "--port", str(app_port)], cwd=tmp, env=env
        )
        try:
            wait_until_up(f"http://127.0.0.1:{llm_port}/v1/models")
            base = f"http://127.0.0.1:{app_port}"
            wait_until_up(f"{base}/healthz")
            cores = os.cpu_count()
            print(f"provider delay {args.delay}s, one `bugfixer serve` process, {cores} cores")
            asyncio.run(burst(base, 10))  # warm-up
            if os.environ.get("BENCH_PROFILE"):  # py-spy the server while it works
                subprocess.Popen(
                    [
                        str(BIN / "py-spy"),
                        "record",
                        "--gil",
                        "-f",
                        "raw",
                        "-d",
                        "8",
                        "-o",
                        os.environ["BENCH_PROFILE"],
                        "-p",
                        str(app.pid),
                    ],
                )
                time.sleep(1)
            for n in args.sizes:
                wall, results = asyncio.run(burst(base, n))
                report(n, wall, results)
            steady = asyncio.run(steady_overhead(base, args.steady, concurrency=4))
            print(
                f"steady load ({args.steady} fixes, 4 at a time): server time beyond the "
                f"provider's median {statistics.median(steady):.2f} ms, "
                f"p95 {statistics.quantiles(steady, n=20)[-1]:.2f} ms"
            )
        finally:
            for proc in (app, llm):
                proc.terminate()
                proc.wait(10)


if __name__ == "__main__":
    main()
