"""`bugfixer stripe sync-plans` and `bugfixer stripe replay`, against the emulator's data."""

from __future__ import annotations

import json

import pytest
import stripe
from click.testing import CliRunner

from bugfixer.billing import webhooks
from bugfixer.billing.models import StripeEvent, Transaction
from bugfixer.cli import main
from tests.billing.conftest import sign_up, subscribe
from tests.billing.test_webhooks import deliver, raw_event, rows
from tests.conftest import make_settings


@pytest.fixture
def cli_env(monkeypatch, tmp_path, database_url):  # type: ignore[no-untyped-def]
    for name in list(__import__("os").environ):
        if name.startswith(("BUGFIXER_", "OPENAI_", "STRIPE_")):
            monkeypatch.delenv(name)
    settings = make_settings(tmp_path, database_url=database_url)
    monkeypatch.setenv("BUGFIXER_INSTANCE_DIR", str(settings.instance_dir))
    monkeypatch.setenv("BUGFIXER_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BUGFIXER_SECRET_KEY", settings.secret_key.get_secret_value())
    monkeypatch.chdir(tmp_path)


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_sync_plans_is_idempotent_and_moves_the_key_on_a_new_amount(cli_env, monkeypatch, tmp_path):
    first = run("stripe", "sync-plans")
    assert first.exit_code == 0, first.output
    assert first.output.count("created price") == 3
    again = run("stripe", "sync-plans")
    assert again.output.count("unchanged") == 3
    plans = [
        {
            "code": "quarterly",
            "name": "Quarterly",
            "amount_cents": 1500,
            "interval": "month",
            "interval_count": 3,
            "description": "Unlimited fixes, billed every 3 months.",
        },
    ]
    monkeypatch.setenv("BUGFIXER_PLANS", json.dumps(plans))
    moved = run("stripe", "sync-plans")
    assert "quarterly: new price, lookup key moved" in moved.output
    assert "quarterly: unchanged" in run("stripe", "sync-plans").output


def test_replay_runs_a_failed_event_again(cli_env, shop, monkeypatch):
    with shop.client() as client:
        sign_up(client)
        subscribe(shop, client)
    event = raw_event(shop, "invoice.paid")
    event["id"] = "evt_replay_me"
    with shop.app.state.ctx.db.transaction() as s:
        s.query(Transaction).delete()

    def broken(ctx, obj):  # type: ignore[no-untyped-def]
        raise RuntimeError("ledger offline")

    real = webhooks.HANDLERS["invoice.paid"]
    monkeypatch.setitem(webhooks.HANDLERS, "invoice.paid", broken)
    assert deliver(shop, event).status_code == 500
    monkeypatch.setitem(webhooks.HANDLERS, "invoice.paid", real)
    result = run("stripe", "replay", "evt_replay_me")
    assert result.exit_code == 0, result.output
    assert "evt_replay_me (invoice.paid): processed" in result.output
    (stored,) = rows(shop, StripeEvent, StripeEvent.id == "evt_replay_me")
    assert stored.status == "processed" and stored.error is None
    assert len(rows(shop, Transaction, Transaction.kind == "payment")) == 1
    missing = CliRunner().invoke(main, ["stripe", "replay", "evt_nope"])
    assert missing.exit_code == 1 and "no stored event" in missing.output


def test_synced_prices_are_found_by_lookup_key_through_the_sdk(cli_env):
    from bugfixer.cli import _gateway
    from bugfixer.config import load_settings

    run("stripe", "sync-plans")
    # The emulator keeps its data in a file, so a second instance sees the same prices.
    with _gateway(load_settings()) as gateway:
        client: stripe.StripeClient = gateway.client
        prices = client.v1.prices.list(params={"lookup_keys": ["bugfixer_annual"]}).data
    assert [(p.unit_amount, p.recurring.interval) for p in prices] == [(5000, "year")]
