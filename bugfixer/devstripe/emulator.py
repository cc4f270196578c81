"""The emulator's shared state: store, webhook dispatcher, and URLs learnt from requests."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from starlette.requests import Request

from .store import Store, Tx
from .webhooks import Dispatcher

T = TypeVar("T")
MOUNT_PATH = "/_stripe"
# The emulator's blocking work runs on threads of its own: the app it stands in for
# calls it from its own worker threads and waits, so sharing one pool could deadlock.
WORKER_THREADS = 8
WEBHOOK_PATH = "/stripe/webhook"


def origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def server_origin(request: Request) -> str | None:
    """The address this request came in on (the bound socket's), not its Host header."""
    server = request.scope.get("server")
    if not server or server[1] is None:
        return None
    host, port = server
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def is_loopback(request: Request) -> bool:
    """The peer is on this machine (after any trusted proxy's X-Forwarded-For)."""
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def base_url(request: Request) -> str:
    """devstripe's own absolute URL, mount prefix included (``http://host/_stripe``)."""
    return origin(request) + request.scope.get("root_path", "")


def derive_webhook_url(request: Request) -> str | None:
    """The app's webhook route next to the mount: ``/_stripe`` → ``/stripe/webhook``."""
    root = request.scope.get("root_path", "")
    app_root = request.scope.get("app_root_path", "")
    if root.endswith(MOUNT_PATH):
        prefix = root[: -len(MOUNT_PATH)]
    elif app_root and root.startswith(app_root):
        prefix = app_root
    else:
        prefix = root
    own = server_origin(request)
    return None if own is None else own + prefix + WEBHOOK_PATH


class Emulator:
    def __init__(
        self, *, db_path: str | Path, webhook_secret: str, webhook_url: str | None, api_key: str
    ):
        self.api_key = api_key
        self.store = Store(db_path)
        self.dispatcher = Dispatcher(self.store, webhook_secret)
        self._executor = ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="devstripe")
        self._learn_webhook_url = webhook_url is None
        self._learn_api_version = True
        if webhook_url is not None:
            with self.store.transaction() as tx:
                tx.set_setting("webhook_url", webhook_url)

    async def run(self, fn: Callable[..., T], /, *args: Any) -> T:
        """Run blocking emulator work on the emulator's own threads."""
        job = functools.partial(fn, *args)
        return await asyncio.get_running_loop().run_in_executor(self._executor, job)

    @contextmanager
    def transaction(self, request: Request | None = None) -> Iterator[Tx]:
        """A store transaction; events it emitted are handed to the webhook worker."""
        with self.store.transaction() as tx:
            if request is not None:
                tx.base_url = base_url(request)
            yield tx
        if tx.emitted:
            self.dispatcher.kick()

    def observe(self, request: Request) -> None:
        """Learn the webhook URL and API version from the first API request we see.

        Each app instance re-learns them once, so a server restarted on another port
        does not keep posting webhooks to the old address.
        """
        version = request.headers.get("stripe-version")
        if not (self._learn_webhook_url or (self._learn_api_version and version)):
            return
        webhook_url = derive_webhook_url(request) if self._learn_webhook_url else None
        with self.store.transaction() as tx:
            if webhook_url is not None:
                tx.set_setting("webhook_url", webhook_url)
            if self._learn_api_version and version:
                tx.set_setting("api_version", version)
        self._learn_webhook_url = self._learn_webhook_url and webhook_url is None
        self._learn_api_version = self._learn_api_version and not version
