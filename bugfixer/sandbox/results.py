"""What a sandboxed run may use, and what it did."""

from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import Literal

Outcome = Literal[
    "ok",
    "exception",
    "timeout",
    "cpu_limit",
    "memory_limit",
    "output_limit",
    "waits_for_input",
    "killed",
    "sandbox_error",
]

LIMIT_OUTCOMES: frozenset[str] = frozenset({"timeout", "cpu_limit", "memory_limit", "output_limit"})


@dataclass(frozen=True)
class SandboxLimits:
    """Per run. Processes count threads too; memory is address space per process."""

    wall_s: float = 5.0
    cpu_s: float = 2.0
    memory_mb: int = 256
    file_mb: int = 16
    processes: int = 64
    output_bytes: int = 64_000


@dataclass(frozen=True)
class RunResult:
    outcome: Outcome
    exit_code: int | None
    stdout: str
    stderr: str
    exception: str | None
    exception_type: str | None
    traceback: str | None
    line: int | None
    seconds: float
    in_test: bool = False
    """The line is in the user's test (appended after the program), not in the program."""
    test_line: int | None = None
    """The same line counted from the first line of the test, when it is in the test."""
    doctests_attempted: int = 0
    doctests_failed: int = 0
    limits: SandboxLimits | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    def summary(self) -> str:
        """One plain sentence, for users and for a repair prompt."""
        where = self._where()
        limits = self.limits or SandboxLimits()
        match self.outcome:
            case "ok":
                return "It ran to the end without an error."
            case "exception" if self.exception_type == "DocTestFailure":
                return f"{self.exception}{where}."
            case "exception" if self.exception_type == "SystemExit":
                return f"It stopped with sys.exit({self._exit_argument()}){where}."
            case "exception" if self.exception:
                return f"It raised {self.exception}{where}."
            case "exception":
                return f"It exited with status {self.exit_code}."
            case "timeout":
                return (
                    f"It was stopped after {limits.wall_s:g} s, the time limit; "
                    "it may never finish."
                )
            case "cpu_limit":
                return (
                    f"It used more than {limits.cpu_s:g} s of CPU time and was stopped; "
                    "it may never finish."
                )
            case "memory_limit":
                return f"It ran out of memory (the limit is {limits.memory_mb} MiB){where}."
            case "output_limit":
                return f"It printed more than {limits.output_bytes} bytes and was stopped."
            case "waits_for_input":
                return f"It waits for keyboard input{where}, which a check cannot type."
            case "killed":
                return f"It was killed by {self._signal_name()}."
            case _:
                first = self.stderr.strip().splitlines()[:1]
                detail = f": {first[0]}" if first else ""
                return f"The sandbox could not run it{detail}."

    def _where(self) -> str:
        if self.line is None:
            return ""
        if self.in_test and self.test_line is not None:
            return f" on line {self.test_line} of the test"
        return f" on line {self.line}"

    def _exit_argument(self) -> str:
        if self.exception and ": " in self.exception:
            argument = self.exception.split(": ", 1)[1]
            return argument if argument.lstrip("-").isdigit() else repr(argument)
        return str(self.exit_code)

    def _signal_name(self) -> str:
        if self.exit_code is not None and self.exit_code > 128:
            try:
                return signal.Signals(self.exit_code - 128).name
            except ValueError:
                pass
        return "a signal"
