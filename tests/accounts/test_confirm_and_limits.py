"""Confirming an address, mail that never holds up (or gives away) an answer, sign-in limits."""

from __future__ import annotations

import logging
import threading
import time

import itsdangerous.timed
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bugfixer.accounts.mail import Email, MailError
from bugfixer.accounts.models import User
from bugfixer.main import create_app
from tests.accounts.conftest import PASSWORD, Auth
from tests.conftest import csrf_token, make_settings
from tests.support.providers import ScriptedProvider


def verified_at(client, email: str = "ada@example.com"):  # type: ignore[no-untyped-def]
    with client.app.state.ctx.db.session() as s:
        return s.scalar(select(User.verified_at).where(User.email == email))


def resend(client):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/account")
    return client.post("/account/confirm", data={"csrf_token": token}, follow_redirects=False)


# -- confirming the address -------------------------------------------------------------


def test_sign_up_mails_a_link_that_confirms_the_address_once(auth, client):
    auth.signup()
    page = client.get("/account").text
    assert "not confirmed yet" in page and "Send the link again" in page
    [welcome] = auth.outbox()
    assert welcome.to == "ada@example.com"
    link = auth.confirm_link()
    assert client.get(link).status_code == 200
    assert verified_at(client) is not None
    assert "confirmed on" in client.get("/account").text
    again = client.get(link)
    assert again.status_code == 400 and "already been used" in again.text


def test_the_link_works_without_being_signed_in(auth, client):
    auth.signup()
    auth.logout()
    r = auth.confirm()
    assert r.status_code == 200 and "ada@example.com is confirmed" in r.text


def test_a_tampered_or_expired_link_confirms_nothing(auth, client, monkeypatch):
    auth.signup()
    link = auth.confirm_link()
    r = client.get(link[:-3] + "xyz")
    assert r.status_code == 400 and "not valid" in r.text
    real_time = time.time
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real_time() + 8 * 86_400)
    r = client.get(link)
    assert r.status_code == 400 and "expired" in r.text
    assert verified_at(client) is None


def test_unconfirmed_accounts_work_normally(auth, client):
    auth.signup()
    assert auth.fix().status_code == 200
    auth.logout()
    assert auth.login().status_code == 303


def test_the_link_can_be_sent_again_from_the_account_page(tmp_path):
    settings = make_settings(tmp_path, rate_limit_confirm="2/minute")
    with TestClient(create_app(settings, provider=ScriptedProvider())) as client:
        auth = Auth(client)
        auth.signup()
        r = resend(client)
        assert r.status_code == 303 and r.headers["location"] == "/account?confirm=sent"
        assert "We sent a new confirmation link" in client.get(r.headers["location"]).text
        assert len(auth.outbox()) == 2
        assert resend(client).status_code == 303
        assert resend(client).status_code == 429
        assert len(auth.outbox()) == 3
        assert client.get(auth.confirm_link()).status_code == 200


def test_sending_again_needs_the_form_token_and_a_confirmed_address_gets_nothing(auth, client):
    auth.signup()
    r = client.post("/account/confirm", data={}, follow_redirects=False)
    assert r.status_code == 403
    auth.confirm()
    assert resend(client).headers["location"] == "/account"
    assert len(auth.outbox()) == 1


# -- mail goes out after the answer ---------------------------------------------------------


class HeldMailer:
    """Holds every message until released, as a slow mail server would."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.sent: list[Email] = []

    def send(self, email: Email) -> None:
        assert self.release.wait(30), "never released"
        self.sent.append(email)


class BrokenMailer:
    def send(self, email: Email) -> None:
        raise MailError("could not send mail via smtp.example.com:587: refused")


def ask_for_a_reset(client, email: str = "ada@example.com", **headers: str):  # type: ignore[no-untyped-def]
    data = {"email": email, "csrf_token": csrf_token(client, "/reset")}
    return client.post("/reset", data=data, headers=headers)


def test_a_reset_is_answered_before_its_mail_is_sent(auth, client):
    auth.signup()
    auth.logout()
    auth.outbox()
    held = HeldMailer()
    client.app.state.ctx.postman.mailer = held
    known = ask_for_a_reset(client)
    unknown = ask_for_a_reset(client, "nobody@example.com")
    # Both answered while the one message is still waiting for the mail server.
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("ada@example.com", "X") == unknown.text.replace(
        "nobody@example.com", "X"
    )
    assert held.sent == []
    held.release.set()
    client.portal.call(client.app.state.ctx.postman.drain)
    assert [m.to for m in held.sent] == ["ada@example.com"]


def test_a_mail_failure_is_logged_and_the_visitor_sees_the_usual_answer(auth, client, caplog):
    auth.signup()
    auth.outbox()
    client.app.state.ctx.postman.mailer = BrokenMailer()
    caplog.set_level(logging.ERROR, logger="bugfixer.mail")
    r = ask_for_a_reset(client)
    client.portal.call(client.app.state.ctx.postman.drain)
    assert r.status_code == 200 and "If an account exists" in r.text
    assert "could not send the password reset email" in caplog.text


def test_emailed_links_never_follow_the_host_header(auth, client):
    auth.signup(email="victim@example.com")
    auth.logout()
    ask_for_a_reset(client, "victim@example.com", Host="attacker.example")
    body = auth.outbox()[-1].body
    assert "attacker.example" not in body and "http://testserver/reset/" in body


def test_emailed_links_use_the_public_url_when_set(tmp_path):
    settings = make_settings(tmp_path, public_url="https://fixer.example.com/")
    with TestClient(create_app(settings, provider=ScriptedProvider())) as client:
        auth = Auth(client)
        auth.signup()
        assert "https://fixer.example.com/confirm/" in auth.outbox()[-1].body


# -- sign-in limits ----------------------------------------------------------------------------


@pytest.fixture
def limited(tmp_path):  # type: ignore[no-untyped-def]
    settings = make_settings(
        tmp_path, rate_limit_login="3/minute", rate_limit_login_email="6/minute"
    )
    return create_app(settings, provider=ScriptedProvider())


def from_address(app, address: str) -> TestClient:  # type: ignore[no-untyped-def]
    """Another client of an app already running (its lifespan belongs to the first)."""
    return TestClient(app, client=(address, 50000))


def test_wrong_passwords_from_elsewhere_do_not_lock_the_owner_out(limited):
    with from_address(limited, "198.51.100.7") as owner:
        Auth(owner).signup()
        Auth(owner).logout()
        attacker = Auth(from_address(limited, "203.0.113.5"))
        codes = [attacker.login(password="wrong guess!").status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        assert Auth(owner).login(password=PASSWORD).status_code == 303


def test_guesses_from_many_addresses_meet_the_slower_per_email_limit(limited):
    codes = []
    with from_address(limited, "203.0.113.1"):
        for n in range(4):
            guesser = Auth(from_address(limited, f"203.0.113.{n + 1}"))
            codes += [guesser.login(password="wrong guess!").status_code for _ in range(2)]
    assert codes == [401] * 6 + [429, 429]


def test_one_address_trying_many_accounts_is_limited(limited):
    with from_address(limited, "203.0.113.9") as client:
        auth = Auth(client)
        codes = [auth.login(email=f"user{n}@example.com").status_code for n in range(4)]
    assert codes == [401, 401, 401, 429]
