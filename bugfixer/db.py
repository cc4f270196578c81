"""Engine and session factory, and the declarative Base every model derives from."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator
from starlette.concurrency import run_in_threadpool

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 30_000
T = TypeVar("T")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTC column")
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str) -> Engine:
    """Build an engine; SQLite gets WAL, a busy timeout and write-locking transactions."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_size=20, max_overflow=40, pool_pre_ping=True)

    if parsed.database and parsed.database != ":memory:":
        from pathlib import Path

        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        pool_size=20,
        max_overflow=40,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        # Take transaction control from the driver so BEGIN IMMEDIATE below is honoured.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    # SQLite allows one writer. Its busy handler polls with sleeps of up to 100 ms, so
    # under load most time is spent asleep; writers of this process queue on a lock
    # instead and only other processes meet the busy handler.
    write_lock = threading.RLock()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # A deferred transaction that reads then writes fails with "database is locked"
        # instead of waiting; taking the write lock up front makes writers queue instead.
        # Read-only sessions keep deferred transactions so they never wait on writers.
        if conn.get_execution_options().get("read_only", False):
            conn.exec_driver_sql("BEGIN")
            return
        write_lock.acquire()
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            write_lock.release()
            raise
        conn.connection._connection_record.info["holds_write_lock"] = True

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn, record):  # type: ignore[no-untyped-def]
        # The connection goes back to the pool after COMMIT or ROLLBACK.
        if record.info.pop("holds_write_lock", False):
            write_lock.release()

    return engine


def make_session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions for writing (the default) or for reading only.

    On SQLite a writing session takes the write lock when it begins, so concurrent
    writers queue on the busy timeout instead of failing; a reading one never waits.
    """
    bind = engine.execution_options(read_only=True) if read_only else engine
    return sessionmaker(bind, expire_on_commit=False)


class BlockingRunner:
    """Runs the fix path's database work for the event loop.

    On SQLite a statement on a local file takes tens of microseconds and a write
    transaction well under a millisecond, while a hand-off to a thread and back costs
    several milliseconds under load; so the loop runs SQLite work itself (writes are
    serialised by SQLite anyway). PostgreSQL work waits on the network and goes to the
    thread pool.
    """

    def __init__(self, engine: Engine) -> None:
        self.inline = engine.dialect.name == "sqlite"

    async def __call__(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        if self.inline:
            return fn(*args, **kwargs)
        return await run_in_threadpool(fn, *args, **kwargs)

    def close(self) -> None:
        """Nothing to release; kept so the app's shutdown does not depend on the backend."""
