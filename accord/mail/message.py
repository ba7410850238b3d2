"""One rendered email, ready for any backend, and the errors backends raise."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio.exceptions import ApplicationError

from accord.models import Attachment

# ApplicationError types of retryable delivery errors (Temporal retries the activity).
UNAVAILABLE = "MailProviderUnavailable"
RATE_LIMITED = "MailProviderRateLimited"


class PermanentMailError(Exception):
    """The provider refused the email for good (bad address, rejected payload): do not retry."""


def unavailable(message: str, *, retry_after: timedelta | None = None, kind: str = UNAVAILABLE) -> ApplicationError:
    """A retryable delivery error; ``retry_after`` overrides the retry policy's next interval."""
    return ApplicationError(message, type=kind, non_retryable=False, next_retry_delay=retry_after)


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
    # Sent as given (content type and all) by every backend.
    attachments: tuple[Attachment, ...] = ()
