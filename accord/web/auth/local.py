"""The embedded default's way in: a one-time operator link, for ten minutes, from this machine only.

`accord up` needs no identity provider. It prints a link ``<web_base_url>/signin/local/<secret>``;
opening it signs the browser in as the local operator with the ops role. The link works
once (a ticket in storage, taken atomically), for at most ten minutes, and only for a
request whose TCP peer is a loopback address and that came through no proxy: uvicorn runs
with proxy headers off, so the peer is the real one, and a request carrying a forwarding
header (a reverse proxy on this host relays the whole internet from 127.0.0.1) is refused.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from datetime import timedelta

from starlette.requests import HTTPConnection

from accord.config import Settings
from accord.storage import Storage, open_storage
from accord.web.auth.sessions import digest

TICKET_KIND = "local"
LIFETIME = timedelta(minutes=10)
OPERATOR = "local-operator"
PATH = "/signin/local/"
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip", "x-client-ip",
                      "true-client-ip", "cf-connecting-ip")


async def mint(store: Storage, settings: Settings) -> str:
    """A new one-time link (the whole URL, to print; it is a secret until used)."""
    secret = secrets.token_urlsafe(32)
    await store.put_ticket(digest(secret), TICKET_KIND, json.dumps({"role": "ops"}), lifetime=LIFETIME)
    return settings.web_base_url.rstrip("/") + PATH + secret


async def new_link(settings: Settings) -> str:
    """``mint`` into the configured storage: what `accord up` and `accord signin-link` print."""
    async with await open_storage(settings) as store:
        return await mint(store, settings)


async def redeem(store: Storage, secret: str) -> bool:
    """Use the link: True the first time within its ten minutes, False ever after."""
    return await store.take_ticket(digest(secret), TICKET_KIND) is not None


def from_this_machine(connection: HTTPConnection) -> bool:
    """The request comes straight from a loopback address, through no proxy."""
    if any(name in connection.headers for name in FORWARDING_HEADERS):
        return False
    client = connection.client
    if client is None:
        return False
    try:
        address = ipaddress.ip_address(client.host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback
