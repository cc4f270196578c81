"""Only administrators see the operator's pages and API: by session or by API key."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bugfixer.main import create_app
from tests.accounts.conftest import Auth
from tests.admin.conftest import ADMIN_EMAIL, make_admin
from tests.billing.conftest import PASSWORD
from tests.conftest import csrf_token, make_settings
from tests.support.providers import ScriptedProvider

PAGES = [
    "/admin",
    "/admin?days=7",
    "/admin/users",
    "/admin/users/1",
    "/admin/events",
    "/admin/export/ledger.csv",
    "/admin/export/subscriptions.csv",
    "/admin/export/daily.csv",
]
API = "/api/v1/admin/metrics"


@pytest.fixture
def client(tmp_path):  # type: ignore[no-untyped-def]
    app = create_app(
        make_settings(tmp_path, admin_emails="boss@example.com"), provider=ScriptedProvider()
    )
    app.state.admin_key = make_admin(app)  # user 1, made by `bugfixer create-admin`
    with TestClient(app) as c:
        yield c


def test_anonymous_visitors_are_sent_to_sign_in_and_the_api_answers_401(client):
    for path in PAGES:
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/login?next=/admin"), path
    r = client.get(API)
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    token = csrf_token(client, "/")
    r = client.post(
        "/admin/events/evt_x/replay", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_a_signed_in_customer_gets_403_and_no_admin_link(client):
    auth = Auth(client)
    auth.signup(email="customer@example.com")
    for path in PAGES:
        assert client.get(path).status_code == 403, path
    r = client.get(API)
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert 'id="admin-link"' not in client.get("/").text
    key = client.post("/account/api-keys", data=_with_csrf(client, name="k"))
    secret = key.text.split('id="new-api-key">')[1].split("<")[0]
    r = client.get(API, headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 403


def test_an_admin_session_sees_every_page_and_the_admin_link(client):
    Auth(client).login(email=ADMIN_EMAIL, password=PASSWORD)
    assert 'id="admin-link"' in client.get("/").text
    for path in PAGES:
        assert client.get(path).status_code == 200, path
    body = client.get(API + "?days=7").json()
    assert len(body["daily"]) == 7


def test_admins_by_setting_are_admins_once_their_address_is_confirmed(client):
    auth = Auth(client)
    auth.signup(email="Boss@example.com")
    assert client.get("/admin").status_code == 403
    auth.confirm()
    assert client.get("/admin").status_code == 200
    assert client.get(API).status_code == 200


def test_an_admins_api_key_reads_the_metrics_without_a_session(client):
    key = client.app.state.admin_key
    r = client.get(API + "?start=2026-01-01&end=2026-01-31", headers=_bearer(key))
    assert r.status_code == 200
    assert r.json()["period"] == {"start": "2026-01-01", "end": "2026-01-31"}
    assert client.get(API, headers=_bearer("bfk_not-a-key")).status_code == 401


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("days=0", "days must be a whole number from 1 to 366"),
        ("days=abc", "days must be a whole number from 1 to 366"),
        ("days=400", "days must be a whole number from 1 to 366"),
        ("start=2026-01-01", "Give both start and end"),
        ("start=2026-02-01&end=2026-01-01", "start must not be after end"),
        ("start=2026-01-32&end=2026-02-01", "start must be a date like 2026-01-31"),
        ("start=2024-01-01&end=2026-01-01", "at most 366 days"),
        ("days=7&start=2026-01-01&end=2026-01-02", "either days or start and end"),
    ],
)
def test_a_bad_period_is_a_422_naming_the_problem(client, query, message):
    r = client.get(f"{API}?{query}", headers=_bearer(client.app.state.admin_key))
    assert r.status_code == 422
    assert r.json()["error"] == "invalid_input" and message in r.json()["message"]


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _with_csrf(client, **data: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"csrf_token": csrf_token(client, "/account"), **data}
