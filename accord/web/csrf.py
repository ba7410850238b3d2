"""CSRF protection for action forms: a double-submit cookie plus a signed hidden field.

The cookie holds a random nonce. The hidden field is signed (itsdangerous, with the
settings' key list so rotation works) over that nonce and the fingerprint of the action
token, so a field lifted from one link's page is useless on another link, and a
cross-site POST carries neither a matching cookie (SameSite=Lax) nor a valid field.
"""

from __future__ import annotations

import hmac
import re
import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer

from accord.tokens import fingerprint

COOKIE = "accord_csrf"
FIELD = "csrf"
# Long enough to read a contract before deciding; short enough that a stale tab asks for a reload.
MAX_AGE_SECONDS = 12 * 3600
_SALT = "accord.csrf.v1"
_NONCE = re.compile(r"[A-Za-z0-9_-]{22,64}")


def _serializer(keys: list[str]) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(keys, salt=_SALT)


def nonce(cookie: str | None) -> str:
    """Reuse the browser's nonce so two open tabs keep working; otherwise make one."""
    if cookie and _NONCE.fullmatch(cookie):
        return cookie
    return secrets.token_urlsafe(24)


def field(keys: list[str], nonce: str, token: str) -> str:
    return _serializer(keys).dumps({"n": nonce, "f": fingerprint(token)})


def valid(keys: list[str], cookie: str | None, value: object, token: str) -> bool:
    if not cookie or not isinstance(value, str) or not value:
        return False
    try:
        data = _serializer(keys).loads(value, max_age=MAX_AGE_SECONDS)
    except BadSignature:  # includes SignatureExpired
        return False
    if not isinstance(data, dict) or not isinstance(data.get("n"), str) or not isinstance(data.get("f"), str):
        return False
    return hmac.compare_digest(data["n"], cookie) and hmac.compare_digest(data["f"], fingerprint(token))
