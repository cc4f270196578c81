"""Accounts: sign up, sign in, sessions, password resets, API keys, carrying usage over.

Plain functions with the session passed in. The units of work a route calls
(``reset_password``, ``create_api_key``, ...; sign-up and sign-in, which also take over
a browser's fixes, are in ``bugfixer.flows``) are run by ``Database.write`` in one
transaction each; slow password hashing happens before, outside any transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bugfixer.accounts.models import ApiKey, LoginSession, User
from bugfixer.accounts.passwords import hash_password, needs_rehash, verify_password
from bugfixer.db import utcnow
from bugfixer.errors import AppError, InvalidInput

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
SESSION_LIFETIME = timedelta(days=30)
RESET_LINK_MAX_AGE_S = 3600
CONFIRM_LINK_MAX_AGE_S = 7 * 24 * 3600
API_KEY_PREFIX = "bfk_"


class EmailTaken(AppError):
    status = 409
    code = "email_taken"


class BadCredentials(AppError):
    status = 401
    code = "bad_credentials"


class BadResetLink(AppError):
    status = 400
    code = "bad_reset_link"


class BadConfirmLink(AppError):
    status = 400
    code = "bad_confirm_link"


def normalize_email(raw: str) -> str:
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise InvalidInput("Enter a valid email address, like name@example.com.") from None
    return checked.normalized.lower()


def new_password_hash(password: str, *, email: str) -> str:
    check_password(password, email=email)
    return hash_password(password)


def check_password(password: str, *, email: str = "") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"Passwords can be at most {MAX_PASSWORD_LENGTH} characters.")
    if email and password.strip().lower() == email.lower():
        raise InvalidInput("Your password must not be your email address.")


@dataclass(frozen=True)
class NewAccount:
    """Checked and hashed sign-up details: the slow part, done before any transaction."""

    email: str
    password_hash: str


def prepare_account(*, email: str, password: str) -> NewAccount:
    email = normalize_email(email)
    check_password(password, email=email)
    return NewAccount(email=email, password_hash=hash_password(password))


def create_user(
    *, session: Session, account: NewAccount, trial_id: int, is_admin: bool = False
) -> User:
    """A new account drawing on ``trial_id`` (the browser's): signing up grants no new trial."""
    user = User(
        email=account.email,
        password_hash=account.password_hash,
        trial_id=trial_id,
        is_admin=is_admin,
    )
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError:
        raise EmailTaken("An account with this email already exists. Sign in instead.") from None
    return user


def find_user(*, session: Session, email: str) -> User | None:
    try:
        email = normalize_email(email)
    except InvalidInput:
        return None
    return session.scalar(select(User).where(User.email == email))


def check_credentials(*, user: User | None, password: str) -> User:
    """The account if this is its password; the refusal never says which part was wrong.

    Argon2 is slow on purpose: call it in a worker thread, outside any transaction.
    """
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise BadCredentials("That email and password do not match an account.")
    return user


def rehash_if_needed(*, user: User, password: str) -> str | None:
    """A new hash when the stored one uses weaker parameters (slow: call outside writes)."""
    return hash_password(password) if needs_rehash(user.password_hash) else None


def set_password(*, session: Session, user: User, password_hash: str) -> None:
    """Change the password and sign out every session of the account."""
    user.password_hash = password_hash
    user.password_changed_at = utcnow()
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))


# -- sessions -------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(*, session: Session, user: User) -> str:
    """A fresh session token (a new one at every sign-in, so a planted one is useless)."""
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            token_hash=_digest(token), user_id=user.id, expires_at=utcnow() + SESSION_LIFETIME
        )
    )
    return token


def end_session(*, session: Session, token: str) -> None:
    session.execute(delete(LoginSession).where(LoginSession.token_hash == _digest(token)))


def user_for_session(*, session: Session, token: str | None) -> User | None:
    if not token:
        return None
    return session.scalar(
        select(User)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(LoginSession.token_hash == _digest(token), LoginSession.expires_at > utcnow())
    )


# -- password reset -------------------------------------------------------------------


def _reset_serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="bugfixer.password-reset")


def _password_stamp(user: User) -> str:
    # Part of the token: once the password changes, every earlier link stops working.
    return _digest(user.password_hash)[:16]


def make_reset_token(*, user: User, secret: str) -> str:
    return _reset_serializer(secret).dumps({"u": user.id, "p": _password_stamp(user)})


