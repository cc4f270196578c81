"""Terms, Privacy and Refund pages: sensible defaults the operator replaces with a file.

A page's text is plain prose: blank lines between paragraphs, ``# `` before a heading,
``- `` before a list item. ``{operator_name}``, ``{contact_email}`` and
``{free_fixes}`` are filled in, so one file works on every deployment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bugfixer.config import SettingsError

if TYPE_CHECKING:
    from bugfixer.config import Settings


@dataclass(frozen=True)
class LegalPage:
    slug: str
    title: str
    text: str


TERMS = """\
# What this service is
Code Bug Fixer explains the bug in code you paste, with the error it raises, and gives you \
a fixed version. Every visitor gets {free_fixes} free fixes; a subscription gives unlimited \
fixes for as long as it is paid. These terms are an agreement between you and \
{operator_name}, which runs this site.

# Your code
You keep every right to the code you paste and to the fixes you receive. Paste only code \
you are allowed to share. Fixes are checked automatically before you see them, but they are \
suggestions: review and test them before you rely on them.

# Fair use
Do not use the service to attack it or anyone else, to get around the free-fix limit, or to \
resell it. Accounts that do may be suspended.

# Subscriptions
A subscription renews automatically at the price shown when you subscribed, until you cancel \
it. You can cancel at any time from your account page (Manage billing) and keep unlimited \
fixes until the end of the period you paid for. See the Refund policy.

# Liability
The service is provided as it is. As far as the law allows, our liability is limited to \
what you paid us in the twelve months before a claim.

# Contact
{contact_line}
"""

PRIVACY = """\
# What is stored
- The code and error messages you submit and the fixes, so that you can see them again in \
your history.
- Your email address and a hash of your password, if you create an account.
- A random visitor id in a cookie, and a keyed hash of your network and browser, to count \
free fixes. Your IP address itself is never stored.
- Payment records (date, plan, amount) from Stripe. Card details go to Stripe and never \
reach this site.

# Who else sees it
When this site uses an AI model to fix code, your code and error message are sent to that \
model's provider to produce the fix. Your data is not sold or used for advertising.

# Cookies
Only the cookies the service needs: your visitor id, your sign-in session and a token that \
protects forms. No advertising or tracking cookies.

# Your choices
{contact_line} Ask for a copy of your data, or for your account and history to be deleted.
"""

REFUNDS = """\
# Cancelling
Cancel at any time from your account page (Manage billing). Your subscription will not \
renew, and you keep unlimited fixes until the end of the period you have paid for.

# Refunds
If you were charged for a renewal you did not want, or the service did not work for you, \
ask within 14 days of the charge and it will be refunded in full to your card. \
{contact_line}

# Failed fixes are free
An attempt that does not produce a verified fix never uses one of your free fixes.
"""

PAGES = (
    ("terms", "Terms of service", "terms_file", TERMS),
    ("privacy", "Privacy policy", "privacy_file", PRIVACY),
    ("refunds", "Refund policy", "refund_file", REFUNDS),
)


def load_legal_pages(settings: Settings) -> dict[str, LegalPage]:
    """Each page's text, read once at start-up; an unreadable file stops start-up."""
    contact = settings.contact_email
    values = {
        "{operator_name}": settings.operator_name,
        "{contact_email}": contact or "the address in the footer",
        "{free_fixes}": str(settings.free_fixes),
        "{contact_line}": f"Write to {contact}." if contact else "",
    }
    pages = {}
    for slug, title, setting, default in PAGES:
        path = getattr(settings, setting)
        text = default
        if path is not None:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                name = f"BUGFIXER_{setting.upper()}"
                raise SettingsError(f"{name}: cannot read {path}: {exc}") from None
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        pages[slug] = LegalPage(slug=slug, title=title, text=text)
    return pages
