"""How many concurrent fixes one `bugfixer serve` process completes, and its own overhead.

Starts a local OpenAI-compatible server that answers after --delay seconds, then one
`bugfixer serve` process using it, then fires N concurrent fixes from N distinct visitors
(no shared cookie). Prints wall time, errors, and the server's own time per fix beyond the
provider's (from the Server-Timing header: total minus provider). Nothing is asserted.

    .venv/bin/python bench/bench_fixes.py [--delay 0.5] [--sizes 100 500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CODE = "import math\n\ndef area(r)\n    return math.pi * r ** 2\n\nprint(area(2))\n"
ERROR = "SyntaxError: expected ':'"


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


async def burst(base: str, n: int) -> tuple[float, list[httpx.Response | Exception]]:
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

        async def one() -> httpx.Response | Exception:
            try:
                # A fresh cookie jar per request: every request is a new visitor.
                return await client.post(
                    "/api/v1/fixes",
                    json={"code": CODE, "error": ERROR, "language": "python"},
                    cookies={},
                )
            except Exception as exc:
                return exc

        # Open the connections first so the measurement is of the server, not TCP set-up.
        await asyncio.gather(*(client.get("/healthz") for _ in range(n)))
        started = time.perf_counter()
        results = await asyncio.gather(*(one() for _ in range(n)))
        return time.perf_counter() - started, results


def report(n: int, wall: float, results: list[httpx.Response | Exception]) -> None:
    ok = [r for r in results if isinstance(r, httpx.Response) and r.status_code == 200]
    errors = len(results) - len(ok)
    overheads = []
    for r in ok:
        t = timings(r.headers.get("server-timing", ""))
        overheads.append(t["total"] - t.get("provider", 0.0))
    med = statistics.median(overheads) if overheads else float("nan")
    p95 = statistics.quantiles(overheads, n=20)[-1] if len(overheads) >= 20 else float("nan")
    print(
        f"{n:>4} concurrent fixes: wall {wall:.2f} s, ok {len(ok)}, errors {errors}, "
        f"server overhead median {med:.2f} ms, p95 {p95:.2f} ms"
    )
    if errors:
        sample = next(
            r for r in results if not (isinstance(r, httpx.Response) and r.status_code == 200)
        )
        print("   first error:", sample if isinstance(sample, Exception) else sample.text[:200])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.5, help="LLM answer delay, seconds.")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500], help="Burst sizes.")
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
            print(
                f"provider delay {args.delay}s, one `bugfixer serve` process, {os.cpu_count()} cores"
            )
            asyncio.run(burst(base, 10))  # warm-up
            for n in args.sizes:
                wall, results = asyncio.run(burst(base, n))
                report(n, wall, results)
        finally:
            for proc in (app, llm):
                proc.terminate()
                proc.wait(10)


if __name__ == "__main__":
    main()
