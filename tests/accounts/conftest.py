"""Helpers for account tests, acting like flaskr's AuthActions."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bugfixer.accounts.mail import OutboxMessage
from bugfixer.main import create_app
from tests.conftest import csrf_token, make_settings
from tests.support.providers import ScriptedProvider

PASSWORD = "correct horse battery"
BROKEN = "def f()\n    return 1\n"


class Auth:
    def __init__(self, client: TestClient) -> None:
        self.client = client

    def signup(self, email: str = "ada@example.com", password: str = PASSWORD, **extra: str):  # type: ignore[no-untyped-def]
        token = csrf_token(self.client, "/signup")
        data = {"email": email, "password": password, "csrf_token": token, **extra}
        return self.client.post("/signup", data=data, follow_redirects=False)

    def login(self, email: str = "ada@example.com", password: str = PASSWORD, **extra: str):  # type: ignore[no-untyped-def]
        token = csrf_token(self.client, "/login")
        data = {"email": email, "password": password, "csrf_token": token, **extra}
        return self.client.post("/login", data=data, follow_redirects=False)

    def logout(self):  # type: ignore[no-untyped-def]
        token = csrf_token(self.client, "/")
        return self.client.post("/logout", data={"csrf_token": token}, follow_redirects=False)

    def fix(self, **kwargs):  # type: ignore[no-untyped-def]
        return self.client.post("/api/v1/fixes", json={"code": BROKEN}, **kwargs)

    def outbox(self) -> list[OutboxMessage]:
        """Every message sent so far (mail goes out after the answer: wait for it)."""
        self.client.portal.call(self.client.app.state.ctx.postman.drain)
        with self.client.app.state.ctx.db.session() as s:
            return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))

    def link(self, kind: str, to: str | None = None) -> str:
        """The path of the newest ``/reset/`` or ``/confirm/`` link mailed (to ``to``)."""
        for message in reversed(self.outbox()):
            match = re.search(rf"http://testserver(/{kind}/\S+)", message.body)
            if match and to in (None, message.to):
                return match.group(1)
        raise AssertionError(f"no {kind} link in the outbox")

    def reset_link(self) -> str:
        return self.link("reset")

    def confirm_link(self, to: str | None = None) -> str:
        return self.link("confirm", to)

    def confirm(self, to: str | None = None):  # type: ignore[no-untyped-def]
        return self.client.get(self.confirm_link(to))


@pytest.fixture
def app(tmp_path, database_url):  # type: ignore[no-untyped-def]
    """Runs each account test on SQLite and on PostgreSQL."""
    return create_app(
        make_settings(tmp_path, database_url=database_url), provider=ScriptedProvider()
    )


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        yield c


@pytest.fixture
def auth(client) -> Auth:  # type: ignore[no-untyped-def]
    return Auth(client)
