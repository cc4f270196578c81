"""Request bodies are counted as they arrive and cut off at the route's limit.

Each upload is a 300 MB body streamed by a generator over a raw socket (chunked, no
Content-Length), against the app served by uvicorn. A wrapper around the app counts the
body bytes the app actually read.
"""

from __future__ import annotations

import json
import os
import re
import select
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest

from bugfixer.main import create_app
from bugfixer.web.limits import FORM_MAX_BYTES, WEBHOOK_MAX_BYTES
from tests.conftest import make_settings
from tests.support.providers import ScriptedProvider
from tests.support.server import serve

HUGE = 300 * 1024 * 1024
CHUNK = 64 * 1024
# The client may get this far ahead of the server into socket buffers, no further.
GIVE_UP_AFTER = 48 * 1024 * 1024
# The server reads in pieces of its own size: at most one piece past the limit.
SLACK = 256 * 1024


class CountingApp:
    """Counts the request body bytes the app below it has read."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self.read = 0

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        async def counted():  # type: ignore[no-untyped-def]
            message = await receive()
            if message["type"] == "http.request":
                self.read += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)


@dataclass
class Served:
    base: str
    counter: CountingApp

    @property
    def settings(self):  # type: ignore[no-untyped-def]
        return self.counter.app.state.ctx.settings


@pytest.fixture
def served(tmp_path) -> Iterator[Served]:  # type: ignore[no-untyped-def]
    counter = CountingApp(create_app(make_settings(tmp_path), provider=ScriptedProvider()))
    with serve(counter) as base:
        yield Served(base, counter)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str
    sent: int  # body bytes the client had handed to the socket when the answer came


def huge_body(prefix: bytes = b"", total: int = HUGE) -> Iterator[bytes]:
    """``total`` bytes in chunks, without ever holding more than one chunk."""
    yield prefix
    filler = b"a" * CHUNK
    for _ in range(total // CHUNK):
        yield filler


def upload(base: str, path: str, headers: dict[str, str], body: Iterator[bytes]) -> Answer:
    """POST ``body`` chunked; stop sending as soon as the server answers."""
    url = urlsplit(base)
    sock = socket.create_connection((url.hostname, url.port), timeout=30)
    try:
        head = [f"POST {path} HTTP/1.1", f"Host: {url.netloc}", "Transfer-Encoding: chunked"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        sock.setblocking(False)
        sent, pending, finished = 0, b"", False
        while sent < GIVE_UP_AFTER:
            if not pending and not finished:
                chunk = next(body, None)
                finished = chunk is None
                pending = b"0\r\n\r\n" if chunk is None else b"%x\r\n%s\r\n" % (len(chunk), chunk)
            readable, writable, _ = select.select([sock], [sock] if pending else [], [], 30)
            if readable:
                break
            assert writable, "the server neither read the body nor answered"
            try:
                n = sock.send(pending)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent, pending = sent + n, pending[n:]
        assert sent < GIVE_UP_AFTER, f"the server was still reading after {sent:,} bytes"
        sock.setblocking(True)
        return _read_answer(sock, sent)
    finally:
        sock.close()


def _read_answer(sock: socket.socket, sent: int) -> Answer:
    data = b""
    while b"\r\n\r\n" not in data:
        more = sock.recv(65536)
        assert more, f"connection closed without an answer: {data!r}"
        data += more
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        more = sock.recv(65536)
        if not more:
            break
        rest += more
    return Answer(int(lines[0].split()[1]), headers, rest[:length].decode(), sent)


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def browser_session(base: str) -> tuple[str, str]:
    """A CSRF cookie header and the matching form token, as a browser has after a page."""
    page = httpx.get(base + "/")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    cookie = "; ".join(f"{name}={value}" for name, value in page.cookies.items())
    return cookie, token


def test_a_chunked_300_mb_json_body_stops_at_the_fix_limit(served):
    limit = served.settings.max_fix_body_bytes
    before = rss_bytes()
    answer = upload(
        served.base,
        "/api/v1/fixes",
        {"Content-Type": "application/json"},
        huge_body(b'{"code": "'),
    )
    assert answer.status == 413
    assert f"limit of {limit:,} bytes" in answer.body
    assert served.counter.read <= limit + SLACK
    assert rss_bytes() - before < 64 * 1024 * 1024


def test_a_chunked_multipart_fix_with_the_header_token_stops_at_the_limit(served):
    limit = served.settings.max_fix_body_bytes
    cookie, token = browser_session(served.base)
    boundary = "b0undary"
    prefix = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="code"\r\n\r\n'.encode() + b"print("
    )
    answer = upload(
        served.base,
        "/fix/stream",
        {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Cookie": cookie,
            "X-CSRF-Token": token,
            "Accept": "text/event-stream",
        },
        huge_body(prefix),
    )
    assert answer.status == 413, answer.body
    assert f"limit of {limit:,} bytes" in answer.body
    assert served.counter.read <= limit + SLACK


def test_a_multipart_form_without_the_header_token_is_refused_unread(served):
    cookie, token = browser_session(served.base)
    boundary = "b0undary"
    field = f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
    for path in ("/login", "/signup", "/fix/stream", "/"):
        served.counter.read = 0
        # Even a token among the fields does not count: it would have to be parsed first.
        body = huge_body(field.encode() + f"--{boundary}\r\n".encode())
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Cookie": cookie}
        answer = upload(served.base, path, headers, body)
        assert answer.status == 403, (path, answer.body)
        assert served.counter.read == 0, path


def test_a_sign_in_form_is_cut_off_at_the_small_form_limit(served):
    cookie, _ = browser_session(served.base)
    answer = upload(
        served.base,
        "/login",
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
        huge_body(b"email=a%40example.com&password="),
    )
    assert answer.status == 413
    assert f"limit of {FORM_MAX_BYTES:,} bytes" in answer.body
    assert served.counter.read <= FORM_MAX_BYTES + SLACK


def test_the_webhook_body_is_capped_before_its_signature_is_checked(served):
    answer = upload(
        served.base,
        "/stripe/webhook",
        {"Content-Type": "application/json", "Stripe-Signature": "t=1,v1=00"},
        huge_body(b'{"id": "evt_1", "object": "event", "data": "'),
    )
    assert answer.status == 413  # not 400 for the (wrong) signature: never got that far
    assert f"limit of {WEBHOOK_MAX_BYTES:,} bytes" in answer.body
    assert served.counter.read <= WEBHOOK_MAX_BYTES + SLACK


def test_a_declared_length_over_the_limit_is_refused_before_reading(served):
    url = urlsplit(served.base)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(
            f"POST /api/v1/fixes HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {HUGE}\r\n\r\n".encode()
        )
        answer = _read_answer(sock, 0)  # no body sent at all: the answer cannot wait for one
    assert answer.status == 413
    assert json.loads(answer.body)["error"] == "input_too_large"
    assert served.counter.read == 0


def test_a_browser_form_over_the_limit_gets_a_page_naming_the_limit(served):
    limit = served.settings.max_fix_body_bytes
    cookie, token = browser_session(served.base)
    answer = upload(
        served.base,
        "/",
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie,
            "Accept": "text/html",
        },
        huge_body(f"csrf_token={token}&code=".encode()),
    )
    assert answer.status == 413
    assert answer.headers["content-type"].startswith("text/html")
    assert f"limit of {limit:,} bytes" in answer.body
