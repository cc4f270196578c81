"""The sandbox the fix pipeline and the built-in engine run user programs in."""

from __future__ import annotations

import ast
import asyncio
import hashlib
import logging
import os
import threading
import weakref
from collections import OrderedDict
from typing import Any, Literal

from bugfixer.sandbox import bwrap
from bugfixer.sandbox.results import RunResult, SandboxLimits

log = logging.getLogger(__name__)

_UNCACHED = frozenset({"sandbox_error", "killed"})


class SandboxUnavailable(Exception):
    """Raised instead of ever running user code outside a sandbox."""


class Sandbox:
    """Runs Python programs under bubblewrap, a few at a time, remembering recent results.

    At most ``concurrency`` runs go at once per event loop (and as many again for
    threads using ``run_python_sync``), so a burst of fixes queues here instead of
    forking the machine to death. Results are cached by program and input, because
    the pipeline and the built-in engine often run the same original program.
    """

    def __init__(
        self,
        mode: Literal["bwrap", "off"] = "bwrap",
        limits: SandboxLimits | None = None,
        *,
        concurrency: int | None = None,
        python: str | None = None,
        bwrap_path: str | None = None,
        cache_size: int = 256,
    ) -> None:
        self.mode: Literal["bwrap", "off"] = mode
        self.limits = limits or SandboxLimits()
        self.concurrency = max(1, concurrency or os.cpu_count() or 1)
        self._command: bwrap.Command | None = None
        if mode == "bwrap":
            found = bwrap_path or bwrap.find_bwrap()
            if not found:
                raise SandboxUnavailable(
                    "bubblewrap (bwrap) is not installed; install it or set BUGFIXER_SANDBOX=off"
                )
            if not os.access(found, os.X_OK):
                raise SandboxUnavailable(f"{found} is not an executable bubblewrap")
            self._command = bwrap.Command(
                bwrap=found, python=python or bwrap.default_python(), limits=self.limits
            )
        self._cache: OrderedDict[str, RunResult] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._in_flight = 0
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        self._thread_gate = threading.BoundedSemaphore(self.concurrency)

    @classmethod
    def from_settings(cls, settings: Any) -> Sandbox:
        """Build from ``Settings``; warns when the sandbox is off only for want of bwrap."""
        limits = SandboxLimits(
            wall_s=settings.sandbox_wall_s,
            cpu_s=settings.sandbox_cpu_s,
            memory_mb=settings.sandbox_memory_mb,
            file_mb=settings.sandbox_file_mb,
            processes=settings.sandbox_processes,
            output_bytes=settings.sandbox_output_bytes,
        )
        if settings.sandbox == "off" and getattr(settings, "sandbox_missing", False):
            log.warning(
                "bubblewrap (bwrap) not found: user programs will not be run, fixes are "
                "checked statically only. Install bubblewrap to verify fixes by running them."
            )
        return cls(
            settings.sandbox,
            limits,
            concurrency=settings.sandbox_concurrency,
            python=settings.sandbox_python or None,
        )

    @property
    def enabled(self) -> bool:
        return self.mode == "bwrap"

    @property
    def python(self) -> str | None:
        """The interpreter that runs user programs inside the sandbox."""
        return self._command.python if self._command else None

    @property
    def in_flight(self) -> int:
        """Sandboxed runs in progress right now, from every event loop and thread."""
        return self._in_flight

    async def run_python(self, source: str, *, stdin: str | None = None) -> RunResult:
        return await self._run(source, stdin=stdin, mode="run", code_lines=None)

    def run_python_sync(self, source: str, *, stdin: str | None = None) -> RunResult:
        """For the CLI and worker threads; refuses to block a running event loop."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError("run_python_sync would block the event loop; await run_python")
        self._require()
        key = _key("run", source, stdin)
        if (hit := self._cached(key)) is not None:
            return hit
        with self._thread_gate:
            result = asyncio.run(self._execute(source, stdin=stdin, mode="run", code_lines=None))
        self._remember(key, result)
        return result

    async def run_program(self, code: str, test: str | None = None) -> RunResult:
        """The program, then the user's test after it; the program's line numbers hold."""
        if not test or not test.strip():
            return await self._run(code, stdin=None, mode="run", code_lines=None)
        source, code_lines = join_program(code, test)
        return await self._run(source, stdin=None, mode="run", code_lines=code_lines)

    async def run_doctests(self, code: str) -> RunResult | None:
        """Run the program's docstring examples; None when it has none."""
        self._require()
        if not has_doctest_examples(code):
            return None
        result = await self._run(code, stdin=None, mode="doctest", code_lines=None)
        if result.ok and result.doctests_attempted == 0:
            return None
        return result

    async def self_test(self) -> str | None:
        """None when a trivial program runs, else why not (for start-up and health checks)."""
        if not self.enabled:
            return "the sandbox is off"
        async with self._gate():
            result = await self._execute("print('ok')", stdin=None, mode="run", code_lines=None)
        if result.ok and result.stdout.strip() == "ok":
            return None
        return result.summary()

    async def _run(
        self, source: str, *, stdin: str | None, mode: bwrap.Mode, code_lines: int | None
    ) -> RunResult:
        self._require()
        key = _key(mode, source, stdin, code_lines)
        if (hit := self._cached(key)) is not None:
            return hit
        async with self._gate():
            result = await self._execute(source, stdin=stdin, mode=mode, code_lines=code_lines)
        self._remember(key, result)
        return result

    def _require(self) -> bwrap.Command:
        if self._command is None:
            raise SandboxUnavailable("the sandbox is off (BUGFIXER_SANDBOX=off): code is not run")
        return self._command

    async def _execute(
        self, source: str, *, stdin: str | None, mode: bwrap.Mode, code_lines: int | None
    ) -> RunResult:
        command = self._require()
        with self._lock:
            self._in_flight += 1
        try:
            result = await bwrap.run(command, source, stdin=stdin, mode=mode, code_lines=code_lines)
        finally:
            with self._lock:
                self._in_flight -= 1
        if result.outcome == "sandbox_error":
            log.warning("sandbox failed to start a program: %s", result.stderr.strip()[:500])
        return result

    def _gate(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = asyncio.Semaphore(self.concurrency)
        return gate

    def _cached(self, key: str) -> RunResult | None:
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
            return hit

    def _remember(self, key: str, result: RunResult) -> None:
        if result.outcome in _UNCACHED or self._cache_size <= 0:
            return
        with self._lock:
            self._cache[key] = result
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)


def _key(mode: str, source: str, stdin: str | None, code_lines: int | None = None) -> str:
    digest = hashlib.sha256()
    for part in (mode, str(code_lines), source, "\x00none" if stdin is None else stdin):
        digest.update(part.encode("utf-8", errors="surrogatepass"))
        digest.update(b"\x00\x01")
    return digest.hexdigest()


def join_program(code: str, test: str) -> tuple[str, int]:
    """The program with the test appended; returns the source and the program's line count."""
    body = code if code.endswith("\n") or not code else code + "\n"
    return body + test, body.count("\n")


def has_doctest_examples(code: str) -> bool:
    if ">>>" not in code:
        return False
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            doc = ast.get_docstring(node, clean=False)
            if doc and ">>>" in doc:
                return True
    return False
