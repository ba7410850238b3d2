"""Mail the tests send and receive: a request as the workflows make one, a SendGrid mailer for the
fake server, and an SMTP inbox on a free port."""

from __future__ import annotations

import socket
import uuid
from datetime import UTC, datetime, timedelta

from accord.mail.sendgrid_backend import SendGridMailer
from accord.models import ActionLink, EmailRequest, Recipient
from tests.support.fake_sendgrid import (
    FakeSendGrid,
)

API_KEY = "SG.test-key.not-real"


def mailer_for(sg: FakeSendGrid, timeout: float = 1.0) -> SendGridMailer:
    return SendGridMailer(API_KEY, host=sg.url, timeout=timeout, unknown_outcome_delay=30)


def request(send_key: str | None = None, action: bool = True) -> EmailRequest:
    workflow_id = f"partnership-mail-{uuid.uuid4().hex[:6]}"
    return EmailRequest(
        send_key=send_key or f"{workflow_id}/chain/mou-sign/1/bea",
        workflow_id=workflow_id,
        template="action_request" if action else "notice",
        to=Recipient(id="bea", name="Bea Beta", email="bea@beta.example"),
        subject="Please sign the MOU",
        context={"partnership": "Test", "recipient_name": "Bea Beta", "heading": "Sign", "ask": "Please sign."},
        action=ActionLink(action="decision", ref="mou", round=1, expires_at=datetime.now(UTC) + timedelta(days=30))
        if action else None,
    )


class Inbox:
    """An aiosmtpd handler: keeps what arrives; refuses recipients or data when told to."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []
        self.rcpt_reply: str | None = None
        self.data_reply: str | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        self.received.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def subjects_to(settings, address: str, containing: str = "") -> list[str]:
    """The subjects of the outbox's emails to ``address`` that contain ``containing``."""
    from accord.mail import outbox

    return [m["Subject"].strip() for _, m in outbox.messages(settings.outbox_dir)
            if address in m["To"] and containing in m["Subject"]]
