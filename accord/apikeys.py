"""HTTP API keys: made once, shown once, stored only as a SHA-256.

A key is 32 random bytes (``secrets.token_urlsafe``), so a plain SHA-256 is the right
storage: nobody can search a 256-bit space, and a slow password hash would only slow
every request down. Comparison is constant-time (``hmac.compare_digest``) against every
configured entry.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from accord.config import ApiKey

PREFIX = "acc_"  # recognisable in a leaked log or a secret scanner


def new_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create(name: str, role: str) -> tuple[str, ApiKey]:
    """A new key and the entry to configure (in ACCORD_API_KEYS)."""
    key = new_key()
    # Validated as input (a ValidationError names what is wrong): name and role come from people.
    return key, ApiKey.model_validate({"name": name, "role": role, "sha256": digest(key)})


def find(configured: list[ApiKey], presented: str) -> ApiKey | None:
    """The configured entry for a presented key, or None."""
    wanted = digest(presented)
    found = None
    for entry in configured:  # no early exit: the time taken does not say which entry matched
        if hmac.compare_digest(wanted, entry.sha256):
            found = entry
    return found
