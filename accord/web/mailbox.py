"""The local file outbox as the web app shows it: a list, one email, its HTML for a frame."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

from markupsafe import Markup, escape

from accord.mail import outbox

# Outbox files are named by a hex digest; anything else in a URL is refused before it
# can touch the filesystem.
_NAME = re.compile(r"[0-9a-f]{1,64}")
_URL = re.compile(r"https?://[^\s<>\"']+")
_HEAD = re.compile(r"<head[^>]*>", re.IGNORECASE)
# Links in the framed email must open the page itself, not load inside the frame
# (our pages refuse framing) and not open unseen in the sandbox.
_BASE = '<base target="_top">'

HEADERS = ("From", "To", "Subject", "Date", "Message-ID", outbox.KEY_HEADER)


@dataclass(frozen=True)
class Summary:
    name: str
    to: str
    subject: str
    date: datetime | None


def valid_name(name: str) -> bool:
    return _NAME.fullmatch(name) is not None


def summaries(directory: Path) -> list[Summary]:
    """Newest first."""
    return [
        Summary(path.stem, str(mail["To"] or ""), str(mail["Subject"] or ""), _date(mail))
        for path, mail in reversed(outbox.messages(directory))
    ]


def find(directory: Path, name: str) -> EmailMessage | None:
    if not valid_name(name):
        raise ValueError(name)
    path = directory / f"{name}.eml"
    return outbox.read(path) if path.is_file() else None


def headers(mail: EmailMessage) -> list[tuple[str, str]]:
    return [(h, str(mail[h])) for h in HEADERS if mail[h] is not None]


def framed_html(mail: EmailMessage) -> str:
    html = outbox.body(mail, "html")
    if _HEAD.search(html):
        return _HEAD.sub(lambda m: m.group(0) + _BASE, html, count=1)
    return _BASE + html


def linkified_text(mail: EmailMessage) -> Markup:
    text = str(escape(outbox.body(mail, "plain")))
    return Markup(_URL.sub(lambda m: f'<a href="{m.group(0)}" rel="noreferrer">{m.group(0)}</a>', text))


def _date(mail: EmailMessage) -> datetime | None:
    try:
        return parsedate_to_datetime(str(mail["Date"])) if mail["Date"] else None
    except (TypeError, ValueError):
        return None
