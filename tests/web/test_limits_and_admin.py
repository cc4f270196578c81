"""Rate limits answer 429 with Retry-After; admin pages are for admins only."""

from __future__ import annotations

from fastapi.testclient import TestClient

from bugfixer.main import create_app
from tests.accounts.conftest import Auth
from tests.conftest import csrf_token, make_settings
from tests.support.providers import ScriptedProvider


def make_client(tmp_path, **settings) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(create_app(make_settings(tmp_path, **settings), provider=ScriptedProvider()))


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
        assert client.get("/admin").status_code == 403
        auth.logout()
        auth.signup(email="Boss@example.com")
        page = client.get("/admin")
        assert page.status_code == 200 and 'id="kpi-mrr"' in page.text


def test_dev_outbox_is_visible_locally_and_hidden_in_production(tmp_path):
    with make_client(tmp_path) as client:
        assert client.get("/dev/outbox").status_code == 200
    prod = make_client(
        tmp_path / "prod",
        env="production",
        public_url="https://fixer.example.com",
        contact_email="help@fixer.example.com",
        stripe_secret_key="sk_live_x",
        stripe_webhook_secret="whsec_x",
    )
    with prod as client:
        assert client.get("/dev/outbox").status_code == 404
