"""``bugfixer fix``: fix a file from the terminal, locally or through a running server.

Exit codes are a contract for scripts (documented in ``--help`` and the README):
0 fixed, 1 no fix found, 2 usage error, 3 allowance used up (HTTP 402) or not
authorised, 4 server or provider unavailable.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO
from urllib.parse import urljoin

import click

EXIT_FIXED, EXIT_NO_FIX, EXIT_USAGE, EXIT_DENIED, EXIT_UNAVAILABLE = 0, 1, 2, 3, 4


class FixFailed(click.ClickException):
    """Printed as ``Error: message`` on standard error, exiting with ``exit_code``."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@click.command()
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--error", "error_text", help="The error message or traceback.")
@click.option(
    "--error-file", type=click.File("r", encoding="utf-8"), help="Read the error from a file."
)
@click.option("--language", help="Language of the code; detected when absent.")
@click.option(
    "--test",
    "test_file",
    type=click.File("r", encoding="utf-8"),
    help="Python test code that the fixed program must pass (e.g. assert f() == 1).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="Print only the fixed code (nothing when there is none): for pipes and scripts.",
)
@click.option(
    "--server",
    envvar="BUGFIXER_SERVER",
    help="Fix through a running Code Bug Fixer at this URL instead of locally.",
)
@click.option(
    "--api-key",
    envvar="BUGFIXER_API_KEY",
    help="API key for --server (from your account page); uses your account's plan.",
)
def fix(  # type: ignore[no-untyped-def]
    file, error_text, error_file, language, test_file, as_json, quiet, server, api_key
) -> None:
    """Fix FILE (use - for standard input): print the explanation, fixed code and diff.

    Locally it uses the configured provider; with --server it calls that server's API.
    In a terminal the output is coloured (set NO_COLOR to turn that off) and a spinner
    shows the time taken and the explanation as the model writes it.

    \b
    Exit codes:
      0  fixed: a verified fix was printed
      1  no fix found (such attempts are free)
      2  usage error: bad options, unreadable or invalid input
      3  free fixes used up (HTTP 402) or the API key was refused
      4  the server or the fixing provider is unavailable; try again later
    """
    if error_text is not None and error_file is not None:
        raise click.UsageError("give --error or --error-file, not both")
    if error_file is not None:
        error_text = error_file.read()
    if api_key and not server:
        raise click.UsageError("--api-key needs --server")
    test = test_file.read() if test_file is not None else None
    code = file.read()
    stderr = sys.stderr
    with spinner(stderr, enabled=not quiet and stderr.isatty()) as status:
        if server:
            out = fix_on_server(
                server,
                api_key,
                code=code,
                error=error_text,
                language=language,
                test=test,
                on_text=status,
            )
        else:
            out = fix_locally(
                code=code, error=error_text, language=language, test=test, on_text=status
            )
    fixed = out["status"] == "fixed"
    if as_json:
        click.echo(json.dumps(out, indent=2))
    elif quiet:
        if fixed:
            click.echo(out["fixed_code"], nl=not out["fixed_code"].endswith("\n"))
    else:
        print_result(out, color=use_color(sys.stdout))
        print_footer(out, server=server)
    sys.exit(EXIT_FIXED if fixed else EXIT_NO_FIX)


# -- running the fix -----------------------------------------------------------------------


def fix_locally(
    *,
    code: str,
    error: str | None,
    language: str | None,
    test: str | None = None,
    on_text: Status | None = None,
) -> dict[str, Any]:
    """Fix with the configured provider; ``on_text`` sees the explanation as it streams."""
    from bugfixer.config import SettingsError, load_settings
    from bugfixer.errors import AppError, ProviderUnavailable
    from bugfixer.fixing.pipeline import Attempt, Delta, Retrying, local_pipeline
    from bugfixer.fixing.render import unified_diff
    from bugfixer.fixing.service import validate_input

    try:
        settings = load_settings()
    except SettingsError as exc:
        raise FixFailed(str(exc), EXIT_USAGE) from None

    async def run() -> tuple[Attempt, str]:
        async with local_pipeline(settings) as pipeline:
            fix_input = validate_input(
                code=code, error=error, language=language, test=test, settings=settings
            )
            stream = on_text is not None and on_text.enabled
            async for event in pipeline.attempt(fix_input, stream=stream):
                if isinstance(event, Attempt):
                    return event, fix_input.language
                if on_text is not None and isinstance(event, Delta):
                    on_text.add(event.text)
                elif on_text is not None and isinstance(event, Retrying):
                    on_text.restart("the first answer failed a check; asking once more: ")
            raise AssertionError("no attempt")

    try:
        attempt, detected = asyncio.run(run())
    except ProviderUnavailable as exc:
        # The web wording ("no free fix was used") means nothing here: say what failed.
        cause = exc.__cause__
        raise FixFailed(str(cause) if cause else exc.message, EXIT_UNAVAILABLE) from None
    except AppError as exc:
        raise FixFailed(exc.message, EXIT_USAGE) from None
    return {
        "status": "fixed" if attempt.delivered else "no_fix",
        "explanation": attempt.explanation,
        "fixed_code": attempt.fixed_code,
        "diff": unified_diff(code, attempt.fixed_code),
        "language": detected,
        "verification": attempt.verification.model_dump(),
        "provider": settings.llm_provider,
        "model": attempt.reply.model,
    }


