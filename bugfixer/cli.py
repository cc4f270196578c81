"""The `bugfixer` command. Each command's help text is its docstring."""

from __future__ import annotations

import asyncio
import json
import sys

import click

from bugfixer.config import Settings, SettingsError, load_settings


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
@click.version_option(package_name="bugfixer")
def main() -> None:
    """Code Bug Fixer: explain and fix buggy code, on the web, over the API, or here."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
@click.option("--reload", is_flag=True, help="Restart on code changes (development).")
def serve(host: str, port: int, workers: int, reload: bool) -> None:
    """Run the web app and API with uvicorn."""
    import uvicorn

    from bugfixer import migrate
    from bugfixer.db import make_engine

    settings = _settings()
    engine = make_engine(settings.resolved_database_url)
    migrate.upgrade(engine)  # once here, so several workers never race to migrate
    engine.dispose()
    uvicorn.run(
        "bugfixer.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        proxy_headers=True,
        access_log=False,
        log_level=settings.log_level.lower(),
    )


@main.command()
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--error", "error_text", help="The error message or traceback.")
@click.option(
    "--error-file", type=click.File("r", encoding="utf-8"), help="Read the error from a file."
)
@click.option("--language", help="Language of the code; detected when absent.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def fix(file, error_text, error_file, language, as_json) -> None:  # type: ignore[no-untyped-def]
    """Fix FILE (use - for standard input) with the configured provider and print the result.

    Exits 0 when a verified fix was printed, 1 when no confident fix was found.
    """
    from bugfixer.errors import AppError
    from bugfixer.fixing.providers import build_provider
    from bugfixer.fixing.render import unified_diff
    from bugfixer.fixing.service import Attempt, attempt_fix, validate_input

    if error_text is not None and error_file is not None:
        raise click.UsageError("give --error or --error-file, not both")
    if error_file is not None:
        error_text = error_file.read()
    settings = _settings()
    code = file.read()

    async def run() -> Attempt:
        provider = build_provider(settings)
        try:
            fix_input = validate_input(
                code=code, error=error_text, language=language, settings=settings
            )
            async for event in attempt_fix(provider=provider, fix_input=fix_input, stream=False):
                if isinstance(event, Attempt):
                    return event
            raise AssertionError("no attempt")
        finally:
            await provider.aclose()

    try:
        attempt = asyncio.run(run())
    except AppError as exc:
        raise click.ClickException(exc.message) from None
    if as_json:
        out = {
            "status": "fixed" if attempt.delivered else "no_fix",
            "explanation": attempt.explanation,
            "fixed_code": attempt.fixed_code,
            "diff": unified_diff(code, attempt.fixed_code),
            "verification": attempt.verification.model_dump(),
            "model": attempt.reply.model,
        }
        click.echo(json.dumps(out, indent=2))
    else:
        click.secho("Explanation", bold=True)
        click.echo(attempt.explanation.rstrip() + "\n")
        if attempt.fixed_code is not None:
            click.secho("Fixed code", bold=True)
            click.echo(attempt.fixed_code.rstrip("\n"))
    sys.exit(0 if attempt.delivered else 1)


@main.group()
def db() -> None:
    """Database tasks."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (the latest by default)."""
    from bugfixer import migrate
    from bugfixer.db import make_engine

    engine = make_engine(_settings().resolved_database_url)
    try:
        migrate.upgrade(engine, revision)
    finally:
        engine.dispose()
    click.echo(f"database at {revision}")
