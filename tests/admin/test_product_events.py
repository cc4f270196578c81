"""Product events: written with their actions, page views batched, nothing personal kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bugfixer.analytics import events
from bugfixer.analytics.events import event_row
from bugfixer.analytics.models import ProductEvent
from bugfixer.analytics.views import COOKIELESS_VIEWS_PER_DAY, ViewRecorder
from bugfixer.db import Database
from bugfixer.main import create_app
from bugfixer.metering.identity import VISITOR_COOKIE
from tests.accounts.conftest import Auth
from tests.conftest import make_settings
from tests.support.providers import ScriptedProvider, failing

BROKEN = {"code": "def f()\n    return 1\n"}


@pytest.fixture
def client(tmp_path):  # type: ignore[no-untyped-def]
    app = create_app(make_settings(tmp_path), provider=ScriptedProvider())
    with TestClient(app) as c:
        yield c


def stored(client) -> list[ProductEvent]:  # type: ignore[no-untyped-def]
    ctx = client.app.state.ctx
    client.portal.call(ctx.views.flush, ctx.db)  # the batched page views, now
    with ctx.db.session() as s:
        return list(s.scalars(select(ProductEvent).order_by(ProductEvent.occurred_at)))


def kinds(client) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.kind for e in stored(client)]


def test_a_browser_is_followed_from_its_first_view_to_its_sign_up(client):
    client.get("/")
    visitor = client.app.state.ctx.cookies.read(client.cookies[VISITOR_COOKIE])
    for _ in range(3):
        assert client.post("/api/v1/fixes", json=BROKEN).status_code == 200
    assert client.post("/api/v1/fixes", json=BROKEN).status_code == 402
    client.get("/")  # a reload the same day is not another view
    client.get("/pricing?reason=quota")
    Auth(client).signup(email="ada@example.com")
    found = stored(client)
    assert [e.kind for e in found] == [
        "page_view",
        "fix_completed",
        "fix_completed",
        "fix_completed",
        "paywall_shown",
        "pricing_viewed",
        "paywall_shown",
        "signed_up",
    ]
    assert {e.visitor_id for e in found} == {visitor}
    assert found[-1].user_id is not None and found[0].user_id is None
    assert found[1].properties == {
        "plan": "free",
        "language": "python",
        "provider": "scripted",
        "model": "scripted-1",
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "latency_ms": found[1].properties["latency_ms"],
        "llm_calls": 1,
    }
    assert found[4].properties == {"via": "402"} and found[6].properties == {"via": "pricing"}


def test_a_fix_the_provider_could_not_make_is_recorded_and_a_failed_call_is_not(tmp_path):
    from bugfixer.fixing.providers import ProviderReply

    no_fix = ProviderReply(
        explanation="No confident fix.",
        fixed_code=None,
        model="scripted-1",
        prompt_tokens=7,
        completion_tokens=3,
    )
    provider = ScriptedProvider(no_fix, failing())
    with TestClient(create_app(make_settings(tmp_path), provider=provider)) as client:
        assert client.post("/api/v1/fixes", json=BROKEN).json()["status"] == "no_fix"
        assert client.post("/api/v1/fixes", json=BROKEN).status_code == 503
        (event,) = stored(client)
        assert event.kind == "fix_no_fix"
        assert (event.properties["prompt_tokens"], event.properties["completion_tokens"]) == (7, 3)


def test_events_never_take_an_address_code_or_email():
    for key in ("ip", "code", "error", "email", "client_address"):
        with pytest.raises(ValueError, match="never store"):
            event_row(kind=events.PAGE_VIEW, properties={key: "x"})
    with pytest.raises(ValueError, match="unknown product event kind"):
        event_row(kind="clicked_everything")
    with pytest.raises(ValueError, match="too long"):
        event_row(kind=events.PAGE_VIEW, properties={"path": "x" * 500})
    with pytest.raises(ValueError, match="plain value"):
        event_row(kind=events.PAGE_VIEW, properties={"nested": {"a": 1}})


def test_page_views_are_first_of_the_day_and_a_cookieless_client_is_capped(tmp_path: Path):
    db = Database.from_url(f"sqlite:///{tmp_path / 'views.sqlite3'}")
    from bugfixer import migrate

    migrate.upgrade(db.engine)
    views = ViewRecorder()
    assert views.view(events.PAGE_VIEW, visitor_id="v1", user_id=None, had_cookie=True)
    assert not views.view(events.PAGE_VIEW, visitor_id="v1", user_id=None, had_cookie=True)
    assert views.view(events.PRICING_VIEWED, visitor_id="v1", user_id=None, had_cookie=True)
    assert views.view(events.PAGE_VIEW, visitor_id="v1", user_id=7, had_cookie=True)
    kept = [
        views.view(
            events.PAGE_VIEW,
            visitor_id=f"fresh{i}",
            user_id=None,
            had_cookie=False,
            fingerprint="same-device",
        )
        for i in range(COOKIELESS_VIEWS_PER_DAY + 50)
    ]
    assert kept.count(True) == COOKIELESS_VIEWS_PER_DAY
    assert asyncio.run(views.flush(db)) == 3 + COOKIELESS_VIEWS_PER_DAY
    assert views.pending == 0 and asyncio.run(views.flush(db)) == 0
    with db.session() as s:
        assert len(list(s.scalars(select(ProductEvent)))) == 3 + COOKIELESS_VIEWS_PER_DAY
    db.close()


def test_a_full_queue_drops_views_instead_of_growing():
    views = ViewRecorder(max_pending=5)
    for i in range(8):
        views.view(events.PAGE_VIEW, visitor_id=f"v{i}", user_id=None, had_cookie=True)
    assert views.pending == 5 and views.dropped == 3


def test_the_fixes_cost_uses_the_price_table_and_falls_back_to_the_two_settings(tmp_path):
    settings = make_settings(
        tmp_path,
        llm_prices={"scripted-1": [3.0, 12.0]},
        llm_input_usd_per_mtok=1.0,
        llm_output_usd_per_mtok=2.0,
    )
    assert settings.llm_price("scripted-1") == (3.0, 12.0)
    assert settings.llm_price("another-model") == (1.0, 2.0)
    default = make_settings(tmp_path, llm_model="gpt-x")
    assert default.llm_price_table == {"gpt-x": (0.15, 0.60)}
    from bugfixer.metering.models import UsageRecord

    with TestClient(create_app(settings, provider=ScriptedProvider())) as client:
        client.post("/api/v1/fixes", json=BROKEN)
        with client.app.state.ctx.db.session() as s:
            (usage,) = s.scalars(select(UsageRecord))
    assert usage.cost_microusd == 10 * 3 + 5 * 12