def fix_on_server(
    server: str,
    api_key: str | None,
    *,
    code: str,
    error: str | None,
    language: str | None,
    test: str | None = None,
    on_text: Status | None = None,
) -> dict[str, Any]:
    """Fix through a server's API; ``on_text`` (when enabled) sees the explanation as the
    server streams it (Server-Sent Events), otherwise one JSON answer is awaited."""
    import httpx

    base = server.rstrip("/") + "/"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    streaming = on_text is not None and on_text.enabled
    if streaming:
        headers["Accept"] = "text/event-stream"
    body: dict[str, Any] = {"code": code, "error": error, "language": language}
    if test is not None:
        body["test"] = test
    url = urljoin(base, "api/v1/fixes")
    try:
        with httpx.stream("POST", url, json=body, headers=headers, timeout=180) as response:
            events = response.headers.get("content-type", "").startswith("text/event-stream")
            if response.status_code == 200 and events and on_text is not None:
                data = _read_events(response, on_text, server)
            else:
                response.read()
                data = _refused_or_result(response, server, base)
    except httpx.HTTPError as exc:
        raise FixFailed(f"could not reach {server}: {exc}", EXIT_UNAVAILABLE) from None
    data["url"] = urljoin(base, str(data.get("url", "")).lstrip("/"))
    return data


def _read_events(response: Any, on_text: Status, server: str) -> dict[str, Any]:
    """The stream's events: text to the spinner, then the result (or the error's exit)."""
    name, lines = "message", []
    for line in response.iter_lines():
        if line.startswith("event:"):
            name = line[len("event:") :].strip()
        elif line.startswith("data:"):
            lines.append(line[len("data:") :].strip())
        elif not line and lines:
            try:
                data = json.loads("\n".join(lines))
            except ValueError:
                data = None
            event, name, lines = name, "message", []
            if not isinstance(data, dict):
                continue
            if event == "delta":
                on_text.add(str(data.get("text", "")))
            elif event == "retry":
                on_text.restart("the first answer failed a check; asking once more: ")
            elif event == "result":
                return data
            elif event == "error":
                raise FixFailed(str(data.get("message", "the fix failed")), EXIT_UNAVAILABLE)
    raise FixFailed(f"{server} ended the stream without a result", EXIT_UNAVAILABLE)


def _refused_or_result(response: Any, server: str, base: str) -> dict[str, Any]:
    """A whole JSON answer: the result, or the error it names as an exit code."""
    try:
        data = response.json()
    except ValueError:
        data = None
    status = response.status_code
    if status == 200 and isinstance(data, dict):
        return data
    if not isinstance(data, dict) or "message" not in data:
        raise FixFailed(
            f"{server} answered HTTP {status} without a Code Bug Fixer error; "
            "check the --server URL",
            EXIT_UNAVAILABLE,
        )
    message = data["message"]
    if status == 402:
        pricing = urljoin(base, str(data.get("pricing_url", "/pricing")).lstrip("/"))
        usage = data.get("usage") or {}
        used = f"all {usage['limit']} free fixes" if usage.get("limit") else "your free fixes"
        raise FixFailed(
            f"you have used {used}. Choose a plan at {pricing}, then pass the API key "
            f"from {urljoin(base, 'account')} with --api-key (or BUGFIXER_API_KEY).",
            EXIT_DENIED,
        )
    if status in (401, 403):
        raise FixFailed(f"{message} Create a key at {urljoin(base, 'account')}.", EXIT_DENIED)
    if status in (400, 413, 415, 422):
        raise FixFailed(message, EXIT_USAGE)
    if status == 429 and response.headers.get("retry-after"):
        message += f" Try again in {response.headers['retry-after']} s."
    raise FixFailed(f"{message} (HTTP {status})", EXIT_UNAVAILABLE)


# -- showing the result --------------------------------------------------------------------


