"""One rendered email, ready for any backend."""

from __future__ import annotations

from dataclasses import dataclass, field


class PermanentMailError(Exception):
    """The provider refused the email for good (bad address, rejected payload): do not retry."""


@dataclass(frozen=True)
class Message:
    send_key: str
    sender: str
    to_name: str
    to_email: str
    subject: str
    html: str
    text: str
    # Opaque ids only (workflow id, purpose): providers echo them in their webhooks.
    tags: dict[str, str] = field(default_factory=dict)
    # Action emails carry single-purpose links; tracking redirects would rewrite them.
    is_action: bool = False
