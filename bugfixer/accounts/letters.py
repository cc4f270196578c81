"""The emails accounts send: what each says, in one place.

Links are built by the caller from BUGFIXER_PUBLIC_URL or the server's own address,
never from the Host header a requester chose.
"""

from __future__ import annotations

from bugfixer.accounts.mail import Email


def reset_password(*, to: str, link: str) -> Email:
    return Email(
        to=to,
        subject="Reset your Code Bug Fixer password",
        body=(
            "Someone asked to reset the password of your Code Bug Fixer account.\n\n"
            f"To choose a new password, open this link within an hour:\n{link}\n\n"
            "The link works once. If this was not you, ignore this email."
        ),
    )


def confirm_address(*, to: str, link: str) -> Email:
    return Email(
        to=to,
        subject="Confirm your email address for Code Bug Fixer",
        body=(
            "Welcome to Code Bug Fixer.\n\n"
            f"To confirm that this address is yours, open this link within a week:\n{link}\n\n"
            "Your account works without it; confirming lets us trust the address "
            "(administrators, for one, must confirm theirs). "
            "If you did not sign up, ignore this email."
        ),
    )


def sign_up_attempt(*, to: str, site: str) -> Email:
    """To an address that already has an account: the sign-up form said nothing of it."""
    return Email(
        to=to,
        subject="Someone tried to sign up with your address",
        body=(
            "Someone tried to create a Code Bug Fixer account with this email address, "
            "which already has one. Nothing was changed.\n\n"
            f"If it was you, sign in at {site}/login or, if you forgot your password, "
            f"choose a new one at {site}/reset.\n\n"
            "If it was not you, you can ignore this email."
        ),
    )
