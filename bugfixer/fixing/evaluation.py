"""Measuring the fixer on a task file: the real pipeline on every task, judged by a test.

The judge is a test the product never sees (unless asked to show it): the fixed program
passes only if the task's test, appended to it, runs to the end in the sandbox. The
product's own claim (``verification.ok``) is recorded beside the verdict, because a fix
it calls verified that fails the judge is a bug in its honesty, not just a miss.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

from bugfixer.config import Settings
from bugfixer.errors import AppError
from bugfixer.fixing.pipeline import FixInput, Pipeline
from bugfixer.fixing.service import cost_microusd, validate_input
from bugfixer.sandbox import Sandbox

JUDGE_EXCERPT = 600


class TaskFileError(Exception):
    """A task line that cannot be run; the message names the line and the field."""


@dataclass(frozen=True)
class Task:
    id: str
    fix_input: FixInput  # what the product is given: the test only when shown
    test: str  # the judge


@dataclass(frozen=True)
class Outcome:
    """One row of the results file."""

    id: str
    status: str  # fixed | no_fix | error
    verified: bool  # the product's claim
    passed: bool  # the judge's verdict
    seconds: float
    tokens: int
    cost_usd: float
    checks: tuple[str, ...] = ()  # the product's checks that ran and passed: its evidence
    judge: str | None = None  # why the judge failed a fix
    error: str | None = None  # why the task could not be run

    def row(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if v is not None and v != ()}

    @property
    def dishonest(self) -> bool:
        """Claimed verified, yet the judge failed it."""
        return self.verified and not self.passed


# -- the task file -------------------------------------------------------------------------

_FIELDS = {"id": (str, int), "code": (str,), "test": (str,), "error": (str,), "language": (str,)}
_REQUIRED = ("id", "code", "test")


def load_tasks(
    lines: Iterable[str], *, settings: Settings, show_tests: bool, limit: int | None = None
) -> list[Task]:
    """Every task in a JSON Lines file, checked before anything runs.

    Blank lines are skipped; fields other than the five known ones are ignored, so a
    converted benchmark may keep its own metadata. Raises TaskFileError.
    """
    tasks: list[Task] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        task = _parse_task(line, number, settings=settings, show_tests=show_tests)
        if task.id in seen:
            raise TaskFileError(
                f"line {number}: id {task.id!r} is used already, on line {seen[task.id]}"
            )
        seen[task.id] = number
        tasks.append(task)
    if not tasks:
        raise TaskFileError("the task file has no tasks")
    return tasks[:limit] if limit is not None else tasks


def _parse_task(line: str, number: int, *, settings: Settings, show_tests: bool) -> Task:
    where = f"line {number}"
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise TaskFileError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise TaskFileError(f"{where}: a task is a JSON object, not {type(data).__name__}")
    for name in _REQUIRED:
        if name not in data:
            raise TaskFileError(f"{where}: field {name!r} is missing")
    for name, kinds in _FIELDS.items():
        value = data.get(name)
        if value is None and name not in _REQUIRED:
            continue
        if not isinstance(value, kinds) or isinstance(value, bool):
            wanted = "a string or an integer" if int in kinds else "a string"
            raise TaskFileError(f"{where}: field {name!r} must be {wanted}")
    task_id = str(data["id"]).strip()
    if not task_id:
        raise TaskFileError(f"{where}: field 'id' is empty")
    language = data.get("language") or "python"
    if language.strip().lower() not in ("python", "py", "python3"):
        raise TaskFileError(
            f"{where}: field 'language' is {language!r}; only Python tasks can be judged "
            "(the test is Python run after the fixed program)"
        )
    test = data["test"]
    if not test.strip():
        raise TaskFileError(f"{where}: field 'test' is empty; the judge needs a test")
    try:
        compile(test, f"<test of {task_id}>", "exec")
    except (SyntaxError, ValueError) as exc:
        raise TaskFileError(f"{where}: field 'test' does not parse ({exc})") from None
    try:
        fix_input = validate_input(
            code=data["code"],
            error=data.get("error"),
            language="python",
            test=test if show_tests else None,
            settings=settings,
        )
    except AppError as exc:
        raise TaskFileError(f"{where}: {exc.message}") from None
    return Task(id=task_id, fix_input=fix_input, test=test)


# -- running and judging -------------------------------------------------------------------


async def evaluate(pipeline: Pipeline, task: Task, *, settings: Settings) -> Outcome:
    """Fix one task as a user would get it fixed, then judge the program handed back."""
    started = time.perf_counter()
    try:
        attempt = await pipeline.run(task.fix_input)
    except AppError as exc:  # the provider is down, or refused the input
        cause = exc.__cause__
        return Outcome(
            task.id,
            "error",
            verified=False,
            passed=False,
            seconds=round(time.perf_counter() - started, 3),
            tokens=0,
            cost_usd=0.0,
            error=str(cause) if cause else exc.message,
        )
    seconds = round(time.perf_counter() - started, 3)
    prompt_tokens, completion_tokens = attempt.tokens
    micro = sum(
        cost_microusd(settings, c.model, (c.prompt_tokens, c.completion_tokens))
        for c in attempt.calls
    )
    fixed = attempt.fixed_code
    passed, why = (False, None) if fixed is None else await judge(pipeline.sandbox, fixed, task)
    return Outcome(
        task.id,
        "fixed" if fixed is not None else "no_fix",
        verified=attempt.delivered and attempt.verification.ok,
        passed=passed,
        seconds=seconds,
        tokens=prompt_tokens + completion_tokens,
        cost_usd=round(micro / 1_000_000, 6),
        checks=tuple(c.name for c in attempt.verification.checks if c.ok and not c.skipped),
        judge=why,
    )


async def judge(sandbox: Sandbox, fixed_code: str, task: Task) -> tuple[bool, str | None]:
    """Passed, or not and what the sandbox saw: the test appended to the fixed program."""
    run = await sandbox.run_program(fixed_code, task.test)
    if run.ok:
        return True, None
    where = " (in the test)" if run.in_test else ""
    seen = run.summary().rstrip(".") + where + "."
    if run.traceback:
        seen += "\n" + run.traceback.strip()[-JUDGE_EXCERPT:]
    return False, seen


async def evaluate_all(
    pipeline: Pipeline,
    tasks: list[Task],
    *,
    settings: Settings,
    concurrency: int = 1,
    on_done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Every task, ``concurrency`` at a time; ``on_done`` sees each as it finishes."""
    gate = asyncio.Semaphore(concurrency)

    async def one(task: Task) -> Outcome:
        async with gate:
            outcome = await evaluate(pipeline, task, settings=settings)
        if on_done is not None:
            on_done(outcome)
        return outcome

    return list(await asyncio.gather(*(one(task) for task in tasks)))


