"""Running user programs safely: bubblewrap, resource limits, and a verdict per run.

User code never runs anywhere else: with the sandbox off, every run raises
``SandboxUnavailable``.
"""

from bugfixer.sandbox.core import Sandbox, SandboxUnavailable, has_doctest_examples, join_program
from bugfixer.sandbox.results import LIMIT_OUTCOMES, Outcome, RunResult, SandboxLimits

__all__ = [
    "LIMIT_OUTCOMES",
    "Outcome",
    "RunResult",
    "Sandbox",
    "SandboxLimits",
    "SandboxUnavailable",
    "has_doctest_examples",
    "join_program",
]
