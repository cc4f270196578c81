"""The `bugfixer` command. Each command's help text is its docstring."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import click

from bugfixer.cli_eval import eval_tasks
from bugfixer.cli_fix import fix
from bugfixer.config import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from bugfixer.billing.gateway import StripeGateway


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
@click.version_option(package_name="bugfixer")
def main() -> None:
    """Code Bug Fixer: explain and fix buggy code, on the web, over the API, or here."""


main.add_command(fix)
main.add_command(eval_tasks)


@main.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    envvar="BUGFIXER_HOST",
    help="Address to listen on (BUGFIXER_HOST).",
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=int,
    envvar="BUGFIXER_PORT",
    help="Port to listen on (BUGFIXER_PORT).",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    envvar="BUGFIXER_WORKERS",
    help="Worker processes (BUGFIXER_WORKERS); more than one wants Redis rate limits.",
)
@click.option("--reload", is_flag=True, help="Restart on code changes (development).")
def serve(host: str, port: int, workers: int, reload: bool) -> None:
    """Run the web app and API with uvicorn.

    X-Forwarded-For/-Proto are believed only from BUGFIXER_TRUSTED_PROXIES.
    """
    import uvicorn

    from bugfixer import migrate
    from bugfixer.db import make_engine
    from bugfixer.observability.logs import configure_logging

    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    if settings.migrate_on_start:
        engine = make_engine(settings.resolved_database_url)
        migrate.upgrade(engine)  # once here, so several workers never race to migrate
        engine.dispose()
    if workers > 1 and urlsplit(settings.rate_limit_storage).scheme == "memory":
        from bugfixer.main import warn_unshared_limits

        warn_unshared_limits(f"{workers} worker processes serve this app")
    for line in where_to_look(settings, host=host, port=port):
        if settings.log_format == "json":  # log shippers get one JSON object per line
            logging.getLogger("bugfixer.serve").info(line)
        else:
            click.echo(line)
    with _metrics_dir(workers):
        uvicorn.run(
            "bugfixer.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            reload=reload,
            # X-Forwarded-* are believed from BUGFIXER_TRUSTED_PROXIES only, by the app.
            proxy_headers=False,
            access_log=False,
            log_config=None,
            log_level=settings.log_level.lower(),
            # On SIGTERM requests in flight get this long; fixes still running are then
            # stopped, and give their free fix back.
            timeout_graceful_shutdown=settings.shutdown_timeout_s,
        )


@contextmanager
def _metrics_dir(workers: int) -> Iterator[None]:
    """Several workers add up their metrics in files: a fresh folder for this server."""
    import os
    import shutil
    import tempfile
    from pathlib import Path

    from bugfixer.observability.multiprocess import MULTIPROC_ENV, prepare_multiprocess_dir

    given = os.environ.get(MULTIPROC_ENV)
    if given:
        prepare_multiprocess_dir(Path(given))
        yield
        return
    if workers == 1:
        yield
        return
    path = tempfile.mkdtemp(prefix="bugfixer-metrics-")
    os.environ[MULTIPROC_ENV] = path
    try:
        yield
    finally:
        del os.environ[MULTIPROC_ENV]
        shutil.rmtree(path, ignore_errors=True)


def where_to_look(settings: Settings, *, host: str, port: int) -> list[str]:
    """The addresses a person starting the app wants first (printed by `make run`)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    base = f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}"
    lines = [f"Code Bug Fixer:  {base}/"]
    if settings.stripe_emulated:
        lines.append(f"Stripe emulator: {base}/_stripe (TEST MODE, card 4242 4242 4242 4242)")
    if settings.local_mode and not settings.smtp_host:
        lines.append(f"Dev outbox:      {base}/dev/outbox (mail that would have been sent)")
    lines.append(f"API docs:        {base}/docs")
    return lines


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


@main.command("create-admin")
@click.argument("email")
@click.option(
    "--password",
    envvar="BUGFIXER_ADMIN_PASSWORD",
    help="Password for a new account (asked for when needed and not given).",
)
def create_admin(email: str, password: str | None) -> None:
    """Make EMAIL an administrator, creating the account if there is none."""
    from bugfixer import flows, migrate
    from bugfixer.accounts import service as accounts
    from bugfixer.db import Database
    from bugfixer.errors import AppError

    db = Database.from_url(_settings().resolved_database_url)
    try:
        migrate.upgrade(db.engine)
        prepared = None
        if db.read_now(accounts.find_user, email=email) is None:
            if password is None:
                password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
            prepared = accounts.prepare_account(email=email, password=password)
        made = db.write_now(flows.make_admin, email=email, account=prepared)
        if made.created:
            click.echo(f"created administrator {made.email}")
        else:
            click.echo(f"{made.email} is now an administrator")
    except AppError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        db.close()


