"""The local outbox: every email as an .eml file, for the embedded default and for tests.

File names come from the send key's hash, so writing the same email twice is a no-op,
and the write is atomic (temporary file, then rename) so a crash never leaves half a mail.
"""

from __future__ import annotations

import hashlib
import os
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from accord.mail.compose import KEY_HEADER, as_bytes, build_email
from accord.mail.message import Message

__all__ = ["KEY_HEADER", "Outbox", "body", "messages", "read"]


class Outbox:
    def __init__(self, directory: Path):
        self.directory = directory

    def path_for(self, send_key: str) -> Path:
        return self.directory / f"{hashlib.sha256(send_key.encode()).hexdigest()[:20]}.eml"

    async def send(self, message: Message) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.path_for(message.send_key)
        if target.exists():
            return target.stem
        mail = build_email(message)
        temporary = target.with_suffix(".tmp")
        temporary.write_bytes(as_bytes(mail))
        os.replace(temporary, target)
        return target.stem


def read(path: Path) -> EmailMessage:
    with path.open("rb") as f:
        return BytesParser(policy=policy.default).parse(f)


def messages(directory: Path) -> list[tuple[Path, EmailMessage]]:
    """Every email in the outbox, oldest first."""
    files = sorted(directory.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns) if directory.exists() else []
    return [(p, read(p)) for p in files]


def body(mail: EmailMessage, subtype: str) -> str:
    part = mail.get_body(preferencelist=(subtype,))
    return part.get_content() if part is not None else ""
