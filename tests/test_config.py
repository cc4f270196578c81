"""Settings: defaults, environment names, and refusals that name the setting."""

from __future__ import annotations

import pytest

from bugfixer.config import SettingsError, load_settings

SECRET = "Qx7vR2pL9mW4tY8kN3bH6jD1sF5gZ0cA-e_uI"  # 37 varied characters, as generated
STRIPE_KEY = "sk_live_51Hc8dQ2eZvKYlo2C0aBcDeFgHi"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in list(__import__("os").environ):
        if name.startswith(("BUGFIXER_", "OPENAI_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_work_offline_with_sqlite_and_the_builtin_provider(tmp_path):
    s = load_settings()
    assert s.llm_provider == "builtin"
    assert s.free_fixes == 3
    assert s.resolved_database_url.startswith("sqlite:///")
    assert s.max_code_chars == 20_000 and s.max_error_chars == 10_000


def test_generated_secret_is_kept_in_the_instance_folder_and_reused(tmp_path):
    first = load_settings().signing_key
    assert len(first) >= 32
    assert load_settings().signing_key == first
    assert (tmp_path / "instance" / "secret_key").stat().st_mode & 0o077 == 0


def test_api_key_switches_the_default_provider_to_openai(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    s = load_settings()
    assert s.llm_provider == "openai"
    assert s.llm_base_url == "http://127.0.0.1:9/v1"
    monkeypatch.setenv("BUGFIXER_LLM_PROVIDER", "builtin")
    assert load_settings().llm_provider == "builtin"


def test_dotenv_file_is_read(tmp_path):
    (tmp_path / ".env").write_text("BUGFIXER_FREE_FIXES=7\n")
    assert load_settings().free_fixes == 7


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BUGFIXER_FREE_FIXES", "lots"),
        ("BUGFIXER_FREE_FIXES", "-1"),
        ("BUGFIXER_LLM_PROVIDER", "skynet"),
        ("BUGFIXER_LLM_TIMEOUT_S", "0"),
        ("BUGFIXER_MAX_CODE_CHARS", "5"),
        ("BUGFIXER_ENV", "staging"),
        ("BUGFIXER_TRIAL_POLICY", "none"),
        ("BUGFIXER_SMTP_PORT", "99999"),
    ],
)
def test_invalid_setting_stops_start_up_naming_it(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()


@pytest.mark.parametrize("secret", ["", "changeme", "short", "a" * 40, "abcd" * 10])
def test_production_refuses_a_missing_or_placeholder_secret(monkeypatch, secret):
    monkeypatch.setenv("BUGFIXER_ENV", "production")
    monkeypatch.setenv("BUGFIXER_PUBLIC_URL", "https://fixer.example.com")
    monkeypatch.setenv("STRIPE_SECRET_KEY", STRIPE_KEY)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_x")
    monkeypatch.setenv("BUGFIXER_SECRET_KEY", secret)
    with pytest.raises(SettingsError, match="BUGFIXER_SECRET_KEY"):
        load_settings()


def test_production_needs_a_public_url_for_emailed_links(monkeypatch):
    monkeypatch.setenv("BUGFIXER_ENV", "production")
    monkeypatch.setenv("BUGFIXER_SECRET_KEY", SECRET)
    monkeypatch.setenv("STRIPE_SECRET_KEY", STRIPE_KEY)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_x")
    with pytest.raises(SettingsError, match="BUGFIXER_PUBLIC_URL"):
        load_settings()


def test_production_accepts_a_real_secret(monkeypatch):
    monkeypatch.setenv("BUGFIXER_ENV", "production")
    monkeypatch.setenv("BUGFIXER_CONTACT_EMAIL", "help@fixer.example.com")
    monkeypatch.setenv("BUGFIXER_PUBLIC_URL", "https://fixer.example.com")
    monkeypatch.setenv("STRIPE_SECRET_KEY", STRIPE_KEY)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_x")
    monkeypatch.setenv("BUGFIXER_SECRET_KEY", SECRET)
    assert load_settings().signing_key == SECRET


@pytest.mark.parametrize(
    "key",
    [
        "sk_test_x",
        "sk_live_x",
        "pk_live_51Hc8dQ2eZvKYlo2C0aBcDeFgHi",  # the publishable key by mistake
        "whsec_51Hc8dQ2eZvKYlo2C0aBcDeFgHi",
        "sk_live_" + "a" * 30,
        "sk_live_51Hc8dQ2eZvKYlo2C0aBcDeFgHi ",
    ],
)
def test_production_refuses_a_stripe_key_of_the_wrong_shape(monkeypatch, key):
    monkeypatch.setenv("BUGFIXER_ENV", "production")
    monkeypatch.setenv("BUGFIXER_SECRET_KEY", SECRET)
    monkeypatch.setenv("BUGFIXER_PUBLIC_URL", "https://fixer.example.com")
    monkeypatch.setenv("STRIPE_SECRET_KEY", key)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_x")
    with pytest.raises(SettingsError, match="STRIPE_SECRET_KEY must be a Stripe"):
        load_settings()


@pytest.mark.parametrize(
    "key",
    [
        STRIPE_KEY,
        "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
        "rk_live_" + "Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7" * 3,
    ],
)
def test_production_accepts_stripe_secret_and_restricted_keys(monkeypatch, key):
    monkeypatch.setenv("BUGFIXER_ENV", "production")
    monkeypatch.setenv("BUGFIXER_SECRET_KEY", SECRET)
    monkeypatch.setenv("BUGFIXER_PUBLIC_URL", "https://fixer.example.com")
    monkeypatch.setenv("STRIPE_SECRET_KEY", key)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_x")
    monkeypatch.setenv("BUGFIXER_CONTACT_EMAIL", "help@fixer.example.com")
    assert not load_settings().stripe_emulated


def test_production_needs_a_contact_address_for_customers(monkeypatch):
    monkeypatch.setenv("BUGFIXER_ENV", "production")
    monkeypatch.setenv("BUGFIXER_PUBLIC_URL", "https://fixer.example.com")
    monkeypatch.setenv("STRIPE_SECRET_KEY", STRIPE_KEY)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_x")
    monkeypatch.setenv("BUGFIXER_SECRET_KEY", SECRET)
    with pytest.raises(SettingsError, match="BUGFIXER_CONTACT_EMAIL"):
        load_settings()


def test_production_refuses_the_stripe_emulator(monkeypatch):
    monkeypatch.setenv("BUGFIXER_ENV", "production")
    monkeypatch.setenv("BUGFIXER_SECRET_KEY", SECRET)
    monkeypatch.setenv("BUGFIXER_PUBLIC_URL", "https://fixer.example.com")
    with pytest.raises(SettingsError, match="STRIPE_SECRET_KEY"):
        load_settings()


def test_a_stripe_key_needs_its_webhook_secret(monkeypatch):
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_x")
    with pytest.raises(SettingsError, match="STRIPE_WEBHOOK_SECRET"):
        load_settings()
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_x")
    s = load_settings()
    assert not s.stripe_emulated and s.webhook_secret == "whsec_x"


def test_plans_can_be_configured_as_json(monkeypatch):
    from bugfixer.billing.plans import plan_catalog

    monkeypatch.setenv(
        "BUGFIXER_PLANS",
        '[{"code": "weekly", "name": "Weekly", "amount_cents": 199, "interval": "week"}]',
    )
    (plan,) = plan_catalog(load_settings())
    assert (plan.code, plan.amount_cents, plan.price_label, plan.period_label) == (
        "weekly",
        199,
        "$1.99",
        "per week",
    )
    monkeypatch.setenv("BUGFIXER_PLANS", '[{"code": "x", "name": "X", "amount_cents": -5}]')
    with pytest.raises(SettingsError, match="BUGFIXER_PLANS"):
        load_settings()
