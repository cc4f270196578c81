"""The benchmarks run in CI in their short mode: no errors and one LLM call per fix.

The timings they print are not asserted (they depend on the machine); what is asserted is
that the benchmark still exercises the real product end to end.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_fix_benchmark_quick_mode_has_no_errors():
    # With the sandbox, as the product runs by default (make test installs bubblewrap).
    sandbox = "bwrap" if shutil.which("bwrap") else "off"
    done = run_bench("bench/bench_fixes.py", "--quick", "--delay", "0.2", "--sandbox", sandbox)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "   20 concurrent" in done.stdout
    assert "errors 0" in done.stdout and "LLM calls 20" in done.stdout
