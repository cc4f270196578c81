"""The folder where several worker processes write their metrics, to be added up.

Kept apart from ``metrics`` because prometheus_client picks its mode (one process or
many) when it is first imported: a server sets the folder up with this module before
anything imports prometheus_client, and its workers inherit the variable.
"""

from __future__ import annotations

import os
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def prepare_multiprocess_dir(path: Path) -> None:
    """Create the folder, or empty one a previous run left: old files would be added in."""
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
