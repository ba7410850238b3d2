"""One rendered email, ready for any backend, and the errors backends raise.

A :class:`Message` that could never be sent is refused where it is made: building one with a
line break, a NUL or another control character in a header value (subject, recipient name or
address), or an address that is not one plain ``local@domain``, raises
:class:`PermanentMailError`. The email activity records that as a failed send (the workflow
reports the person as unreachable to ops) instead of retrying it forever.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio.exceptions import ApplicationError

from accord.models import Attachment

# ApplicationError types of retryable delivery errors (Temporal retries the activity).
UNAVAILABLE = "MailProviderUnavailable"
RATE_LIMITED = "MailProviderRateLimited"


class PermanentMailError(Exception):
    """The email can never be sent (bad address, a header that cannot be written, a payload the
    provider rejected): record the failure, do not retry."""


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

    def __post_init__(self) -> None:
        problem = composition_problem(self)
        if problem is not None:
            raise PermanentMailError(f"the email cannot be composed: {problem}")


# One address, as a header and SMTP's envelope take it: no spaces, no second address, no
# display-name or comment syntax. Quoted local parts are refused too (nobody uses them).
_ADDRESS = re.compile(r"[^\s@<>,;:\"()\[\]\\]+@[^\s@<>,;:\"()\[\]\\]+")
# Unicode categories no header may carry: control characters (CR, LF, NUL, ...), line and
# paragraph separators (which the email package also treats as line breaks), and surrogates
# (which cannot be encoded at all).
_NOT_IN_HEADERS = frozenset({"Cc", "Zl", "Zp", "Cs"})
_SURROGATE = re.compile("[\ud800-\udfff]")


def composition_problem(message: Message) -> str | None:
    """Why this message can never be written or sent, or None."""
    headers = {"subject": message.subject, "recipient name": message.to_name, "recipient address": message.to_email}
    for what, value in headers.items():
        bad = next((c for c in value if c != "\t" and unicodedata.category(c) in _NOT_IN_HEADERS), None)
        if bad is not None:
            return f"the {what} contains {_describe(bad)}, which no email header may carry"
    if not _ADDRESS.fullmatch(message.to_email):
        return "the recipient address is not a single address of the form name@domain"
    for what, value in {"HTML body": message.html, "text body": message.text}.items():
        if _SURROGATE.search(value):
            return f"the {what} contains text that cannot be encoded (a lone surrogate)"
    return None


def _describe(char: str) -> str:
    names = {"\r": "a carriage return (CR)", "\n": "a line feed (LF)", "\x00": "a NUL character"}
    if char in names:
        return names[char]
    kind = "a lone surrogate" if unicodedata.category(char) == "Cs" else unicodedata.name(char, "a control character").lower()
    return f"{kind} (U+{ord(char):04X})"
