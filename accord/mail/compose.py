"""One MIME email from a :class:`Message`, shared by the outbox and the SMTP backend.

Attachments (a calendar invitation, say) make it multipart/mixed: the text and HTML
alternatives first, then each file as an attachment part with its content type and
parameters as given. A ``text/calendar; method=REQUEST`` part is what mail clients look
for to show an invitation with accept and decline, rather than just a file.

The Message-ID is derived from the send key, so a message re-sent under the same key
(an SMTP retry after a crash with unknown outcome) carries the same Message-ID and
receiving systems can recognise it as a duplicate.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr

from accord.mail.message import Message

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
    mail["From"] = message.sender
    mail["To"] = formataddr((message.to_name, message.to_email))
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
    return mail


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
