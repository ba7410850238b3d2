"""SMTP delivery against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from email import policy
from email.parser import BytesParser

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from accord.mail.compose import KEY_HEADER, message_id
from accord.mail.message import UNAVAILABLE, Message, PermanentMailError
from accord.mail.smtp_backend import SmtpMailer
from activities.email import EmailActivities
from tests.support.ics_helpers import check_invitation_email, invitation_request
from tests.support.mail_helpers import Inbox, free_port, request


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"accord", b"secret")
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(),
                            authenticator=_authenticate, auth_require_tls=False)
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


def message(send_key: str = "wf-1/chain/mou-sign/bea") -> Message:
    return Message(send_key=send_key, sender="Accord <accord@accord.example>", to_name="Bea Beta",
                   to_email="bea@beta.example", subject="Please sign", html="<p>Sign <b>here</b></p>",
                   text="Sign here", tags={"send_key": send_key}, is_action=True)


async def test_mail_arrives_with_both_parts_and_a_deterministic_message_id(smtp):
    inbox, port = smtp
    mailer = SmtpMailer("127.0.0.1", port, starttls=False, timeout=5)
    first = await mailer.send(message())
    second = await mailer.send(message())  # a re-send after a crash: same Message-ID

    assert first == second == message_id("wf-1/chain/mou-sign/bea", "accord@accord.example")
    assert first.endswith("@accord.example>")
    assert len(inbox.received) == 2
    rcpt, raw = inbox.received[0]
    assert rcpt == ["bea@beta.example"]
    mail = BytesParser(policy=policy.default).parsebytes(raw)
    assert mail["Message-ID"] == first
    assert mail["To"] == "Bea Beta <bea@beta.example>"
    assert mail[KEY_HEADER] == "wf-1/chain/mou-sign/bea"
    assert mail.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.iter_parts()] == ["text/plain", "text/html"]
    assert mail.get_body(("plain",)).get_content().strip() == "Sign here"
    assert "<b>here</b>" in mail.get_body(("html",)).get_content()
    assert message_id("another/key", "accord@accord.example") != first


async def test_login_when_configured(smtp):
    inbox, port = smtp
    await SmtpMailer("127.0.0.1", port, "accord", "secret", starttls=False, timeout=5).send(message())
    assert len(inbox.received) == 1
    with pytest.raises(ApplicationError, match="login refused") as raised:
        await SmtpMailer("127.0.0.1", port, "accord", "wrong", starttls=False, timeout=5).send(message())
    assert raised.value.type == UNAVAILABLE and not raised.value.non_retryable


async def test_recipient_rejected_with_550_is_a_permanent_failure(smtp, settings, local_store):
    inbox, port = smtp
    inbox.rcpt_reply = "550 5.1.1 <bea@beta.example>: Recipient address rejected: User unknown"
    acts = EmailActivities(SmtpMailer("127.0.0.1", port, starttls=False, timeout=5), local_store,
                           sender="Accord <accord@accord.example>", base_url=settings.web_base_url, keys=["k" * 32])
    req = request()
    receipt = await ActivityEnvironment().run(acts.send_email, req)
    assert receipt.status == "failed" and "550" in receipt.error and "User unknown" in receipt.error
    assert (await local_store.get_send(req.send_key)).status == "failed"
    assert inbox.received == []

    with pytest.raises(PermanentMailError, match="552"):
        inbox.rcpt_reply, inbox.data_reply = None, "552 5.3.4 Message too big"
        await SmtpMailer("127.0.0.1", port, starttls=False, timeout=5).send(message())


async def test_temporary_refusals_and_connection_problems_are_retried(smtp):
    inbox, port = smtp
    inbox.rcpt_reply = "451 4.3.0 Mailbox temporarily unavailable"
    with pytest.raises(ApplicationError, match="451") as raised:
        await SmtpMailer("127.0.0.1", port, starttls=False, timeout=5).send(message())
    assert raised.value.type == UNAVAILABLE and not raised.value.non_retryable

    inbox.rcpt_reply = None
    with pytest.raises(ApplicationError, match="STARTTLS|starttls"):  # the server offers no STARTTLS
        await SmtpMailer("127.0.0.1", port, starttls=True, timeout=5).send(message())
    with pytest.raises(ApplicationError, match="unavailable"):
        await SmtpMailer("127.0.0.1", free_port(), starttls=False, timeout=2).send(message())
    assert inbox.received == []


async def test_invitation_arrives_as_a_calendar_attachment(smtp, settings, local_store):
    inbox, port = smtp
    acts = EmailActivities(SmtpMailer("127.0.0.1", port, starttls=False, timeout=5), local_store,
                           sender="Accord <accord@accord.example>", base_url=settings.web_base_url, keys=["k" * 32])
    req = invitation_request()
    assert (await ActivityEnvironment().run(acts.send_email, req)).status == "sent"
    [(rcpt, raw)] = inbox.received
    assert rcpt == ["bea@beta.example"]
    mail = BytesParser(policy=policy.default).parsebytes(raw)
    assert mail[KEY_HEADER] == req.send_key
    check_invitation_email(mail)