@main.group("stripe")
def stripe_group() -> None:
    """Payments: the plan catalog on Stripe, and webhook events."""


@contextmanager
def _gateway(settings: Settings) -> Iterator[StripeGateway]:
    """Real Stripe with a key; otherwise the emulator's own data, served for the command."""
    from bugfixer.billing.gateway import StripeGateway

    if settings.stripe_secret_key is not None:
        yield StripeGateway(settings.stripe_secret_key.get_secret_value())
        return
    import socket
    import threading
    import time

    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from bugfixer import devstripe

    emulator = devstripe.create_app(
        db_path=settings.instance_dir / "devstripe.sqlite3",
        webhook_secret=settings.webhook_secret,
        api_key=settings.devstripe_key,
        webhook_url=f"{settings.public_url.rstrip('/')}/stripe/webhook"
        if settings.public_url
        else None,
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(Starlette(routes=[Mount("/_stripe", emulator)]), log_level="warning")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        port = sock.getsockname()[1]
        yield StripeGateway(settings.devstripe_key, api_base=f"http://127.0.0.1:{port}/_stripe")
    finally:
        server.should_exit = True
        thread.join(10)


@stripe_group.command("sync-plans")
def sync_plans() -> None:
    """Create or update a Stripe Product and Price per plan; safe to run again."""
    from bugfixer.billing.plans import plan_catalog
    from bugfixer.errors import AppError

    settings = _settings()
    try:
        with _gateway(settings) as gateway:
            for plan in plan_catalog(settings):
                price_id, outcome = gateway.sync_plan(plan)
                click.echo(f"{plan.code}: {outcome} ({price_id}, lookup key {plan.lookup_key})")
    except AppError as exc:
        raise click.ClickException(exc.message) from None


@stripe_group.command("replay")
@click.argument("event_id")
def replay(event_id: str) -> None:
    """Run the handler of a stored webhook event again (after fixing what made it fail)."""
    from bugfixer import migrate
    from bugfixer.billing.plans import plan_catalog
    from bugfixer.billing.webhooks import WebhookFailed, process, stored_event
    from bugfixer.db import Database

    settings = _settings()
    db = Database.from_url(settings.resolved_database_url)
    try:
        migrate.upgrade(db.engine)
        event = db.read_now(stored_event, event_id=event_id)
        if event is None:
            raise click.ClickException(f"no stored event {event_id}")
        with _gateway(settings) as gateway:
            outcome = process(
                db=db,
                gateway=gateway,
                plans=plan_catalog(settings),
                event=event,
                replay=True,
            )
        click.echo(f"{event_id} ({event['type']}): {outcome}")
    except WebhookFailed as exc:
        raise click.ClickException(f"{event_id} failed again: {exc}") from None
    finally:
        db.close()


@main.group("sandbox")
def sandbox_group() -> None:
    """The sandbox that runs user programs to verify fixes."""


@sandbox_group.command("check")
def sandbox_check() -> None:
    """Run a few programs in the sandbox and say whether it works here (exit 1 if not)."""
    import asyncio

    from bugfixer.sandbox import RunResult, Sandbox, SandboxUnavailable

    settings = _settings()
    try:
        sandbox = Sandbox.from_settings(settings)
    except SandboxUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    if not sandbox.enabled:
        raise click.ClickException("BUGFIXER_SANDBOX=off: user programs are never run")
    probes = {  # label: (program, acceptable outcomes)
        "a program runs": ("print('ok')", {"ok"}),
        "the network is unreachable": (
            "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=1)",
            {"exception"},
        ),
        "an endless loop is stopped": ("while True:\n    pass", {"cpu_limit", "timeout"}),
    }

    async def run_all() -> list[RunResult]:
        return await asyncio.gather(*(sandbox.run_python(src) for src, _ in probes.values()))

    click.echo(f"interpreter: {sandbox.python}")
    click.echo(f"limits: {sandbox.limits}")
    failed = False
    for (label, (_src, expected)), result in zip(
        probes.items(), asyncio.run(run_all()), strict=True
    ):
        good = result.outcome in expected
        failed |= not good
        click.echo(f"{'ok  ' if good else 'FAIL'} {label}: {result.summary()}")
    if failed:
        raise click.ClickException("the sandbox does not work here (see above)")
