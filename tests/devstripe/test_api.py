"""The REST API through the real stripe SDK: catalog, customers, errors, idempotency."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from starlette.testclient import TestClient

from bugfixer.devstripe import create_app
from bugfixer.devstripe.emulator import derive_webhook_url
from tests.support.server import serve

from .conftest import API_KEY, WEBHOOK_SECRET, Env, Plans, Receiver, build_app, sdk_client

SHAPES = json.loads((Path(__file__).parent / "stripe_keys.json").read_text())
"""Top-level keys of each object in Stripe's official fixtures (fixtures3.json, MIT)."""


def test_products_and_prices_are_created_and_listed_by_lookup_key(env: Env, plans: Plans) -> None:
    found = env.client.v1.prices.list(params={"lookup_keys": ["quarterly"], "active": True})

    assert [price.id for price in found.data] == [plans.quarterly.id]
    price = found.data[0]
    assert price.unit_amount == 1200
    assert price["recurring"]["interval"] == "month"
    assert price["recurring"]["interval_count"] == 3
    assert price.product == plans.product.id
    assert price.id.startswith("price_") and plans.product.id.startswith("prod_")
    assert price.livemode is False
    by_product = env.client.v1.prices.list(params={"product": plans.product.id})
    assert {p.lookup_key for p in by_product.data} == {"monthly", "quarterly"}


def test_transfer_lookup_key_moves_the_key_to_the_new_price(env: Env, plans: Plans) -> None:
    params = {
        "product": plans.product.id,
        "currency": "usd",
        "unit_amount": 1500,
        "recurring": {"interval": "month", "interval_count": 3},
        "lookup_key": "quarterly",
    }
    with pytest.raises(stripe.InvalidRequestError) as taken:
        env.client.v1.prices.create(params=params)
    assert taken.value.http_status == 400

    new = env.client.v1.prices.create(params={**params, "transfer_lookup_key": True})
    env.client.v1.prices.update(plans.quarterly.id, params={"active": False})

    found = env.client.v1.prices.list(params={"lookup_keys": ["quarterly"]})
    assert [p.id for p in found.data] == [new.id]
    old = env.client.v1.prices.retrieve(plans.quarterly.id)
    assert old.lookup_key is None and old.active is False
    active = env.client.v1.prices.list(params={"active": True, "product": plans.product.id})
    assert plans.quarterly.id not in {p.id for p in active.data}


def test_products_update_and_list(env: Env, plans: Plans) -> None:
    updated = env.client.v1.products.update(
        plans.product.id, params={"description": "Unlimited fixes", "metadata": {"plan": "all"}}
    )
    assert updated.description == "Unlimited fixes"
    assert updated.metadata.to_dict() == {"plan": "all"}
    listed = env.client.v1.products.list(params={"active": True})
    assert [p.id for p in listed.data] == [plans.product.id]


def test_customers_are_created_retrieved_and_updated(env: Env) -> None:
    customer = env.client.v1.customers.create(
        params={"email": "a@example.com", "metadata": {"account_id": "7"}}
    )
    assert customer.id.startswith("cus_")

    env.client.v1.customers.update(customer.id, params={"name": "Ada", "metadata": {"x": "1"}})
    again = env.client.v1.customers.retrieve(customer.id)

    assert again.email == "a@example.com"
    assert again.name == "Ada"
    assert again.metadata.to_dict() == {"account_id": "7", "x": "1"}


def test_objects_have_exactly_the_keys_of_the_official_fixtures(env: Env, plans: Plans) -> None:
    session = env.subscribe(plans.monthly.id)
    portal = env.client.v1.billing_portal.sessions.create(params={"customer": session.customer})
    raw = env.http.get(
        f"/_stripe/v1/invoices/{session.invoice}",
        headers={"Authorization": f"Bearer {API_KEY}"},
        params={"expand[]": "payments"},
    ).json()
    payment_intent = raw.pop("payments")["data"][0]["payment"]["payment_intent"]
    intent = env.client.v1.payment_intents.retrieve(payment_intent)
    refund = env.client.v1.refunds.create(params={"charge": intent.latest_charge})
    sub = env.client.v1.subscriptions.retrieve(session.subscription)
    line_items = env.client.v1.checkout.sessions.line_items.list(session.id)
    event = env.client.v1.events.list(params={"limit": 1}).data[0]
    objects = {
        "checkout.session": session,
        "subscription": sub,
        "subscription_item": sub["items"]["data"][0],
        "invoice": raw,
        "line_item": raw["lines"]["data"][0],
        "price": plans.monthly,
        "product": plans.product,
        "customer": env.client.v1.customers.retrieve(session.customer),
        "event": event,
        "charge": env.client.v1.charges.retrieve(intent.latest_charge),
        "refund": refund,
        "billing_portal.session": portal,
        "payment_intent": intent,
        "item": line_items.data[0],
        "plan": sub["items"]["data"][0]["plan"],
    }
    for name, obj in objects.items():
        data = obj if isinstance(obj, dict) and not hasattr(obj, "to_dict") else obj.to_dict()
        assert sorted(data) == SHAPES[name], name
        assert data["object"] == name
        assert data.get("livemode", False) is False
    assert session.id.startswith("cs_test_") and portal.id.startswith("bps_")
    assert sub["items"]["data"][0]["id"].startswith("si_")
    assert raw["id"].startswith("in_") and refund.id.startswith("re_")
    assert intent.latest_charge.startswith("ch_") and event.id.startswith("evt_")


