from __future__ import annotations

import email
import email.policy
import logging
import socket
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm import sessionmaker as make_session_factory

from bugfixer.accounts.mail import (
    Email,
    MailError,
    OutboxMailer,
    OutboxMessage,
    SmtpConfig,
    SmtpMailer,
    recent_outbox,
    store_in_outbox,
)
from bugfixer.db import make_engine

# AUTH without TLS is what these loopback servers are for; aiosmtpd warns about it.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

USERNAME = "mailer"
PASSWORD = "correct-horse-battery"
RESET = Email(
    to="alice@example.com",
    subject="Reset your Code Bug Fixer password",
    body="Open http://localhost:8000/reset/abc123 to choose a new password.\n",
)


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage
    authenticated: bool


@dataclass
class Inbox:
    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope: Envelope) -> str:  # type: ignore[no-untyped-def]
        assert isinstance(envelope.content, bytes)
        raw = envelope.content.replace(b"\r\n", b"\n")  # as it was before the wire
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        self.received.append(
            Received(
                mail_from=str(envelope.mail_from),
                rcpt_tos=list(envelope.rcpt_tos),
                message=message,
                authenticated=bool(session.authenticated),
            )
        )
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_login(server, session, envelope, mechanism, auth_data) -> AuthResult:  # type: ignore[no-untyped-def]
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USERNAME.encode()
        and auth_data.password == PASSWORD.encode()
    )
    # handled=False: let the server answer 535 itself when the login is wrong.
    return AuthResult(success=ok, handled=False)


def run_server(inbox: Inbox, **smtp_options: object) -> Iterator[int]:
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **smtp_options)
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def smtp_port(inbox: Inbox) -> Iterator[int]:
    yield from run_server(inbox)


@pytest.fixture
def auth_smtp_port(inbox: Inbox) -> Iterator[int]:
    # Plain-text AUTH is fine on loopback; production servers get STARTTLS first.
    yield from run_server(
        inbox, authenticator=check_login, auth_require_tls=False, auth_required=True
    )


def config(port: int, **overrides: object) -> SmtpConfig:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": port,
        "starttls": False,
        "timeout_s": 5.0,
    }
    values.update(overrides)
    return SmtpConfig(**values)  # type: ignore[arg-type]


def test_smtp_mailer_delivers_subject_recipient_and_body(inbox: Inbox, smtp_port: int) -> None:
    SmtpMailer(config(smtp_port)).send(RESET)

    [got] = inbox.received
    assert got.rcpt_tos == ["alice@example.com"]
    assert got.mail_from == "no-reply@localhost"
    assert got.message["To"] == "alice@example.com"
    assert got.message["From"] == "Code Bug Fixer <no-reply@localhost>"
    assert got.message["Subject"] == "Reset your Code Bug Fixer password"
    assert got.message["Message-ID"].endswith("@localhost>")
    assert got.message.get_content() == RESET.body


def test_smtp_mailer_sends_non_ascii_text_intact(inbox: Inbox, smtp_port: int) -> None:
    SmtpMailer(config(smtp_port)).send(
        Email(to="zoe@example.com", subject="Réinitialisation ✓", body="Bonjour Zoë — voilà.\n")
    )

    [got] = inbox.received
    assert got.message["Subject"] == "Réinitialisation ✓"
    assert got.message.get_content() == "Bonjour Zoë — voilà.\n"


def test_smtp_mailer_logs_in_with_username_and_password(inbox: Inbox, auth_smtp_port: int) -> None:
    mailer = SmtpMailer(config(auth_smtp_port, username=USERNAME, password=PASSWORD))

    mailer.send(RESET)

    [got] = inbox.received
    assert got.authenticated
    assert got.message["Subject"] == RESET.subject


