from __future__ import annotations

import asyncio
import shutil

import pytest

from bugfixer.sandbox import Sandbox, SandboxLimits

if shutil.which("bwrap") is None:  # pragma: no cover - make test installs bubblewrap
    pytest.skip("bubblewrap is not installed (make test installs it)", allow_module_level=True)

# Short limits keep the suite fast; the defaults are exercised by the bench and the app.
FAST = SandboxLimits(wall_s=2.0, cpu_s=1.0, memory_mb=256, output_bytes=20_000)


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    return Sandbox("bwrap", FAST, concurrency=2, cache_size=0)


def run(sandbox: Sandbox, source: str, **kwargs):
    return asyncio.run(sandbox.run_python(source, **kwargs))
