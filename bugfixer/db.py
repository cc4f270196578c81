"""Engine, the Database that runs every unit of work off the event loop, and the model Base."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 30_000
# PostgreSQL: the pool and the threads that use it are sized together.
PG_POOL_SIZE = 20
PG_MAX_OVERFLOW = 10
SQLITE_READ_THREADS = 4
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
    """Build an engine. SQLite gets WAL, a busy timeout, and BEGIN IMMEDIATE for writers."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(
            url, pool_size=PG_POOL_SIZE, max_overflow=PG_MAX_OVERFLOW, pool_pre_ping=True
        )

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        pool_size=SQLITE_READ_THREADS + 2,
        max_overflow=10,
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

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # A deferred transaction that reads and then writes fails with "database is
        # locked" instead of waiting; a writer takes the write lock up front, so it waits
        # (busy timeout) instead. Readers stay deferred and never wait in WAL mode.
        if conn.get_execution_options().get("read_only", False):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Database:
    """Runs units of work in worker threads, never on the event loop.

    A unit of work is a function called as ``fn(session=..., **kwargs)`` inside one
    transaction, committed when it returns and rolled back when it raises, so a service
    function owns everything it changes. On SQLite every write goes to one writer
    thread (SQLite admits one writer at a time; queueing writes here means they never
    sleep in its busy handler, while other processes still meet the busy timeout), and
    reads run on a few threads of their own. On PostgreSQL reads and writes share
    threads sized to the connection pool. No lock is held across threads.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._write_sessions = sessionmaker(engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            engine.execution_options(read_only=True), expire_on_commit=False
        )
        if self.dialect == "sqlite":
            self._readers = ThreadPoolExecutor(SQLITE_READ_THREADS, thread_name_prefix="db-read")
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="db-write")
        else:
            self._readers = ThreadPoolExecutor(PG_POOL_SIZE, thread_name_prefix="db")
            self._writer = self._readers
        self._writer_thread = threading.local()

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(make_engine(url))

    async def read(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """Run ``fn(session=..., **kwargs)`` on a read-only session in a worker thread."""
        job = functools.partial(self._run, self._read_sessions, fn, kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._readers, job)

    async def write(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """Run ``fn(session=..., **kwargs)`` in one write transaction in a worker thread.

        Once started, the unit of work finishes even if the caller is cancelled; a caller
        that must know the outcome shields the await.
        """
        job = functools.partial(self._run_write, fn, kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._writer, job)

    def read_now(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """The same as ``read`` for code that may block: the CLI and worker threads."""
        return self._run(self._read_sessions, fn, kwargs)

    def write_now(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """The same as ``write`` for code that may block: the CLI and worker threads."""
        if self._writer is self._readers or getattr(self._writer_thread, "active", False):
            return self._run(self._write_sessions, fn, kwargs)
        return self._writer.submit(self._run_write, fn, kwargs).result()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read-only session for code that may block (tests, CLI listings)."""
        with self._read_sessions() as session:
            yield session

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction in the calling thread, for tests and scripts that may block.

        The app itself runs units of work through ``write``; on SQLite this one meets the
        writer thread through SQLite's own lock and busy timeout.
        """
        with self._write_sessions.begin() as session:
            yield session

    def _run_write(self, fn: Callable[..., T], kwargs: dict[str, Any]) -> T:
        self._writer_thread.active = True
        try:
            return self._run(self._write_sessions, fn, kwargs)
        finally:
            self._writer_thread.active = False

    @staticmethod
    def _run(factory: sessionmaker[Session], fn: Callable[..., T], kwargs: dict[str, Any]) -> T:
        with factory.begin() as session:
            return fn(session=session, **kwargs)

    def close(self) -> None:
        self._readers.shutdown(wait=True)
        self._writer.shutdown(wait=True)
        self.engine.dispose()
