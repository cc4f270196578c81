"""Outgoing email: over SMTP when configured, otherwise to the log and a dev outbox.

Without an SMTP server a developer still needs the password-reset link, so the
fallback logs the whole message and keeps it in a table a dev page lists.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Protocol

from sqlalchemy import String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from bugfixer.db import Base, UTCDateTime, utcnow

log = logging.getLogger("bugfixer.mail")


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str  # plain text

    def __post_init__(self) -> None:
        # A line break in a header would let input add headers (Bcc:) to the message.
        for name in ("to", "subject"):
            if any(c in getattr(self, name) for c in "\r\n"):
                raise ValueError(f"email {name} must be a single line")


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = "Code Bug Fixer <no-reply@localhost>"
    starttls: bool = True
    timeout_s: float = 10.0


class MailError(Exception):
    """The message could not be handed to the mail server."""


class Mailer(Protocol):
    def send(self, email: Email) -> None: ...


class SmtpMailer:
    """One SMTP connection per message: resets are rare, and nothing stale is kept open."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    def send(self, email: Email) -> None:
        cfg = self.config
        message = self._build(email)
        try:
            with smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s) as smtp:
                if cfg.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if cfg.username:
                    smtp.login(cfg.username, cfg.password or "")
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            # Not chained: the cause's text and traceback are outside our control.
            raise MailError(self._describe(exc)) from None

    def _build(self, email: Email) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.config.sender
        message["To"] = email.to
        message["Subject"] = email.subject
        message["Date"] = formatdate(usegmt=True)
        # An explicit domain: without one, make_msgid looks up this host's FQDN over DNS.
        domain = parseaddr(self.config.sender)[1].rpartition("@")[2] or "localhost"
        message["Message-ID"] = make_msgid(domain=domain)
        message.set_content(email.body)
        return message

    def _describe(self, exc: Exception) -> str:
        cfg = self.config
        detail = f"{type(exc).__name__}: {exc}"
        if cfg.password:
            detail = detail.replace(cfg.password, "***")
        return f"could not send mail via {cfg.host}:{cfg.port}: {detail}"


class OutboxMailer:
    """For development: the message goes to the log and to `store` (the outbox table)."""

    def __init__(self, store: Callable[[Email], None]) -> None:
        self._store = store

    def send(self, email: Email) -> None:
        log.info("Email to %s, subject %r:\n%s", email.to, email.subject, email.body)
        self._store(email)


class Postman:
    """Sends mail off the request path.

    A page never waits for a mail server: its answer takes as long whether or not a
    message went out (so timing does not tell who has an account), a slow or failing
    server costs the visitor nothing, and a failure is logged. Messages still on their
    way at shutdown are waited for (``drain``).
    """

    def __init__(self, mailer: Mailer) -> None:
        self.mailer = mailer
        self._sending: set[asyncio.Task[None]] = set()

    def post(self, email: Email, *, what: str) -> None:
        """Queue ``email`` (described as ``what`` in logs) and return at once."""
        task = asyncio.get_running_loop().create_task(self._send(email, what))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, email: Email, what: str) -> None:
        try:
            await asyncio.to_thread(self.mailer.send, email)
        except MailError as exc:
            log.error("could not send the %s email: %s", what, exc)
        except Exception:
            log.exception("could not send the %s email", what)

    async def drain(self) -> None:
        """Wait until every queued message has been handed over (or failed)."""
        while self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)


class OutboxMessage(Base):
    """A message OutboxMailer kept instead of sending, for the dev outbox page."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    to: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def store_in_outbox(*, session: Session, email: Email) -> None:
    session.add(OutboxMessage(to=email.to, subject=email.subject[:200], body=email.body))
    session.flush()


def recent_outbox(*, session: Session, limit: int = 50) -> list[OutboxMessage]:
    """Newest first."""
    query = (
        select(OutboxMessage)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))
