"""The visitor cookie: a random id, signed so it cannot be forged or guessed."""

from __future__ import annotations

from itsdangerous import BadSignature, Signer
from starlette.responses import Response

VISITOR_COOKIE = "bf_visitor"
VISITOR_COOKIE_MAX_AGE = 400 * 24 * 3600


class VisitorCookies:
    def __init__(self, secret: str) -> None:
        self._signer = Signer(secret, salt="bugfixer.visitor")

    def read(self, raw: str | None) -> str | None:
        if not raw:
            return None
        try:
            return self._signer.unsign(raw).decode()
        except BadSignature:
            return None

    def sign(self, visitor_id: str) -> str:
        return self._signer.sign(visitor_id).decode()

    def set_on(self, response: Response, visitor_id: str, *, secure: bool) -> None:
        response.set_cookie(
            VISITOR_COOKIE,
            self.sign(visitor_id),
            max_age=VISITOR_COOKIE_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=secure,
            path="/",
        )