# -- the summary ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    tasks: int
    passed: int
    no_fix: int
    errors: int
    dishonest: int
    median_s: float
    tokens: int
    cost_usd: float

    @classmethod
    def of(cls, outcomes: list[Outcome]) -> Summary:
        ran = [o.seconds for o in outcomes if o.status != "error"]
        return cls(
            tasks=len(outcomes),
            passed=sum(o.passed for o in outcomes),
            no_fix=sum(o.status == "no_fix" for o in outcomes),
            errors=sum(o.status == "error" for o in outcomes),
            dishonest=sum(o.dishonest for o in outcomes),
            median_s=statistics.median(ran) if ran else 0.0,
            tokens=sum(o.tokens for o in outcomes),
            cost_usd=sum(o.cost_usd for o in outcomes),
        )

    def table(self) -> str:
        def share(count: int) -> str:
            return f"{count} ({100 * count / self.tasks:.1f}%)" if self.tasks else "0"

        rows = [
            ("tasks", str(self.tasks)),
            ("passed", share(self.passed)),
            ("no fix", share(self.no_fix)),
            ("errors", str(self.errors)),
            ("claimed verified but failed", str(self.dishonest)),
            ("median latency", f"{self.median_s:.2f} s"),
            ("tokens", f"{self.tokens:,}"),
            ("cost", f"${self.cost_usd:.4f}"),
        ]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