def test_wrong_smtp_password_raises_mail_error_without_the_password(
    inbox: Inbox, auth_smtp_port: int
) -> None:
    wrong = "wrong-password-do-not-echo"
    mailer = SmtpMailer(config(auth_smtp_port, username=USERNAME, password=wrong))

    with pytest.raises(MailError) as info:
        mailer.send(RESET)

    assert "535" in str(info.value)  # the server's "authentication failed"
    assert wrong not in "".join(traceback.format_exception(info.value))
    assert inbox.received == []


def test_server_that_requires_login_refuses_mail_without_it(
    inbox: Inbox, auth_smtp_port: int
) -> None:
    with pytest.raises(MailError):
        SmtpMailer(config(auth_smtp_port)).send(RESET)
    assert inbox.received == []


def test_starttls_required_but_not_offered_refuses_to_send_in_clear(
    inbox: Inbox, smtp_port: int
) -> None:
    mailer = SmtpMailer(config(smtp_port, starttls=True, username=USERNAME, password=PASSWORD))

    with pytest.raises(MailError, match="STARTTLS"):
        mailer.send(RESET)

    assert inbox.received == []


def test_unreachable_server_raises_mail_error() -> None:
    mailer = SmtpMailer(config(free_port(), timeout_s=0.5))

    with pytest.raises(MailError, match=r"127\.0\.0\.1"):
        mailer.send(RESET)


def test_silent_server_raises_mail_error_after_the_timeout() -> None:
    with socket.socket() as listener:  # accepts connections, never says hello
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        mailer = SmtpMailer(config(listener.getsockname()[1], timeout_s=0.2))

        with pytest.raises(MailError, match="timed out"):
            mailer.send(RESET)


def test_smtp_config_repr_hides_the_password() -> None:
    assert PASSWORD not in repr(config(25, username=USERNAME, password=PASSWORD))


@pytest.mark.parametrize(
    ("to", "subject"),
    [("alice@example.com", "Hi\r\nBcc: mallory@example.com"), ("a@x.com\nBcc: m@x.com", "Hi")],
)
def test_header_line_breaks_are_rejected(to: str, subject: str) -> None:
    with pytest.raises(ValueError, match="single line"):
        Email(to=to, subject=subject, body="text")


@pytest.fixture
def outbox_sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'outbox.db'}")
    OutboxMessage.__table__.create(engine)
    yield make_session_factory(engine)
    engine.dispose()


def test_outbox_mailer_logs_the_email_and_stores_it(
    outbox_sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    def store(message: Email) -> None:
        with outbox_sessions.begin() as session:
            store_in_outbox(session=session, email=message)

    with caplog.at_level(logging.INFO, logger="bugfixer.mail"):
        OutboxMailer(store).send(RESET)

    [record] = [r for r in caplog.records if r.name == "bugfixer.mail"]
    assert record.levelno == logging.INFO
    assert "alice@example.com" in record.getMessage()
    assert "http://localhost:8000/reset/abc123" in record.getMessage()
    with outbox_sessions() as session:
        [kept] = recent_outbox(session=session)
        assert (kept.to, kept.subject, kept.body) == (RESET.to, RESET.subject, RESET.body)
        assert kept.created_at.tzinfo is not None


def test_recent_outbox_lists_newest_first_up_to_the_limit(
    outbox_sessions: sessionmaker[Session],
) -> None:
    for n in range(5):
        with outbox_sessions.begin() as session:
            store_in_outbox(
                session=session, email=Email(to=f"u{n}@example.com", subject=f"#{n}", body="b")
            )

    with outbox_sessions() as session:
        assert [m.subject for m in recent_outbox(session=session, limit=3)] == ["#4", "#3", "#2"]
        assert len(recent_outbox(session=session)) == 5


def test_store_in_outbox_leaves_the_commit_to_the_caller(
    outbox_sessions: sessionmaker[Session],
) -> None:
    with outbox_sessions() as session:
        store_in_outbox(session=session, email=RESET)
        assert len(recent_outbox(session=session)) == 1  # flushed, visible in the transaction
        session.rollback()

    with outbox_sessions() as session:
        assert recent_outbox(session=session) == []
