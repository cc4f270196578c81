"""Free fixes and history follow the browser into the account; no fresh trials."""

from __future__ import annotations

from tests.accounts.conftest import BROKEN


def test_signing_up_keeps_the_browsers_usage_and_history(auth, client):
    ids = [auth.fix().json()["id"] for _ in range(2)]
    auth.signup()
    assert "1</strong> of 3 free fixes left" in client.get("/account").text
    history = client.get("/fixes").text
    assert all(f"/fixes/{i}" in history for i in ids)
    r = auth.fix()
    assert r.json()["usage"]["remaining"] == 0
    assert auth.fix().status_code == 402


def test_signing_in_elsewhere_shows_the_same_count_and_history(auth, client, app):
    from fastapi.testclient import TestClient

    from tests.accounts.conftest import Auth

    ids = [auth.fix().json()["id"] for _ in range(2)]
    auth.signup()
    auth.logout()
    with TestClient(app, headers={"User-Agent": "other-device/1"}) as phone:
        Auth(phone).login()
        page = phone.get("/account").text
        assert "1</strong> of 3 free fixes left" in page
        history = phone.get("/fixes").text
        assert all(f"/fixes/{i}" in history for i in ids)


def test_signing_in_from_a_used_browser_adds_its_usage_to_the_account(auth, client, app):
    from fastapi.testclient import TestClient

    from tests.accounts.conftest import Auth

    auth.signup()
    auth.logout()
    with TestClient(app, headers={"User-Agent": "library-pc/1"}) as pc:
        pc_auth = Auth(pc)
        for _ in range(2):
            assert pc.post("/api/v1/fixes", json={"code": BROKEN}).status_code == 200
        pc_auth.login()
        assert "1</strong> of 3 free fixes left" in pc.get("/account").text


def test_signing_out_does_not_give_a_fresh_trial(auth, client):
    auth.signup()
    for _ in range(3):
        assert auth.fix().status_code == 200
    auth.logout()
    assert auth.fix().status_code == 402
    client.cookies.clear()
    assert auth.fix().status_code == 402