def user_for_reset_token(
    *,
    session: Session,
    token: str,
    secret: str,
    max_age_s: int = RESET_LINK_MAX_AGE_S,
    lock: bool = False,
) -> User:
    try:
        data = _reset_serializer(secret).loads(token, max_age=max_age_s)
    except SignatureExpired:
        raise BadResetLink("This reset link has expired. Ask for a new one.") from None
    except BadSignature:
        raise BadResetLink("This reset link is not valid. Ask for a new one.") from None
    user = (
        session.get(User, data.get("u"), with_for_update=lock) if isinstance(data, dict) else None
    )
    if user is None or data.get("p") != _password_stamp(user):
        raise BadResetLink("This reset link has already been used. Ask for a new one.")
    return user


# -- API keys -------------------------------------------------------------------------


@dataclass(frozen=True)
class NewApiKey:
    key: ApiKey
    secret: str  # shown to the user once, never stored


MAX_API_KEY_NAME = 100


def create_api_key(*, session: Session, user_id: int, name: str) -> NewApiKey:
    name = name.strip()[:MAX_API_KEY_NAME] or "API key"
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        user_id=user_id,
        name=name,
        prefix=secret[: len(API_KEY_PREFIX) + 6],
        key_hash=_digest(secret),
    )
    session.add(key)
    session.flush()
    return NewApiKey(key=key, secret=secret)


def list_api_keys(*, session: Session, user_id: int) -> list[ApiKey]:
    return list(
        session.scalars(
            select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.created_at.desc())
        )
    )


def revoke_api_key(*, session: Session, user_id: int, key_id: int) -> bool:
    result = session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return result.rowcount == 1


API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class KeyHolder:
    user: User
    key_id: int
    stale: bool  # its last use is older than API_KEY_TOUCH_INTERVAL: worth a write


def user_for_api_key(*, session: Session, secret: str) -> KeyHolder | None:
    if not secret.startswith(API_KEY_PREFIX):
        return None
    found = session.execute(
        select(User, ApiKey.id, ApiKey.last_used_at)
        .join(ApiKey, ApiKey.user_id == User.id)
        .where(ApiKey.key_hash == _digest(secret), ApiKey.revoked_at.is_(None))
    ).first()
    if found is None:
        return None
    user, key_id, last_used = found
    stale = last_used is None or utcnow() - last_used > API_KEY_TOUCH_INTERVAL
    return KeyHolder(user=user, key_id=key_id, stale=stale)


def touch_api_key(*, session: Session, key_id: int) -> None:
    session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=utcnow()))


# -- units of work ------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    user_id: int
    token: str  # the new session token for the cookie


def rotate_session(*, session: Session, user: User, old_token: str | None) -> SignedIn:
    """A fresh session (a planted token is useless), ending the browser's old one."""
    if old_token:
        end_session(session=session, token=old_token)
    return SignedIn(user_id=user.id, token=start_session(session=session, user=user))


def sign_out(*, session: Session, token: str | None) -> None:
    if token:
        end_session(session=session, token=token)


def reset_password(
    *, session: Session, token: str, secret: str, password_hash: str, old_token: str | None
) -> SignedIn:
    """Set the new password if the link is still good (it works exactly once)."""
    user = user_for_reset_token(session=session, token=token, secret=secret, lock=True)
    set_password(session=session, user=user, password_hash=password_hash)
    return rotate_session(session=session, user=user, old_token=old_token)


# -- confirming the email address ---------------------------------------------------------


def _confirm_serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="bugfixer.confirm-email")


def make_confirm_token(*, user_id: int, email: str, secret: str) -> str:
    """The signed token of the link mailed to ``email``; it names the address it proves."""
    return _confirm_serializer(secret).dumps({"u": user_id, "e": email})


@dataclass(frozen=True)
class AddressState:
    email: str
    verified_at: datetime | None


def address_state(*, session: Session, user_id: int) -> AddressState:
    user = session.get(User, user_id)
    if user is None:
        raise BadCredentials("This account no longer exists.")
    return AddressState(email=user.email, verified_at=user.verified_at)


def confirm_email(
    *, session: Session, token: str, secret: str, max_age_s: int = CONFIRM_LINK_MAX_AGE_S
) -> AddressState:
    """Mark the address as its owner's: whoever opened the mailed link reads that mailbox.

    A link works once; later ones for the same address say it is done.
    """
    try:
        data = _confirm_serializer(secret).loads(token, max_age=max_age_s)
    except SignatureExpired:
        raise BadConfirmLink(
            "This confirmation link has expired. Send a new one from your account page."
        ) from None
    except BadSignature:
        data = None
    user = session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or data.get("e") != user.email:
        raise BadConfirmLink(
            "This confirmation link is not valid. Send a new one from your account page."
        )
    if user.verified_at is not None:
        raise BadConfirmLink(
            "This confirmation link has already been used: the address is confirmed."
        )
    user.verified_at = utcnow()
    return AddressState(email=user.email, verified_at=user.verified_at)
