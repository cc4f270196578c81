"""API keys: created on the account page, shown once, used as Bearer, revocable."""

from __future__ import annotations

import re

from tests.accounts.conftest import BROKEN
from tests.conftest import csrf_token


def create_key(client, name: str = "laptop") -> str:  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/account")
    page = client.post("/account/api-keys", data={"name": name, "csrf_token": token})
    assert page.status_code == 200
    return re.search(r'id="new-api-key">([^<]+)<', page.text).group(1)


def test_new_key_is_shown_once_and_listed_by_prefix_only(auth, client):
    auth.signup()
    key = create_key(client)
    assert re.fullmatch(r"bfk_[A-Za-z0-9_-]{32,}", key)
    page = client.get("/account").text
    assert key not in page
    assert key[:10] in page and "laptop" in page


def test_reloading_after_creating_a_key_creates_no_other_and_hides_it(auth, client):
    auth.signup()
    token = csrf_token(client, "/account")
    created = client.post(
        "/account/api-keys", data={"name": "ci", "csrf_token": token}, follow_redirects=False
    )
    assert created.status_code == 303
    assert created.headers["location"].startswith("/account/api-keys")
    shown = client.get("/account/api-keys")
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    key = re.search(r'id="new-api-key">([^<]+)<', shown.text).group(1)
    reloaded = client.get("/account/api-keys")
    assert reloaded.status_code == 200
    assert key not in reloaded.text
    assert len(re.findall(r"/account/api-keys/\d+/revoke", reloaded.text)) == 1


def test_a_key_remembers_when_it_was_last_used(auth, client, app):
    from bugfixer.accounts.models import ApiKey

    auth.signup()
    key = create_key(client)
    with app.state.ctx.db.session() as s:
        assert s.query(ApiKey).one().last_used_at is None
    headers = {"Authorization": f"Bearer {key}"}
    assert client.post("/api/v1/fixes", json={"code": BROKEN}, headers=headers).status_code == 200
    with app.state.ctx.db.session() as s:
        assert s.query(ApiKey).one().last_used_at is not None


def test_bearer_key_uses_the_accounts_quota_without_cookies(auth, client):
    auth.signup()
    key = create_key(client)
    client.cookies.clear()
    headers = {"Authorization": f"Bearer {key}", "User-Agent": "script/1"}
    r = client.post("/api/v1/fixes", json={"code": BROKEN}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["remaining"] == 2
    assert "bf_visitor" not in r.cookies
    auth.login()
    assert "2</strong> of 3 free fixes left" in client.get("/account").text
    fix_id = r.json()["id"]
    assert client.get(f"/fixes/{fix_id}").status_code == 200


def test_revoked_or_wrong_key_is_401_json(auth, client):
    auth.signup()
    key = create_key(client)
    page = client.get("/account").text
    key_id = re.search(r"/account/api-keys/(\d+)/revoke", page).group(1)
    r = client.post(
        f"/account/api-keys/{key_id}/revoke",
        data={"csrf_token": csrf_token(client, "/account")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "Revoked" in client.get("/account").text
    for header in (
        f"Bearer {key}",
        "Bearer bfk_" + "x" * 40,
        "Bearer nonsense",
        "Basic abc",
        "Bearer ",
    ):
        r = client.post("/api/v1/fixes", json={"code": BROKEN}, headers={"Authorization": header})
        assert r.status_code == 401, header
        assert r.json()["error"] == "unauthorized"


def test_someone_elses_key_cannot_be_revoked(auth, client):
    auth.signup()
    create_key(client)
    page = client.get("/account").text
    key_id = re.search(r"/account/api-keys/(\d+)/revoke", page).group(1)
    auth.logout()
    auth.signup(email="eve@example.com")
    r = client.post(
        f"/account/api-keys/{key_id}/revoke",
        data={"csrf_token": csrf_token(client, "/account")},
    )
    assert r.status_code == 404


def test_api_accepts_only_json_bodies(client):
    r = client.post(
        "/api/v1/fixes",
        content='{"code": "x = 1"}',
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code == 415 and r.json()["error"] == "unsupported_media_type"
    r = client.post("/api/v1/fixes", data={"code": "x = 1"})
    assert r.status_code == 415


def test_no_cors_is_offered_to_other_sites(client):
    r = client.options(
        "/api/v1/fixes",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in r.headers
    r = client.post(
        "/api/v1/fixes", json={"code": BROKEN}, headers={"Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in r.headers