def test_a_bad_api_key_gets_401_without_echoing_it(env: Env) -> None:
    client = stripe.StripeClient(
        "sk_live_secret123", base_addresses={"api": f"{env.base}/_stripe"}, max_network_retries=0
    )
    with pytest.raises(stripe.AuthenticationError) as error:
        client.v1.customers.list()
    assert error.value.http_status == 401
    assert "secret123" not in str(error.value.http_body)
    assert error.value.json_body["error"]["type"] == "invalid_request_error"

    missing = env.http.get("/_stripe/v1/customers")
    assert missing.status_code == 401
    assert missing.json()["error"]["type"] == "invalid_request_error"


def test_another_test_mode_key_is_refused(env: Env) -> None:
    """Only the instance's own key: with any sk_test_ key anyone could list customers."""
    client = stripe.StripeClient(
        "sk_test_guessed", base_addresses={"api": f"{env.base}/_stripe"}, max_network_retries=0
    )
    with pytest.raises(stripe.AuthenticationError) as error:
        client.v1.customers.list()
    assert error.value.http_status == 401
    assert env.client.v1.customers.list().data == []


def test_the_api_and_test_controls_answer_only_this_machine(env: Env, plans: Plans) -> None:
    session = env.checkout_session(plans.monthly.id)
    away = TestClient(build_app(env.db_path, Receiver()), client=("203.0.113.9", 50000))
    with away:
        api = away.get("/_stripe/v1/customers", headers={"Authorization": f"Bearer {API_KEY}"})
        assert api.status_code == 403
        assert "loopback" in api.json()["error"]["message"]
        assert away.post("/_stripe/_test/advance", json={"days": 400}).status_code == 403
        assert away.get("/_stripe/_test/now").status_code == 403
        # The hosted pages are what a shopper's browser visits: open to anyone with the id.
        page = away.get(f"/_stripe/checkout/{session.id}")
        assert page.status_code == 200 and "TEST MODE" in page.text


def test_the_webhook_url_is_learnt_from_the_bound_address_not_the_host_header(env: Env) -> None:
    r = env.http.post(
        "/_stripe/v1/customers",
        data={"email": "first@example.com"},
        headers={"Authorization": f"Bearer {API_KEY}", "Host": "attacker.test:9999"},
    )
    assert r.status_code == 200, r.text
    assert env.control("flush")["webhook_url"] == f"{env.base}/stripe/webhook"


