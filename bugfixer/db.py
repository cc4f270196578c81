"""Engine, the Database that runs every unit of work off the event loop, and the model Base."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
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
# deadlock_detected and serialization_failure: the loser may simply try again.
RETRYABLE = frozenset({"40P01", "40001"})
RETRIES = 3
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
        # SQLite's reader threads each keep a connection of their own: checking one out
        # of the pool and back for every read costs more than a short read itself.
        self._held = threading.local()
        self._held_connections: list[Connection] = []
        if self.dialect == "sqlite":
            self._readers = Workers(SQLITE_READ_THREADS, name="db-read")
            self._writer = Workers(1, name="db-write")
            self._read_job = self._run_held
        else:
            self._readers = Workers(PG_POOL_SIZE, name="db")
            self._writer = self._readers
            self._read_job = self._run_pooled

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(make_engine(url))

    async def read(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """Run ``fn(session=..., **kwargs)`` on a read-only session in a worker thread."""
        return await self._readers.run(functools.partial(self._read_job, fn, kwargs))

    async def write(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """Run ``fn(session=..., **kwargs)`` in one write transaction in a worker thread.

        Once started, the unit of work finishes even if the caller is cancelled; a caller
        that must know the outcome shields the await.
        """
        return await self._writer.run(
            functools.partial(self._run, self._write_sessions, fn, kwargs)
        )

    def read_now(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """The same as ``read`` for code that may block: the CLI and worker threads."""
        return self._run(self._read_sessions, fn, kwargs)

    def write_now(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """The same as ``write`` for code that may block: the CLI and worker threads."""
        if self._writer is self._readers or self._writer.owns_this_thread():
            return self._run(self._write_sessions, fn, kwargs)
        return self._writer.run_blocking(
            functools.partial(self._run, self._write_sessions, fn, kwargs)
        )

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

    def _run_pooled(self, fn: Callable[..., T], kwargs: dict[str, Any]) -> T:
        return self._run(self._read_sessions, fn, kwargs)

    def _run_held(self, fn: Callable[..., T], kwargs: dict[str, Any]) -> T:
        factory = getattr(self._held, "sessions", None)
        if factory is None:
            connection = self.engine.execution_options(read_only=True).connect()
            self._held_connections.append(connection)
            factory = self._held.sessions = sessionmaker(connection, expire_on_commit=False)
        return self._run(factory, fn, kwargs)

    @staticmethod
    def _run(factory: sessionmaker[Session], fn: Callable[..., T], kwargs: dict[str, Any]) -> T:
        for attempt in range(RETRIES + 1):
            try:
                with factory.begin() as session:
                    return fn(session=session, **kwargs)
            except OperationalError as exc:
                # PostgreSQL picks a deadlock's or a serialisation conflict's loser; its
                # transaction was rolled back whole, so the unit of work runs again.
                code = getattr(exc.orig, "sqlstate", None)
                if code not in RETRYABLE or attempt == RETRIES:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._readers.close()
        if self._writer is not self._readers:
            self._writer.close()
        for connection in self._held_connections:
            connection.close()
        self.engine.dispose()


class Workers:
    """Threads running blocking jobs for the event loop.

    Lighter than an executor: a job is a queue entry, and its answer is one
    ``call_soon_threadsafe`` setting an asyncio future (no concurrent future, condition
    or future chaining in between, which cost more than a short query).
    """

    def __init__(self, count: int, *, name: str) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Callable[..., None]] | None] = (
            queue.SimpleQueue()
        )
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{n}", daemon=True)
            for n in range(count)
        ]
        for thread in self._threads:
            thread.start()
        self._idents = {thread.ident for thread in self._threads}

    def owns_this_thread(self) -> bool:
        return threading.get_ident() in self._idents

    async def run(self, job: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[T] = loop.create_future()

        def deliver(result: object, error: BaseException | None) -> None:
            # The loop may have closed meanwhile: then nobody is waiting.
            with suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, answer, result, error)

        self._jobs.put((job, deliver))
        return await answer

    def run_blocking(self, job: Callable[[], T]) -> T:
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def deliver(result: Any, error: BaseException | None) -> None:
            if error is not None:
                done.set_exception(error)
            else:
                done.set_result(result)

        self._jobs.put((job, deliver))
        return done.result()

    def _work(self) -> None:
        while (item := self._jobs.get()) is not None:
            job, deliver = item
            try:
                result = job()
            except BaseException as error:  # handed to whoever waits for the job
                deliver(None, error)
            else:
                deliver(result, None)

    def close(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()


def _settle(answer: asyncio.Future[Any], result: object, error: BaseException | None) -> None:
    if answer.cancelled():
        return
    if error is not None:
        answer.set_exception(error)
    else:
        answer.set_result(result)
