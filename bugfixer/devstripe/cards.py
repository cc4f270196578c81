"""Stripe's documented test cards, and the checks the hosted page makes before paying."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .objects import card_details

SUCCEEDS = frozenset(
    {
        "4242424242424242",
        "4000056655665556",
        "5555555555554444",
        "2223003122003222",
        "5200828282828210",
        "5105105105105100",
        "378282246310005",
        "371449635398431",
        "6011111111111117",
        "3056930009020004",
        "36227206271667",
        "3566002020360505",
        "6200000000000005",
    }
)
DECLINES = {
    "4000000000000002": "Your card was declined.",
    "4000000000009995": "Your card has insufficient funds.",
    "4000000000009987": "Your card was declined.",
    "4000000000009979": "Your card was declined.",
    "4000000000000069": "Your card has expired.",
    "4000000000000127": "Your card's security code is incorrect.",
    "4000000000000119": "An error occurred while processing your card. Try again in a little bit.",
}
NOT_A_TEST_CARD = (
    "Your card was declined. Your request was in test mode, but used a non test card. "
    "For a list of valid test cards, visit: https://stripe.com/docs/testing."
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EXPIRY = re.compile(r"^(\d{1,2})\s*/?\s*(\d{2}|\d{4})$")


class CardProblem(Exception):
    """Shown on the page: 400 for input the form should not accept, 402 for a decline."""

    def __init__(self, message: str, status: int = 400, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field


@dataclass(frozen=True)
class CardForm:
    email: str
    number: str
    expiry: str
    cvc: str

    @classmethod
    def from_form(cls, form: dict[str, Any]) -> CardForm:
        def text(name: str) -> str:
            value = form.get(name, "")
            return value.strip() if isinstance(value, str) else ""

        return cls(text("email"), text("card_number"), text("expiry"), text("cvc"))


def luhn_ok(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def check(form: CardForm, now: int) -> dict[str, Any]:
    """The card's details if it would be charged successfully; else ``CardProblem``."""
    if not _EMAIL.match(form.email):
        raise CardProblem("Your email address is incomplete or invalid.", field="email")
    number = re.sub(r"[\s-]", "", form.number)
    if not number:
        raise CardProblem("Your card number is incomplete.", field="card_number")
    if not number.isdigit() or not 12 <= len(number) <= 19 or not luhn_ok(number):
        raise CardProblem("Your card number is invalid.", field="card_number")
    match = _EXPIRY.match(form.expiry)
    if not match:
        raise CardProblem("Your card's expiration date is incomplete.", field="expiry")
    month, year = int(match.group(1)), int(match.group(2))
    year = year + 2000 if year < 100 else year
    if not 1 <= month <= 12:
        raise CardProblem("Your card's expiration month is invalid.", field="expiry")
    today = datetime.fromtimestamp(now, UTC)
    if (year, month) < (today.year, today.month):
        raise CardProblem("Your card's expiration date is in the past.", field="expiry")
    if year > today.year + 50:
        raise CardProblem("Your card's expiration year is invalid.", field="expiry")
    cvc_length = 4 if number.startswith(("34", "37")) else 3
    if not form.cvc:
        raise CardProblem("Your card's security code is incomplete.", field="cvc")
    if not form.cvc.isdigit() or len(form.cvc) != cvc_length:
        raise CardProblem("Your card's security code is invalid.", field="cvc")
    if number in DECLINES:
        raise CardProblem(DECLINES[number], status=402, field="card_number")
    if number not in SUCCEEDS:
        raise CardProblem(NOT_A_TEST_CARD, status=402, field="card_number")
    return card_details(number, month, year)