def use_color(stream: TextIO) -> bool:
    """Colour for people at a terminal; never in pipes or when NO_COLOR is set (no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_HEADING = re.compile(r"^#{1,6}\s+(.*)$")


def terminal_prose(text: str, *, color: bool) -> str:
    """Model prose for a terminal: headings as plain bold lines, `code` highlighted."""
    lines = []
    for line in text.rstrip().splitlines():
        heading = _HEADING.match(line)
        if heading:
            title = heading.group(1).strip()
            if title.rstrip(":").lower() == "explanation":
                continue
            line = click.style(title, bold=True) if color else title
        elif color:
            line = _INLINE_CODE.sub(lambda m: click.style(m.group(1), fg="cyan"), line)
        lines.append(line)
    return "\n".join(lines).strip("\n")


def highlight_code(code: str, language: str, *, color: bool) -> str:
    if not color:
        return code.rstrip("\n")
    from pygments import highlight
    from pygments.formatters import TerminalFormatter

    from bugfixer.fixing.render import lexer_for

    return highlight(code, lexer_for(language), TerminalFormatter()).rstrip("\n")


def color_diff(diff: str, *, color: bool) -> str:
    if not color:
        return diff.rstrip("\n")
    styled = []
    for line in diff.rstrip("\n").splitlines():
        if line.startswith(("---", "+++")):
            styled.append(click.style(line, bold=True))
        elif line.startswith("@@"):
            styled.append(click.style(line, fg="cyan"))
        elif line.startswith("+"):
            styled.append(click.style(line, fg="green"))
        elif line.startswith("-"):
            styled.append(click.style(line, fg="red"))
        else:
            styled.append(line)
    return "\n".join(styled)


def print_result(out: dict[str, Any], *, color: bool) -> None:
    from bugfixer.fixing.render import verification_summary
    from bugfixer.fixing.schemas import Verification

    def title(text: str) -> None:
        click.secho(text, bold=True, color=color)

    fixed = out["status"] == "fixed"
    title("Explanation")
    click.echo(terminal_prose(out["explanation"], color=color) + "\n", color=color)
    if fixed:
        title("Fixed code")
        language = out.get("language") or "text"
        click.echo(highlight_code(out["fixed_code"], language, color=color) + "\n", color=color)
        if out.get("diff"):
            title("Changes")
            click.echo(color_diff(out["diff"], color=color) + "\n", color=color)
    summary = verification_summary(Verification.model_validate(out["verification"]), fixed=fixed)
    tone = {"ok": "green", "bad": "red", "neutral": None}[summary.tone]
    click.secho(summary.headline, fg=tone, bold=True, color=color)


def print_footer(out: dict[str, Any], *, server: str | None) -> None:
    """Where the fix is saved and what is left, on standard error so pipes stay clean."""
    notes = []
    if server and out.get("url"):
        notes.append(f"Saved at {out['url']}")
    usage = out.get("usage") or {}
    if usage.get("remaining") is not None:
        notes.append(f"{usage['remaining']} of {usage['limit']} free fixes left")
    if (
        out["status"] != "fixed"
        and out.get("provider") == "builtin"
        and out.get("language") != "python"
    ):
        notes.append(
            "hint: the built-in engine fixes Python only; set BUGFIXER_LLM_API_KEY (and "
            "BUGFIXER_LLM_BASE_URL for a non-OpenAI endpoint) to fix other languages"
        )
    for note in notes:
        click.echo(note, err=True)


_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class Status:
    """What the spinner line shows after the time: the latest words of the explanation."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._text = ""
        self._lock = threading.Lock()

    def add(self, text: str) -> None:
        with self._lock:
            self._text = (self._text + text)[-500:]

    def restart(self, text: str) -> None:
        with self._lock:
            self._text = text

    def tail(self, width: int) -> str:
        with self._lock:
            words = " ".join(self._text.split())
        return words[-width:] if width > 0 else ""


@contextmanager
def spinner(stream: TextIO, *, enabled: bool, label: str = "Fixing") -> Iterator[Status]:
    """A spinner with the seconds elapsed on standard error, and the text so far after it.

    The line is redrawn in place and cleared at the end, so the result that follows is
    printed once, formatted, and standard output never sees any of it.
    """
    status = Status(enabled)
    if not enabled:
        yield status
        return
    stop = threading.Event()
    started = time.monotonic()

    def spin() -> None:
        frame = 0
        while not stop.wait(0.1):
            head = f"{_FRAMES[frame % len(_FRAMES)]} {label}… {int(time.monotonic() - started)} s"
            room = shutil.get_terminal_size((80, 24)).columns - len(head) - 4
            text = status.tail(room)
            stream.write(f"\r\033[K{head}" + (f"  {text}" if text else ""))
            stream.flush()
            frame += 1

    thread = threading.Thread(target=spin, name="spinner", daemon=True)
    thread.start()
    try:
        yield status
    finally:
        stop.set()
        thread.join()
        stream.write("\r\033[K")
        stream.flush()
