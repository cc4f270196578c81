"""A free fix held by a request that never finished is given back when its hold expires."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from bugfixer.db import utcnow
from bugfixer.main import create_app
from bugfixer.metering import service as metering
from bugfixer.metering.identity import Identity
from bugfixer.metering.models import PendingFix
from tests.conftest import make_settings
from tests.support.providers import ScriptedProvider


def _app(tmp_path, database_url):  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, database_url=database_url, reservation_ttl_s=60)
    return create_app(settings, provider=ScriptedProvider())


def _remaining(app, visitor_id: str) -> int:  # type: ignore[no-untyped-def]
    return app.state.ctx.fixer.usage_now(Identity(visitor_id=visitor_id)).remaining


def test_a_hold_left_by_a_dead_request_is_given_back_after_it_expires(tmp_path, database_url):
    app = _app(tmp_path, database_url)
    fixer = app.state.ctx.fixer
    db = app.state.ctx.db
    held = asyncio.run(fixer.reserve(identity=Identity(fingerprint=None)))
    assert held.visitor_id is not None
    assert _remaining(app, held.visitor_id) == 2
    # Still within its hold: nothing is given back.
    assert db.write_now(metering.expire_pending) == 0
    later = utcnow() + timedelta(seconds=61)
    assert db.write_now(metering.expire_pending, now=later) == 1
    assert _remaining(app, held.visitor_id) == 3
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(PendingFix)) == 0
    db.close()


def test_a_fix_settled_after_its_hold_expired_still_counts_once(tmp_path, database_url):
    app = _app(tmp_path, database_url)
    fixer = app.state.ctx.fixer
    db = app.state.ctx.db
    held = asyncio.run(fixer.reserve(identity=Identity()))
    db.write_now(metering.expire_pending, now=utcnow() + timedelta(seconds=61))
    assert _remaining(app, held.visitor_id) == 3
    # The slow request finishes after all: its fix is delivered and counted.
    from bugfixer.fixing.service import FixInput

    result = asyncio.run(
        fixer.run(
            reservation=held,
            fix_input=FixInput(code="def f()\n  return 1\n", error="", language="python"),
        )
    )
    assert result.status == "fixed"
    assert _remaining(app, held.visitor_id) == 2
    # Releasing it again (a duplicate cleanup) gives nothing back twice.
    db.write_now(metering.release, reservation=held)
    assert _remaining(app, held.visitor_id) == 2
    db.close()


def test_a_released_hold_is_released_once(tmp_path, database_url):
    app = _app(tmp_path, database_url)
    db = app.state.ctx.db
    held = asyncio.run(app.state.ctx.fixer.reserve(identity=Identity()))
    db.write_now(metering.release, reservation=held)
    db.write_now(metering.release, reservation=held)
    assert _remaining(app, held.visitor_id) == 3
    db.write_now(metering.expire_pending, now=utcnow() + timedelta(days=1))
    assert _remaining(app, held.visitor_id) == 3
    db.close()
