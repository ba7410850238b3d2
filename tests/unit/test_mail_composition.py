"""An email that can never be composed is a permanent failure where it is made, whatever the backend.

A line break in a subject or a name (from a definition, an amendment or a form), a NUL, or an
address that is not one address would be refused again on every retry: before, the email
package's ValueError (or SendGrid's API) made the activity retry it forever and ops never
heard. Now the real activity returns a failed receipt (which the workflow records and reports
to ops as an unreachable person), the ledger says failed, and nothing reaches the provider,
through the outbox, a real SMTP server (aiosmtpd) and the real sendgrid client (fake API).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from temporalio.testing import ActivityEnvironment

from accord.config import Settings
from accord.mail.outbox import Outbox
from accord.mail.outbox import messages as outbox_messages
from accord.mail.smtp_backend import SmtpMailer
from accord.models import EmailRequest, Recipient
from accord.storage import Storage
from activities.email import EmailActivities
from tests.support.fake_sendgrid import FakeSendGrid
from tests.support.mail_helpers import Inbox, free_port, mailer_for, request

SENDER = "Accord <accord@accord.example>"


@dataclass
class Backend:
    """One real mail backend and a way to see what it delivered."""

    name: str
    mailer: Any
    delivered: Any  # () -> list of (recipient address, parsed headers) that went out

    def activities(self, settings: Settings, store: Storage) -> EmailActivities:
        return EmailActivities(self.mailer, store, sender=SENDER, base_url=settings.web_base_url, keys=["k" * 32])


@pytest.fixture(params=["outbox", "smtp", "sendgrid"])
def backend(request, settings: Settings) -> Iterator[Backend]:
    if request.param == "outbox":
        folder = settings.outbox_dir
        yield Backend("outbox", Outbox(folder),
                      lambda: [(str(m["To"].addresses[0].addr_spec), m) for _, m in outbox_messages(folder)])
    elif request.param == "smtp":
        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
        controller.start()
        try:
            def parsed() -> list:
                return [(rcpt[0], BytesParser(policy=policy.default).parsebytes(raw)) for rcpt, raw in inbox.received]
            yield Backend("smtp", SmtpMailer("127.0.0.1", controller.port, starttls=False, timeout=5), parsed)
        finally:
            controller.stop()
    else:
        with FakeSendGrid() as sg:
            yield Backend("sendgrid", mailer_for(sg),
                          lambda: [(r.body["personalizations"][0]["to"][0]["email"], r.body) for r in sg.requests])


def with_(subject: str | None = None, name: str | None = None, email: str | None = None) -> EmailRequest:
    base = request()
    to = Recipient(id="bea", name=name if name is not None else base.to.name,
                   email=email if email is not None else base.to.email)
    return base.model_copy(update={"to": to, "subject": subject if subject is not None else base.subject})


UNCOMPOSABLE = {
    "CRLF in the subject (a header injection)": (with_(subject="Please sign\r\nBcc: everyone@evil.example"), "carriage return"),
    "LF in the subject": (with_(subject="Please sign\nthe MOU"), "line feed"),
    "line separator in the subject": (with_(subject="Please sign\u2028the MOU"), "line separator"),
    "CR in a recipient's name": (with_(name="Bea\rBeta"), "carriage return"),
    "NUL in a recipient's name": (with_(name="Bea\x00Beta"), "NUL"),
    "two addresses in one": (with_(email="bea@beta.example,eve@evil.example"), "single address"),
    "an address with a display part": (with_(email="Eve <eve@evil.example>"), "single address"),
    "an address with a line break": (with_(email="bea@beta.example\r\nBcc: eve@evil.example"), "carriage return"),
    "no address at all": (with_(email="bea"), "single address"),
    "a lone surrogate in the subject": (with_(subject="Please sign \ud800"), "surrogate"),
}


@pytest.mark.parametrize("case", UNCOMPOSABLE)
async def test_an_email_that_cannot_be_composed_fails_for_good_and_reaches_no_provider(backend, settings, local_store,
                                                                                        case):
    req, reason = UNCOMPOSABLE[case]
    acts = backend.activities(settings, local_store)

    receipt = await ActivityEnvironment().run(acts.send_email, req)
    assert receipt.status == "failed", f"{backend.name}: {case} was not refused"
    assert "cannot be composed" in receipt.error and reason in receipt.error
    entry = await local_store.get_send(req.send_key)
    assert entry.status == "failed" and entry.recipient == "bea" and entry.error == receipt.error
    # The workflow's retry of a failed receipt (or a replayed activity) changes nothing.
    assert (await ActivityEnvironment().run(acts.send_email, req)).status == "failed"
    assert backend.delivered() == []


async def test_unusual_but_genuine_names_and_subjects_are_sent_as_one_recipient(backend, settings, local_store):
    name = 'Zoë "Z" O\'Brien, PhD <boss>'
    req = with_(subject="Signez le protocole d'accord : étape 2\t(v2)", name=name)
    receipt = await ActivityEnvironment().run(backend.activities(settings, local_store).send_email, req)
    assert receipt.status == "sent"
    [(address, sent)] = backend.delivered()
    assert address == "bea@beta.example"
    if backend.name == "sendgrid":
        assert sent["personalizations"][0]["to"][0]["name"].strip('"') == name
        assert sent["subject"] == req.subject
    else:
        [to] = sent["To"].addresses
        assert (to.display_name, to.addr_spec) == (name, "bea@beta.example")
        assert sent["Subject"] == req.subject


async def test_an_international_address_a_server_cannot_take_is_a_permanent_failure(settings, local_store):
    """smtplib refuses a non-ASCII address to a server without SMTPUTF8: that server never will."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=False)
    controller.start()
    try:
        acts = Backend("smtp", SmtpMailer("127.0.0.1", controller.port, starttls=False, timeout=5), None).activities(
            settings, local_store)
        req = with_(email="zoë@beta.example")
        receipt = await ActivityEnvironment().run(acts.send_email, req)
    finally:
        controller.stop()
    assert receipt.status == "failed" and "SMTPUTF8" in receipt.error
    assert (await local_store.get_send(req.send_key)).status == "failed" and inbox.received == []


def test_a_sender_that_no_email_could_carry_is_a_configuration_error(tmp_path):
    """The sender is configuration, not a recipient's fault: `accord config check` catches it."""
    from accord.ops.config_check import check

    broken = Settings(data_dir=tmp_path, mail_from="Accord <accord@example.org>\r\nBcc: everyone@evil.example")
    [finding] = [f for f in check(broken) if f.setting == "mail_from"]
    assert finding.level == "error" and "line break" in finding.message
    assert [f for f in check(Settings(data_dir=tmp_path)) if f.setting == "mail_from"] == []
