"""Sign up, sign in, sign out, resets, and what a user keeps across them."""

from __future__ import annotations

import time

import itsdangerous.timed
import pytest
from sqlalchemy import func, select

from bugfixer.accounts.models import LoginSession, User
from tests.accounts.conftest import PASSWORD
from tests.conftest import csrf_token


def count_users(client) -> int:  # type: ignore[no-untyped-def]
    with client.app.state.ctx.db.session() as s:
        return s.scalar(select(func.count(User.id)))


def test_signup_signs_in_and_shows_the_account_page(auth, client):
    r = auth.signup()
    assert r.status_code == 303 and r.headers["location"] == "/account"
    assert "bf_session" in r.cookies
    page = client.get("/account")
    assert page.status_code == 200 and "ada@example.com" in page.text
    assert "3</strong> of 3 free fixes left" in page.text


def test_signup_goes_on_to_a_local_next_page_but_never_another_site(auth, client):
    assert auth.signup(next="/pricing").headers["location"] == "/pricing"
    auth.logout()
    assert auth.login(next="//evil.example/x").headers["location"] == "/account"
    auth.logout()
    assert auth.login(next="https://evil.example").headers["location"] == "/account"


def test_signing_up_with_a_taken_email_answers_as_for_a_new_one_and_tells_the_owner(auth, client):
    new = auth.signup(email="Ada@Example.com", next="/pricing")
    auth.logout()
    taken = auth.signup(email="  ADA@example.COM ", password="another password", next="/pricing")
    assert (taken.status_code, taken.headers["location"]) == (new.status_code, "/pricing")
    assert taken.text == new.text and "already" not in taken.text
    assert "bf_session" not in taken.cookies  # the other account is not signed in, of course
    assert count_users(client) == 1
    [welcome, warning] = auth.outbox()
    assert welcome.subject.startswith("Confirm your email address")
    assert warning.to == "ada@example.com"
    assert warning.subject == "Someone tried to sign up with your address"
    assert "http://testserver/login" in warning.body and "http://testserver/reset" in warning.body
    assert auth.login(password="another password").status_code == 401


@pytest.mark.parametrize(
    ("email", "password", "words"),
    [
        ("ada@example.com", "short", "at least 10 characters"),
        ("ada@example.com", "ada@example.com", "must not be your email"),
        ("not-an-email", PASSWORD, "valid email"),
        ("", PASSWORD, "valid email"),
    ],
)
def test_bad_signup_is_refused_with_a_reason_and_creates_nothing(
    auth, client, email, password, words
):
    r = auth.signup(email=email, password=password)
    assert r.status_code == 422 and words in r.text
    assert count_users(client) == 0


def test_wrong_password_and_unknown_email_get_the_same_answer(auth, client):
    auth.signup()
    auth.logout()
    wrong = auth.login(password="wrong password!")
    unknown = auth.login(email="nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert "do not match an account" in wrong.text and "do not match an account" in unknown.text
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_login_issues_a_new_session_and_logout_kills_it(auth, client):
    auth.signup()
    first = client.cookies["bf_session"]
    auth.logout()
    auth.login()
    second = client.cookies["bf_session"]
    assert first != second
    auth.logout()
    client.cookies.set("bf_session", second)  # a stolen copy of the old cookie
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_account_page_needs_a_sign_in_and_redirects_there(client):
    r = client.get("/account", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/account")


def test_password_reset_by_emailed_single_use_link(auth, client):
    auth.signup()
    auth.logout()
    token = csrf_token(client, "/reset")
    r = client.post("/reset", data={"email": "ada@example.com", "csrf_token": token})
    assert r.status_code == 200 and "If an account exists" in r.text
    link = auth.reset_link()
    assert client.get(link).status_code == 200
    token = csrf_token(client, link)
    r = client.post(
        link, data={"password": "a brand new secret", "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/account"
    auth.logout()
    assert auth.login(password=PASSWORD).status_code == 401
    assert auth.login(password="a brand new secret").status_code == 303
    again = client.get(link)
    assert again.status_code == 400 and "already been used" in again.text


def test_reset_for_an_unknown_email_says_the_same_and_sends_nothing(auth, client):
    token = csrf_token(client, "/reset")
    r = client.post("/reset", data={"email": "nobody@example.com", "csrf_token": token})
    assert r.status_code == 200 and "If an account exists" in r.text
    assert auth.outbox() == []


def test_expired_reset_link_is_refused(auth, client, monkeypatch):
    auth.signup()
    auth.logout()
    real_time = time.time
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real_time() - 7200)
    client.post(
        "/reset", data={"email": "ada@example.com", "csrf_token": csrf_token(client, "/reset")}
    )
    monkeypatch.setattr(itsdangerous.timed.time, "time", real_time)
    r = client.get(auth.reset_link())
    assert r.status_code == 400 and "expired" in r.text


def test_tampered_reset_link_is_refused(client):
    r = client.get("/reset/not-a-real-token")
    assert r.status_code == 400 and "not valid" in r.text


def test_password_change_signs_out_every_other_session(auth, client, app):
    from fastapi.testclient import TestClient

    auth.signup()
    with TestClient(app) as laptop:
        from tests.accounts.conftest import Auth

        Auth(laptop).login()
        assert laptop.get("/account", follow_redirects=False).status_code == 200
        client.post(
            "/reset", data={"email": "ada@example.com", "csrf_token": csrf_token(client, "/reset")}
        )
        link = auth.reset_link()
        client.post(
            link, data={"password": "another long secret", "csrf_token": csrf_token(client, link)}
        )
        assert laptop.get("/account", follow_redirects=False).status_code == 303
    with app.state.ctx.db.session() as s:
        assert s.scalar(select(func.count(LoginSession.id))) == 1


def test_forms_without_a_csrf_token_are_refused_and_change_nothing(client):
    client.get("/")
    for path, data in [
        ("/signup", {"email": "ada@example.com", "password": PASSWORD}),
        ("/login", {"email": "ada@example.com", "password": PASSWORD}),
        ("/", {"code": "x = 1"}),
        ("/fix/stream", {"code": "x = 1"}),
        ("/reset", {"email": "ada@example.com"}),
    ]:
        r = client.post(path, data=data, follow_redirects=False)
        assert r.status_code == 403, path
        bad = client.post(path, data={**data, "csrf_token": "forged"}, follow_redirects=False)
        assert bad.status_code == 403, path
    assert count_users(client) == 0