def test_unknown_ids_get_404_resource_missing(env: Env) -> None:
    with pytest.raises(stripe.InvalidRequestError) as error:
        env.client.v1.subscriptions.retrieve("sub_nope")
    assert error.value.http_status == 404
    assert error.value.code == "resource_missing"
    assert error.value.json_body["error"]["message"] == "No such subscription: 'sub_nope'"

    unknown = env.http.get("/_stripe/v1/teapots", headers={"Authorization": f"Bearer {API_KEY}"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "invalid_request_error"


def test_missing_and_invalid_parameters_get_400(env: Env, plans: Plans) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        env.client.v1.products.create(params={})
    assert missing.value.http_status == 400
    assert missing.value.code == "parameter_missing"
    assert missing.value.param == "name"

    with pytest.raises(stripe.InvalidRequestError) as invalid:
        env.client.v1.prices.create(
            params={
                "product": plans.product.id,
                "currency": "usd",
                "unit_amount": 100,
                "recurring": {"interval": "fortnight"},
            }
        )
    assert invalid.value.code == "parameter_invalid"

    with pytest.raises(stripe.InvalidRequestError) as no_price:
        env.checkout_session("price_missing")
    assert no_price.value.http_status == 400
    assert no_price.value.code == "resource_missing"


def test_idempotency_key_replays_the_first_response(env: Env) -> None:
    first = env.client.v1.customers.create(
        params={"email": "once@example.com"}, options={"idempotency_key": "same-key"}
    )
    second = env.client.v1.customers.create(
        params={"email": "once@example.com"}, options={"idempotency_key": "same-key"}
    )

    assert second.id == first.id
    assert len(env.client.v1.customers.list(params={"email": "once@example.com"}).data) == 1
    with pytest.raises(stripe.IdempotencyError):
        env.client.v1.customers.create(
            params={"email": "other@example.com"}, options={"idempotency_key": "same-key"}
        )


def test_lists_paginate_newest_first(env: Env) -> None:
    ids = [env.client.v1.customers.create(params={"name": f"c{n}"}).id for n in range(5)]

    page = env.client.v1.customers.list(params={"limit": 2})
    assert [c.id for c in page.data] == ids[::-1][:2]
    assert page.has_more is True
    rest = env.client.v1.customers.list(params={"limit": 10, "starting_after": page.data[-1].id})
    assert [c.id for c in rest.data] == ids[::-1][2:]
    assert rest.has_more is False
    assert [c.id for c in env.client.v1.customers.list().auto_paging_iter()] == ids[::-1]


def test_state_survives_a_second_app_on_the_same_database(env: Env, plans: Plans) -> None:
    session = env.subscribe(plans.monthly.id)
    env.flush()

    with serve(build_app(env.db_path, Receiver())) as other_base:
        other = sdk_client(other_base)
        sub = other.v1.subscriptions.retrieve(session.subscription)
        found = other.v1.prices.list(params={"lookup_keys": ["monthly"]})
        events = other.v1.events.list(params={"type": "checkout.session.completed"})

    assert sub.status == "active"
    assert [p.id for p in found.data] == [plans.monthly.id]
    assert [e.data.object.id for e in events.data] == [session.id]


def test_pages_and_controls_need_no_api_key_but_say_test_mode(env: Env, plans: Plans) -> None:
    session = env.checkout_session(plans.monthly.id)
    assert session.url == f"{env.base}/_stripe/checkout/{session.id}"
    page = httpx.get(session.url)
    assert "TEST MODE" in page.text
    assert "<script" not in page.text.lower()
    assert env.http.get("/_stripe/_test/now").json()["now"] > 0


@pytest.mark.parametrize(
    ("root_path", "app_root_path", "expected"),
    [
        ("/_stripe", "", "http://shop.test:8000/stripe/webhook"),
        ("/app/_stripe", "/app", "http://shop.test:8000/app/stripe/webhook"),
        ("/emulator", "", "http://shop.test:8000/emulator/stripe/webhook"),
        ("", "", "http://shop.test:8000/stripe/webhook"),
    ],
)
def test_webhook_url_is_the_route_beside_the_mount(
    root_path: str, app_root_path: str, expected: str
) -> None:
    scope = {
        "type": "http",
        "scheme": "http",
        "method": "POST",
        "server": ("shop.test", 8000),
        "headers": [(b"host", b"attacker.test:9999")],  # never believed
        "path": f"{root_path}/v1/customers",
        "root_path": root_path,
        "app_root_path": app_root_path,
        "query_string": b"",
    }

    assert derive_webhook_url(Request(scope)) == expected


def test_an_explicit_webhook_url_is_used(tmp_path: Path) -> None:
    receiver = Receiver()
    webhook_app = Starlette(routes=[Route("/hooks", receiver.endpoint, methods=["POST"])])
    with serve(webhook_app) as hooks_base:
        devstripe = create_app(
            db_path=tmp_path / "explicit.sqlite3",
            webhook_secret=WEBHOOK_SECRET,
            api_key=API_KEY,
            webhook_url=f"{hooks_base}/hooks",
        )
        with serve(devstripe) as base, httpx.Client(base_url=base) as http:
            client = stripe.StripeClient(
                API_KEY, base_addresses={"api": base}, max_network_retries=0
            )
            customer = client.v1.customers.create(params={"email": "hooks@example.com"})
            assert http.post("/_test/flush", json={}).json()["delivered"] == 1

    assert [e.data.object.id for e in receiver.events] == [customer.id]
