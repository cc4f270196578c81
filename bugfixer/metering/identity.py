"""Who is asking: the signed visitor cookie, the signed-in account, and the fingerprint."""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from functools import lru_cache

from itsdangerous import BadSignature, Signer
from starlette.responses import Response

VISITOR_COOKIE = "bf_visitor"
VISITOR_COOKIE_MAX_AGE = 400 * 24 * 3600
SESSION_COOKIE = "bf_session"
SESSION_COOKIE_MAX_AGE = 30 * 24 * 3600


@dataclass(frozen=True)
class Identity:
    visitor_id: str | None = None
    user_id: int | None = None
    email: str | None = None
    is_admin: bool = False
    fingerprint: str | None = None
    via_api_key: bool = False
    network: str | None = None  # keyed hash of the network prefix: the per-network cap

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None


class SignedCookie:
    """An HttpOnly, SameSite=Lax cookie whose value is signed with the server secret."""

    def __init__(self, secret: str, *, name: str, max_age: int) -> None:
        self.name = name
        self.max_age = max_age
        self._signer = Signer(secret, salt=f"bugfixer.{name}")

    def read(self, raw: str | None) -> str | None:
        if not raw:
            return None
        try:
            return self._signer.unsign(raw).decode()
        except BadSignature:
            return None

    def sign(self, value: str) -> str:
        return self._signer.sign(value).decode()

    def set_on(self, response: Response, value: str, *, secure: bool) -> None:
        response.set_cookie(
            self.name,
            self.sign(value),
            max_age=self.max_age,
            httponly=True,
            samesite="lax",
            secure=secure,
            path="/",
        )

    def clear_on(self, response: Response) -> None:
        response.delete_cookie(self.name, path="/")


@lru_cache(maxsize=4096)  # every page asks; parsing the address costs more than hashing
def network_prefix(address: str | None) -> str:
    """The /24 (IPv4) or /64 (IPv6) a client address belongs to."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    bits = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))


def fingerprint(secret: str, *, client_address: str | None, user_agent: str) -> str:
    """A keyed hash: the raw address and User-Agent are never stored."""
    message = f"{network_prefix(client_address)}|{user_agent[:512]}".encode()
    return hmac.digest(secret.encode(), message, "sha256").hex()


def network_key(secret: str, *, client_address: str | None) -> str:
    """A keyed hash of the client's network prefix (never stored raw)."""
    message = f"network|{network_prefix(client_address)}".encode()
    return hmac.digest(secret.encode(), message, "sha256").hex()
