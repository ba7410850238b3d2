"""Signed action links (OWASP transaction-authorisation practice).

A token binds one action to one workflow, one task or approval, one round, one
recipient and an expiry. It is signed with a purpose-specific salt and a key list
(rotation: the newest key signs, every listed key verifies). Tokens are minted inside
the email activity and never enter workflow history or logs. They are not single-use
by themselves: the workflow refuses a second decision by the same person in the same
round, and a new round invalidates old links.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import BaseModel, ValidationError

from accord.models import ActionLink

_SALT = "accord.action-link.v1"


class Claim(BaseModel):
    workflow_id: str
    action: str
    ref: str
    round: int
    recipient: str
    expires_at: datetime


class TokenError(Exception):
    """The link is not usable; ``reason`` is what the page tells the person."""

    def __init__(self, reason: str, claim: Claim | None = None):
        super().__init__(reason)
        self.reason = reason
        self.claim = claim


def _serializer(keys: list[str]) -> URLSafeSerializer:
    # itsdangerous takes keys oldest to newest and signs with the last one.
    return URLSafeSerializer(keys, salt=_SALT)


def mint(workflow_id: str, recipient: str, link: ActionLink, keys: list[str]) -> str:
    claim = Claim(
        workflow_id=workflow_id,
        action=link.action,
        ref=link.ref,
        round=link.round,
        recipient=recipient,
        expires_at=link.expires_at,
    )
    return _serializer(keys).dumps(claim.model_dump(mode="json"))


def verify(token: str, keys: list[str], now: datetime | None = None) -> Claim:
    """Return the claim of a genuine, unexpired token; raise :class:`TokenError` otherwise."""
    try:
        data = _serializer(keys).loads(token)
        claim = Claim.model_validate(data)
    except (BadSignature, ValidationError, TypeError, ValueError):
        raise TokenError("This link is not valid. It may have been altered or copied incompletely.") from None
    if _aware(now or datetime.now(UTC)) >= _aware(claim.expires_at):
        raise TokenError("This link has expired.", claim)
    return claim


def _aware(moment: datetime) -> datetime:
    # A naive time (minted from a naive expiry) is UTC; comparing it with an aware one
    # would raise TypeError instead of answering "valid" or "expired".
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def fingerprint(token: str) -> str:
    """A short, non-reversible id for a token, safe for logs and CSRF binding."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]
