"""The Database runs units of work off the event loop, and runs again a deadlock's loser."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from bugfixer.db import Database


class _Deadlock(Exception):
    sqlstate = "40P01"


def test_a_unit_of_work_that_lost_a_deadlock_runs_again(tmp_path):
    db = Database.from_url(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    tries = []

    def unit(*, session) -> int:  # type: ignore[no-untyped-def]
        tries.append(1)
        if len(tries) == 1:
            raise OperationalError("UPDATE ...", {}, _Deadlock())
        return session.execute(text("SELECT 41 + 1")).scalar_one()

    try:
        assert asyncio.run(db.write(unit)) == 42
        assert len(tries) == 2
    finally:
        db.close()


def test_other_database_errors_are_not_retried(tmp_path):
    db = Database.from_url(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    tries = []

    def unit(*, session) -> None:  # type: ignore[no-untyped-def]
        tries.append(1)
        session.execute(text("SELECT * FROM no_such_table"))

    try:
        with pytest.raises(OperationalError):
            asyncio.run(db.write(unit))
        assert len(tries) == 1
    finally:
        db.close()


def test_units_of_work_never_run_on_the_event_loop_thread(tmp_path):
    db = Database.from_url(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    seen = {}

    def where(*, session) -> str:  # type: ignore[no-untyped-def]
        return threading.current_thread().name

    async def main() -> None:
        seen["loop"] = threading.current_thread().name
        seen["read"] = await db.read(where)
        seen["write"] = await db.write(where)

    try:
        asyncio.run(main())
        assert seen["read"].startswith("db-read") and seen["write"].startswith("db-write")
        assert seen["loop"] not in (seen["read"], seen["write"])
        # From a worker thread (the CLI, a sync route) a write waits for the writer.
        assert db.write_now(where).startswith("db-write")
    finally:
        db.close()
