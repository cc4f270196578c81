"""Units of work that span domains: where accounts, metering and fixing meet.

Signing up or in takes over what the browser did anonymously (its free fixes and its
saved fixes, and in the product events the link from the browser to the account); each
domain does its own part, in one transaction run by
``Database.write``, so no domain imports another's models.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from bugfixer.accounts import service as accounts
from bugfixer.accounts.models import User
from bugfixer.accounts.service import BadCredentials, NewAccount, SignedIn
from bugfixer.analytics import events
from bugfixer.analytics.events import record_event
from bugfixer.errors import InvalidInput
from bugfixer.fixing.service import claim_fixes
from bugfixer.metering import service as metering
from bugfixer.metering.identity import Identity


def take_over_browser(*, session: Session, user: User, visitor_id: str | None) -> None:
    """The browser's free fixes count on the account and its fixes join the history."""
    if not visitor_id:
        return
    if metering.claim_browser(
        session=session, user_id=user.id, user_trial_id=user.trial_id, visitor_id=visitor_id
    ):
        claim_fixes(session=session, visitor_id=visitor_id, user_id=user.id)


def sign_up(
    *, session: Session, account: NewAccount, identity: Identity, old_token: str | None
) -> SignedIn | None:
    """Create the account on this browser's trial (signing up grants no new free fixes).

    None, changing nothing, when the address has an account already: the caller answers
    as for a new one and tells the owner by mail.
    """
    if accounts.find_user(session=session, email=account.email) is not None:
        return None
    trial_id = metering.trial_for_new_account(session=session, identity=identity)
    # BUGFIXER_ADMIN_EMAILS is read at every request, not copied onto the account.
    user = accounts.create_user(session=session, account=account, trial_id=trial_id)
    take_over_browser(session=session, user=user, visitor_id=identity.visitor_id)
    record_event(
        session=session, kind=events.SIGNED_UP, visitor_id=identity.visitor_id, user_id=user.id
    )
    return accounts.rotate_session(session=session, user=user, old_token=old_token)


def sign_in(
    *,
    session: Session,
    user_id: int,
    visitor_id: str | None,
    old_token: str | None,
    new_hash: str | None = None,
) -> SignedIn:
    """Sign a checked account in on this browser (``new_hash``: a rehashed password)."""
    user = session.get(User, user_id)
    if user is None:
        raise BadCredentials("That email and password do not match an account.")
    if new_hash is not None:
        user.password_hash = new_hash
    take_over_browser(session=session, user=user, visitor_id=visitor_id)
    record_event(session=session, kind=events.SIGNED_IN, visitor_id=visitor_id, user_id=user.id)
    return accounts.rotate_session(session=session, user=user, old_token=old_token)


@dataclass(frozen=True)
class MadeAdmin:
    email: str
    created: bool


def make_admin(*, session: Session, email: str, account: NewAccount | None) -> MadeAdmin:
    """Make an account an administrator, creating it from ``account`` when there is none."""
    user = accounts.find_user(session=session, email=email)
    if user is not None:
        user.is_admin = True
        return MadeAdmin(email=user.email, created=False)
    if account is None:
        raise InvalidInput(f"There is no account {email!r}; give a password to create it.")
    trial_id = metering.trial_for_new_account(session=session, identity=Identity())
    accounts.create_user(session=session, account=account, trial_id=trial_id, is_admin=True)
    return MadeAdmin(email=account.email, created=True)
