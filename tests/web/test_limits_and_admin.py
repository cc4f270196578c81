"""Rate limits answer 429 with Retry-After; admin pages are for admins only."""

from __future__ import annotations

from fastapi.testclient import TestClient

from bugfixer.main import create_app
from tests.accounts.conftest import Auth
from tests.conftest import csrf_token, make_settings
from tests.support.providers import ScriptedProvider


def make_client(tmp_path, client=("testclient", 50000), **settings) -> TestClient:  # type: ignore[no-untyped-def]
    app = create_app(make_settings(tmp_path, **settings), provider=ScriptedProvider())
    return TestClient(app, client=client)


def test_login_attempts_are_limited_with_retry_after(tmp_path):
    with make_client(tmp_path, rate_limit_login="3/minute") as client:
        auth = Auth(client)
        codes = [auth.login(password="wrong password").status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        r = auth.login(password="wrong password")
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1


def test_fix_api_is_limited_per_visitor(tmp_path):
    with make_client(tmp_path, rate_limit_fix="2/minute", free_fixes=10) as client:
        codes = [
            client.post("/api/v1/fixes", json={"code": "x = (1"}).status_code for _ in range(3)
        ]
        assert codes == [200, 200, 429]
        body = client.post("/api/v1/fixes", json={"code": "x = (1"}).json()
        assert body["error"] == "rate_limited" and body["retry_after"] >= 1


def test_signup_and_reset_are_limited_per_ip(tmp_path):
    with make_client(tmp_path, rate_limit_signup="1/minute", rate_limit_reset="1/minute") as client:
        auth = Auth(client)
        assert auth.signup().status_code == 303
        auth.logout()
        assert auth.signup(email="b@example.com").status_code == 429
        data = {"email": "a@example.com", "csrf_token": csrf_token(client, "/reset")}
        assert client.post("/reset", data=data).status_code == 200
        assert client.post("/reset", data=data).status_code == 429


def test_invalid_rate_limit_setting_stops_start_up_naming_it(tmp_path):
    import pytest

    from bugfixer.config import SettingsError

    with pytest.raises(SettingsError, match="BUGFIXER_RATE_LIMIT_LOGIN"):
        create_app(make_settings(tmp_path, rate_limit_login="lots"), provider=ScriptedProvider())


def test_admin_page_is_for_admins_only(tmp_path):
    with make_client(tmp_path, admin_emails="boss@example.com") as client:
        auth = Auth(client)
        assert client.get("/admin", follow_redirects=False).status_code == 303
        auth.signup(email="user@example.com")
        auth.confirm("user@example.com")
        assert client.get("/admin").status_code == 403
        auth.logout()
        auth.signup(email="Boss@example.com")
        # Anyone can sign up with the address; only its owner can open the mailed link.
        assert client.get("/admin").status_code == 403
        assert auth.confirm("boss@example.com").status_code == 200
        page = client.get("/admin")
        assert page.status_code == 200 and 'id="kpi-mrr"' in page.text


def test_dev_outbox_is_for_this_machine_only(tmp_path):
    with make_client(tmp_path, client=("127.0.0.1", 50000)) as client:
        assert client.get("/dev/outbox").status_code == 200
    with make_client(tmp_path, client=("::1", 50000)) as client:
        assert client.get("/dev/outbox").status_code == 200
    with make_client(tmp_path, client=("192.0.2.10", 50000)) as client:
        assert client.get("/dev/outbox").status_code == 404
    # Behind a proxy on this machine, the client it names is the one that counts.
    proxied = make_client(tmp_path, client=("127.0.0.1", 50000), trusted_proxies="127.0.0.1")
    with proxied as client:
        r = client.get("/dev/outbox", headers={"X-Forwarded-For": "192.0.2.10"})
        assert r.status_code == 404


def test_dev_outbox_is_hidden_in_production(tmp_path):
    prod = make_client(
        tmp_path / "prod",
        client=("127.0.0.1", 50000),
        env="production",
        public_url="https://fixer.example.com",
        contact_email="help@fixer.example.com",
        secret_key="Qx7vR2pL9mW4tY8kN3bH6jD1sF5gZ0cA-e_uI",
        stripe_secret_key="sk_live_51Hc8dQ2eZvKYlo2C0aBcDeFgHi",
        stripe_webhook_secret="whsec_x",
    )
    with prod as client:
        assert client.get("/dev/outbox").status_code == 404
