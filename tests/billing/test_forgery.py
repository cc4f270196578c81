"""Nothing a client sends can make the app trust a subscription Stripe did not sell."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bugfixer import migrate
from bugfixer.accounts.models import User
from bugfixer.billing.models import Subscription
from bugfixer.billing.plans import DEFAULT_PLANS
from bugfixer.billing.service import apply_subscription
from bugfixer.db import make_engine
from bugfixer.metering.models import Trial
from tests.billing.conftest import BROKEN, sign_up
from tests.support.server import serve

YEAR_2100 = int(datetime(2100, 1, 1, tzinfo=UTC).timestamp())


def annual_subscription(user_id: int, **price: Any) -> dict[str, Any]:
    """A subscription as Stripe's API shows it, on the annual plan unless ``price`` differs."""
    return {
        "id": "sub_forged",
        "object": "subscription",
        "customer": "cus_forged",
        "status": "active",
        "metadata": {"user_id": str(user_id), "plan_code": "annual"},
        "cancel_at_period_end": False,
        "items": {
            "object": "list",
            "data": [
                {
                    "price": {
                        "id": "price_forged",
                        "lookup_key": "bugfixer_annual",
                        "unit_amount": 5000,
                        "currency": "usd",
                        "recurring": {"interval": "year", "interval_count": 1},
                        **price,
                    },
                    "quantity": 1,
                    "current_period_start": YEAR_2100 - 86_400,
                    "current_period_end": YEAR_2100,
                }
            ],
        },
    }


class FakeStripe:
    """Another server on this machine answering a paid checkout for anything asked."""

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self.requests: list[str] = []
        self.app = Starlette(routes=[Route("/{path:path}", self.answer, methods=["GET", "POST"])])

    async def answer(self, request: Request) -> JSONResponse:
        self.requests.append(request.url.path)
        if "/subscriptions/" in request.url.path:
            return JSONResponse(annual_subscription(self.user_id))
        return JSONResponse(
            {
                "id": request.url.path.rsplit("/", 1)[-1],
                "object": "checkout.session",
                "status": "complete",
                "payment_status": "paid",
                "client_reference_id": str(self.user_id),
                "subscription": "sub_forged",
                "metadata": {"plan_code": "annual"},
                "amount_total": 5000,
                "currency": "usd",
            }
        )


def test_a_forged_host_cannot_make_the_app_fetch_a_checkout_from_another_port(shop):
    with shop.client() as client:
        sign_up(client, email="mallory@example.com")
        with shop.app.state.ctx.db.session() as s:
            user_id = s.scalar(select(User.id).where(User.email == "mallory@example.com"))
        fake = FakeStripe(user_id)
        with serve(fake.app) as fake_base:
            forged_host = fake_base.removeprefix("http://")
            client.get("/billing/success?session_id=cs_forged", headers={"Host": forged_host})
        assert fake.requests == []
        with shop.app.state.ctx.db.session() as s:
            assert s.scalars(select(Subscription)).all() == []
        assert client.post("/api/v1/fixes", json=BROKEN).json()["usage"]["limit"] == 3


@pytest.fixture
def session(database_url):  # type: ignore[no-untyped-def]
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    with sessionmaker(engine).begin() as s:
        trial = Trial(free_used=0)
        s.add(trial)
        s.flush()
        s.add(User(id=1, email="a@example.com", password_hash="x", trial_id=trial.id))
        s.flush()
        yield s
        s.rollback()
    engine.dispose()


def test_a_subscription_on_the_plans_own_price_is_applied(session):
    sub = apply_subscription(session=session, data=annual_subscription(1), plans=DEFAULT_PLANS)
    assert sub is not None and sub.plan_code == "annual"


@pytest.mark.parametrize(
    "price",
    [
        {"unit_amount": 1},
        {"currency": "jpy"},
        {"recurring": {"interval": "year", "interval_count": 10}},
        {"recurring": {"interval": "month", "interval_count": 1}},
        {"lookup_key": None, "metadata": {}},
    ],
)
def test_a_subscription_whose_price_differs_from_the_catalog_is_refused(session, price):
    data = annual_subscription(1, **price)
    if price.get("lookup_key", "x") is None:
        data["metadata"] = {"user_id": "1"}
    assert apply_subscription(session=session, data=data, plans=DEFAULT_PLANS) is None
    assert session.scalars(select(Subscription)).all() == []


def test_a_subscription_already_accepted_keeps_its_price_when_the_catalog_changes(session):
    apply_subscription(session=session, data=annual_subscription(1), plans=DEFAULT_PLANS)
    raised = tuple(
        p if p.code != "annual" else type(p)(**{**p.__dict__, "amount_cents": 6000})
        for p in DEFAULT_PLANS
    )
    renewed = annual_subscription(1, lookup_key=None)
    renewed["items"]["data"][0]["current_period_end"] = YEAR_2100 + 86_400 * 365
    sub = apply_subscription(session=session, data=renewed, plans=raised)
    assert sub is not None and sub.plan_code == "annual"
    assert sub.current_period_end == datetime(2100, 1, 1, tzinfo=UTC) + timedelta(days=365)
