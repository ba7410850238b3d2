"""Who may reach what: the one list of public routes, and the role each other request needs.

Everything is closed unless listed here as public. A new route is therefore protected the
moment it exists (tests/web/test_signin_routes.py walks every route and fails on one that
answers an anonymous request without being listed below).

Patterns match the whole path as Starlette routes it (no normalisation happens in
between), so "/a/x/../../outbox" is not an action link: it matches no pattern here, and no
route either.
"""

from __future__ import annotations

import re
from enum import Enum


class Need(Enum):
    PUBLIC = "public"  # anyone: the request carries its own credential, or shows nothing private
    SIGNED_IN = "signed in"  # any signed-in person, even one with no role (to sign out)
    VIEWER = "viewer"  # a role: viewer or ops
    OPS = "ops"


READ_METHODS = frozenset({"GET", "HEAD"})

PUBLIC = tuple(re.compile(p) for p in (
    r"/healthz", r"/readyz",  # health checks: no data
    r"/a/[^/]+",  # action links: the signed token in the path is the credential
    r"/static/[^/]+",  # the stylesheet the action and sign-in pages use
    r"/webhooks/sendgrid",  # verified by SendGrid's signature over the body
    r"/signin", r"/signin/start", r"/signin/callback",  # signing in
    r"/signin/local/[^/]+",  # the one-time local link: loopback only, checked by its route
    # The API's schema and docs hold no data; every other API path needs a key or a session.
    r"/api/v1/openapi\.json", r"/api/v1/docs", r"/api/v1/docs/init\.js", r"/api/v1/docs/assets/.+",
))
# Reading these shows live signed links (the outbox): only people who may act.
OPS_TO_READ = re.compile(r"/outbox(/.*)?")
# POSTs that only read: the Temporal UI decoding payloads for someone allowed to see them.
POST_TO_READ = frozenset({"/codec/decode"})
CODEC = re.compile(r"/codec/(decode|encode)")


def need(method: str, path: str) -> Need:
    if any(p.fullmatch(path) for p in PUBLIC):
        return Need.PUBLIC
    if method == "OPTIONS" and CODEC.fullmatch(path):
        return Need.PUBLIC  # a CORS preflight never carries credentials; it answers with headers only
    if path == "/signout":
        return Need.SIGNED_IN
    if OPS_TO_READ.fullmatch(path):
        return Need.OPS
    if method in READ_METHODS or path in POST_TO_READ:
        return Need.VIEWER
    return Need.OPS


def is_api(path: str) -> bool:
    return path == "/api/v1" or path.startswith("/api/v1/")


def wants_page(method: str, path: str) -> bool:
    """A person's browser asking for a page (answered with pages and redirects, not JSON)."""
    return method in READ_METHODS and not is_api(path) and not CODEC.fullmatch(path)
