"""``bugfixer eval``: run a task file through the configured provider and judge every fix.

An operator's tool: nothing is metered or charged, nothing is saved in the database.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import TYPE_CHECKING, TextIO

import click

if TYPE_CHECKING:
    from bugfixer.fixing.evaluation import Outcome

EXIT_OK, EXIT_ERRORS, EXIT_USAGE, EXIT_DISHONEST = 0, 1, 2, 4
DEFAULT_OUT = "eval-results.jsonl"


class BadInput(click.ClickException):
    """Printed as ``Error: message``; nothing has run."""

    exit_code = EXIT_USAGE


@click.command("eval")
@click.argument("tasks_file", metavar="TASKS.jsonl", type=click.File("r", encoding="utf-8"))
@click.option(
    "--out",
    default=DEFAULT_OUT,
    show_default=True,
    type=click.Path(dir_okay=False, writable=True),
    help="Write one JSON line per task here, as each finishes.",
)
@click.option("--limit", type=click.IntRange(min=1), help="Run only the first N tasks.")
@click.option(
    "--concurrency",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Tasks fixed at once.",
)
@click.option(
    "--show-tests",
    is_flag=True,
    help="Give each task's test to the fixer as the user's test (hidden by default).",
)
def eval_tasks(
    tasks_file: TextIO, out: str, limit: int | None, concurrency: int, show_tests: bool
) -> None:
    """Fix every task in TASKS.jsonl with the configured provider and judge the fixes.

    Each line is a JSON object: "id", "code", "test" (Python run after the fixed
    program: the judge), optionally "error" and "language" (python, the default). The
    fixer gets the code and the error, and the test only with --show-tests. A task
    passes when its test, appended to the fixed program, runs without an error in the
    sandbox; an answer with no fix fails. Nothing runs outside the sandbox, so the
    command refuses to start when it is off.

    Progress goes to standard error, a summary table to standard output, and one row
    per task to --out: id, status (fixed, no_fix or error), verified (the product's
    own claim), passed (the judge's verdict), seconds, tokens, cost_usd, checks (the
    product's checks that passed), and judge (what the failing run showed) or error
    where there is one. Rows are in the order the tasks finish.

    \b
    Exit codes:
      0  every task ran, and no fix claimed verified failed its test
      1  some tasks could not be run (the provider was unavailable)
      2  usage error: bad options, a bad task line (named), or the sandbox is off
      4  a fix the product claimed verified failed its test
    """
    from bugfixer.config import SettingsError, load_settings
    from bugfixer.fixing.evaluation import Summary, TaskFileError, evaluate_all, load_tasks
    from bugfixer.fixing.pipeline import local_pipeline

    try:
        settings = load_settings()
    except SettingsError as exc:
        raise BadInput(str(exc)) from None
    if settings.sandbox != "bwrap":
        raise BadInput(
            "the sandbox is off (BUGFIXER_SANDBOX=off, or bubblewrap is not installed); "
            "eval runs task code only in the sandbox, so it cannot judge fixes"
        )
    try:
        tasks = load_tasks(tasks_file, settings=settings, show_tests=show_tests, limit=limit)
    except TaskFileError as exc:
        raise BadInput(f"{tasks_file.name}: {exc}") from None

    async def run(progress: Progress) -> list[Outcome]:
        async with local_pipeline(settings) as pipeline:
            return await evaluate_all(
                pipeline, tasks, settings=settings, concurrency=concurrency, on_done=progress.done
            )

    try:
        rows = open(out, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise BadInput(f"cannot write --out {out}: {exc.strerror}") from None
    with rows, Progress(len(tasks), rows) as progress:
        outcomes = asyncio.run(run(progress))
    summary = Summary.of(outcomes)
    click.echo(summary.table())
    click.echo(f"Results: {out}", err=True)
    if summary.dishonest:
        sys.exit(EXIT_DISHONEST)
    sys.exit(EXIT_ERRORS if summary.errors else EXIT_OK)


class Progress:
    """A bar on standard error with the pass count, the rate and click's ETA; each row is
    written (and flushed) as its task finishes, so an interrupted run keeps what it did."""

    def __init__(self, total: int, rows: TextIO) -> None:
        self.rows = rows
        self.passed = 0
        self.finished = 0
        self.started = time.monotonic()
        self._bar = click.progressbar(
            length=total,
            label="Evaluating",
            file=sys.stderr,
            show_eta=True,
            show_pos=True,
            item_show_func=lambda _: self._status(),
        )

    def __enter__(self) -> Progress:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(*exc)

    def done(self, outcome: Outcome) -> None:
        self.rows.write(json.dumps(outcome.row()) + "\n")
        self.rows.flush()
        self.finished += 1
        self.passed += outcome.passed
        self._bar.update(1, outcome)

    def _status(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return f"{self.passed} passed, {self.finished / elapsed:.2f} tasks/s"
