"""One MIME email from a :class:`Message`, shared by the outbox and the SMTP backend.

Attachments (a calendar invitation, say) make it multipart/mixed: the text and HTML
alternatives first, then each file as an attachment part with its content type and
parameters as given. A ``text/calendar; method=REQUEST`` part is what mail clients look
for to show an invitation with accept and decline, rather than just a file.

The Message-ID is derived from the send key, so a message re-sent under the same key
(an SMTP retry after a crash with unknown outcome) carries the same Message-ID and
receiving systems can recognise it as a duplicate.

What the email package refuses while building or writing a message (a header it cannot
write, an address it cannot encode) is a :class:`PermanentMailError`: it would refuse it
again on every retry. :class:`Message` refuses the known cases before this runs.
"""

from __future__ import annotations

import email.errors
import hashlib
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from accord.mail.message import Message, PermanentMailError

# What the email package raises for content it cannot write (UnicodeError is a ValueError).
COMPOSE_ERRORS = (ValueError, TypeError, email.errors.MessageError)

KEY_HEADER = "X-Accord-Send-Key"
_FALLBACK_DOMAIN = "accord.local"


def message_id(send_key: str, sender: str) -> str:
    """``<hash-of-send-key@sender-domain>``: the same for every attempt of one send key."""
    domain = parseaddr(sender)[1].rpartition("@")[2].strip() or _FALLBACK_DOMAIN
    return f"<{hashlib.sha256(send_key.encode()).hexdigest()[:32]}@{domain}>"


def build_email(message: Message) -> EmailMessage:
    """multipart/alternative: text/plain first, then text/html (the preferred part last);
    with attachments, that inside a multipart/mixed followed by the attachments."""
    mail = EmailMessage()
    # The sender is configuration (mail_from, checked by `accord config check`): an error in it
    # is raised as is and retried until it is fixed, not blamed on the recipient.
    mail["From"] = message.sender
    try:
        # From parts, not a formatted string: a name with quotes, commas or <...> stays one
        # display name, however it is encoded (Message has checked the address is one address).
        local, _, domain = message.to_email.rpartition("@")
        mail["To"] = Address(display_name=message.to_name, username=local, domain=domain)
        mail["Subject"] = message.subject
        mail["Date"] = format_datetime(datetime.now(UTC))
        mail["Message-ID"] = message_id(message.send_key, message.sender)
        mail[KEY_HEADER] = message.send_key
        mail.set_content(message.text)
        mail.add_alternative(message.html, subtype="html")
        for attachment in message.attachments:
            maintype, subtype, params = split_content_type(attachment.content_type)
            mail.add_attachment(
                attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename, params=params
            )
    except COMPOSE_ERRORS as exc:
        raise not_composable(exc) from None
    return mail


def as_bytes(mail: EmailMessage) -> bytes:
    """The message as written to a file (the outbox)."""
    try:
        return mail.as_bytes()
    except COMPOSE_ERRORS as exc:
        raise not_composable(exc) from None


def not_composable(exc: Exception) -> PermanentMailError:
    return PermanentMailError(f"the email cannot be composed: {type(exc).__name__}: {str(exc)[:200]}")


def split_content_type(content_type: str) -> tuple[str, str, dict[str, str]]:
    """``"text/calendar; method=REQUEST"`` -> ``("text", "calendar", {"method": "REQUEST"})``."""
    kind, *rest = (part.strip() for part in content_type.split(";"))
    maintype, _, subtype = kind.lower().partition("/")
    params = {}
    for part in rest:
        if part:
            name, _, value = part.partition("=")
            params[name.strip().lower()] = value.strip().strip('"')
    return maintype, subtype, params
