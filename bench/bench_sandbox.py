"""What one sandboxed run costs: `print(1)` under bubblewrap, end to end.

Runs `print(1)` N times through `Sandbox.run_python` (cache off), one at a time and then
two at a time, and prints median and p95 latency per run. For scale it also times the
same interpreter started directly (`python -I -S -c 'print(1)'`, our own one-liner, not
user code), so the difference is what the sandbox adds. Nothing is asserted.

    .venv/bin/python bench/bench_sandbox.py [--runs 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import time

from bugfixer.sandbox import Sandbox


def describe(label: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(f"{label:<34} median {statistics.median(ms):6.1f} ms   p95 {p95:6.1f} ms   n={len(ms)}")


async def timed(sandbox: Sandbox) -> float:
    started = time.perf_counter()
    result = await sandbox.run_python("print(1)")
    elapsed = time.perf_counter() - started
    if result.stdout != "1\n":
        raise SystemExit(f"sandbox run failed: {result.summary()}")
    return elapsed


async def sequential(sandbox: Sandbox, runs: int) -> list[float]:
    return [await timed(sandbox) for _ in range(runs)]


async def concurrent(sandbox: Sandbox, runs: int, width: int) -> list[float]:
    times: list[float] = []
    for _ in range(runs // width):
        times += await asyncio.gather(*(timed(sandbox) for _ in range(width)))
    return times


def bare(python: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([python, "-I", "-S", "-c", "print(1)"], capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="Runs per measurement.")
    args = parser.parse_args()

    sandbox = Sandbox("bwrap", concurrency=2, cache_size=0)
    print(f"interpreter in the sandbox: {sandbox.python}")
    asyncio.run(sequential(sandbox, 3))  # warm the page cache
    describe("bare interpreter, sequential", bare(sandbox.python or "python3", args.runs))
    describe("sandboxed, sequential", asyncio.run(sequential(sandbox, args.runs)))
    describe("sandboxed, 2 at a time", asyncio.run(concurrent(sandbox, args.runs, 2)))


if __name__ == "__main__":
    main()
