"""The email activity: render, mint the action link, deliver once per send key.

Tokens are minted here, not in the workflow, so they never enter workflow history; the
activity's result carries only the send key and status.

Exactly once, as far as the provider allows: the ledger says ``attempting`` before the
provider is called and ``sent`` after. An attempt that finds ``attempting`` follows one
whose outcome is unknown (worker killed mid-send, timeout, provider error). If the
mailer can tell whether that earlier attempt was accepted (``already_accepted``:
SendGrid's Email Activity API), it is asked first and the email is not sent again.
The outbox is idempotent by itself (one file per send key); SMTP cannot ask and sends
again under the same Message-ID (see accord/mail/smtp_backend.py).

A provider outage is retried without end (workflows/mailing.py), but not silently: an
attempt that finds its email first scheduled longer than ``alert_after`` ago (the
``mail_alert_after`` setting) alerts ops once per send key (the ledger remembers it): an
error in the log, ``accord_emails_delayed_total``, and the ``email_delayed`` signal to the
workflow that sent it, which shows it in its status and emails ops (when the provider
takes email again). Then it tries to send, as every attempt does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from temporalio import activity
from temporalio.service import RPCError, RPCStatusCode

from accord import tokens
from accord.mail import ics
from accord.mail.ledger import Ledger
from accord.ops import metrics
from accord.mail.message import Message, PermanentMailError
from accord.mail.render import render
from accord.models import Attachment, EmailDelay, EmailReceipt, EmailRequest

# The workflows' signal (PartnershipWorkflow.email_delayed, EscalationWorkflow.email_delayed).
DELAYED_SIGNAL = "email_delayed"
DELAYED = "delayed"  # the ledger's alert kind


class Mailer(Protocol):
    async def send(self, message: Message) -> str:
        """Deliver; return the provider's message id. Raise PermanentMailError when refused for
        good, anything else (ideally a retryable ApplicationError) to have the activity retried."""
        ...


@runtime_checkable
class CheckingMailer(Mailer, Protocol):
    async def already_accepted(self, send_key: str) -> str | None:
        """The provider's message id if an earlier attempt with this send key was accepted."""
        ...


class EmailActivities:
    def __init__(self, mailer: Mailer, ledger: Ledger, *, sender: str, base_url: str, keys: list[str],
                 alert_after: timedelta = timedelta(hours=1)):
        self.mailer = mailer
        self.ledger = ledger
        self.sender = sender
        self.base_url = base_url.rstrip("/")
        self.keys = keys
        self.alert_after = alert_after

    @activity.defn(name="send_email")
    async def send_email(self, request: EmailRequest) -> EmailReceipt:
        entry = self.ledger.get(request.send_key)
        if entry and entry.status == "sent":
            return EmailReceipt(send_key=request.send_key, status="already_sent", message_id=entry.message_id)
        if entry and entry.status == "failed":
            return EmailReceipt(send_key=request.send_key, status="failed", error=entry.error)
        if entry and entry.status == "attempting" and isinstance(self.mailer, CheckingMailer):
            accepted = await self.mailer.already_accepted(request.send_key)
            if accepted is not None:
                self.ledger.sent(request.send_key, accepted)
                metrics.email_sent(request.template)  # the interrupted attempt could not count it
                activity.logger.info("email %s was accepted by an interrupted attempt as %s", request.send_key, accepted)
                return EmailReceipt(send_key=request.send_key, status="already_sent", message_id=accepted)
        if activity.info().attempt > 1:
            await self._alert_if_delayed(request)
        link = None
        if request.action is not None:
            token = tokens.mint(request.workflow_id, request.to.id, request.action, self.keys)
            link = f"{self.base_url}/a/{token}"
        html, text = render(request.template, request.context, link)
        try:
            # Refused here, before any attempt, if it could never be sent (a line break in the
            # subject or a name, an address that is not one address): a failure, not a retry.
            message = Message(
                send_key=request.send_key,
                sender=self.sender,
                to_name=request.to.name,
                to_email=request.to.email,
                subject=request.subject,
                html=html,
                text=text,
                tags={"workflow_id": request.workflow_id, "send_key": request.send_key},
                is_action=link is not None,
                attachments=(*request.attachments, *_invitation(request)),
            )
            self.ledger.attempting(request.send_key, request.to.id)
            message_id = await self.mailer.send(message)
        except PermanentMailError as exc:
            self.ledger.failed(request.send_key, str(exc), request.to.id)
            metrics.email_failed(request.template, "permanent")
            activity.logger.warning("email %s permanently refused: %s", request.send_key, exc)
            return EmailReceipt(send_key=request.send_key, status="failed", error=str(exc))
        except Exception as exc:
            metrics.email_failed(request.template, "retryable")
            self.ledger.retrying(request.send_key, (str(exc) or type(exc).__name__)[:500])
            raise
        self.ledger.sent(request.send_key, message_id)
        metrics.email_sent(request.template)
        activity.logger.info("email %s sent as %s", request.send_key, message_id)
        return EmailReceipt(send_key=request.send_key, status="sent", message_id=message_id)


    async def _alert_if_delayed(self, request: EmailRequest) -> None:
        """Once per send key: ops hear of an email still failing after ``alert_after``."""
        info = activity.info()
        since = info.scheduled_time
        if datetime.now(UTC) - since < self.alert_after or self.ledger.alerted(request.send_key, DELAYED):
            return
        entry = self.ledger.get(request.send_key)
        delay = EmailDelay(send_key=request.send_key, recipient=request.to.id, since=since, attempts=info.attempt - 1,
                           error=(entry.error or "") if entry else "")
        try:
            await activity.client().get_workflow_handle(request.workflow_id).signal(DELAYED_SIGNAL, delay)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                # Temporal itself is unreachable: the next attempt tries again.
                activity.logger.warning("could not tell %s that email %s is delayed: %s", request.workflow_id,
                                        request.send_key, exc)
                return
            # The workflow is gone: the log and the metric still tell ops.
        if self.ledger.alert(request.send_key, DELAYED):
            metrics.email_delayed(request.template)
            activity.logger.error(
                "email %s to %s still failing after %d attempts since %s (mail_alert_after %s): %s", request.send_key,
                request.to.id, delay.attempts, since.isoformat(), self.alert_after, delay.error or "no answer")


def _invitation(request: EmailRequest) -> tuple[Attachment, ...]:
    """The review meeting's calendar invitation, stamped with the send's first scheduling so a
    retry sends the very same file."""
    invite = request.invitation
    if invite is None:
        return ()
    ics_file = ics.invitation(
        uid=invite.uid, title=invite.title, start=invite.start, duration=timedelta(minutes=invite.minutes),
        organizer=("Accord", invite.organizer), attendees=[(a.name, a.email) for a in invite.attendees],
        agenda="\n".join(f"- {item}" for item in invite.agenda), stamp=activity.info().scheduled_time,
    )
    return (ics.attachment(ics_file, "review.ics"),)
