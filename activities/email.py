"""The email activity: render, mint the action link, deliver once per send key.

A notice that asks ops to act gets the link of the signed-in page where they do it instead
(accord/mail/ops_links.py).

Tokens are minted here, not in the workflow, so they never enter workflow history; the
activity's result carries only the send key and status.

Exactly once, as far as the provider allows (accord.storage.send_once): the send key is
claimed in the shared storage before the provider is called, in one atomic write, and
marked ``sent`` after. Of two workers running the same send at once (on any hosts), one
wins the claim and sends; the other gets a retryable ``SendInProgress`` and later finds it
sent. A claim won over an attempt whose outcome is unknown (worker killed mid-send,
timeout, provider error) first asks the mailer, if it can tell (``already_accepted``:
SendGrid's Email Activity API), and the email is not sent again if the provider has it.
The outbox is idempotent by itself (one file per send key); SMTP cannot ask and sends
again under the same Message-ID (see accord/mail/smtp_backend.py).

A provider outage is retried without end (workflows/mailing.py), but not silently: an
attempt that finds its email first scheduled longer than ``alert_after`` ago (the
``mail_alert_after`` setting) alerts ops once per send key (the storage remembers it): an
error in the log, ``accord_emails_delayed_total``, and the ``email_delayed`` signal to the
workflow that sent it, which shows it in its status and emails ops (when the provider
takes email again). Then it tries to send, as every attempt does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Protocol, runtime_checkable

from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from accord import tokens
from accord.mail import ics
from accord.mail.message import Message
from accord.mail.ops_links import ops_link
from accord.mail.render import render
from accord.models import Attachment, EmailDelay, EmailReceipt, EmailRequest
from accord.ops import metrics
from accord.storage import SendInProgress, Storage, holder_of, lease_of, send_once
from accord.storage.interface import checked_key

# The workflows' signal (PartnershipWorkflow.email_delayed, EscalationWorkflow.email_delayed).
DELAYED_SIGNAL = "email_delayed"
DELAYED = "delayed"  # the storage's alert kind


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
    def __init__(self, mailer: Mailer, store: Storage, *, sender: str, base_url: str, keys: list[str],
                 alert_after: timedelta = timedelta(hours=1)):
        self.mailer = mailer
        self.store = store
        self.sender = sender
        self.base_url = base_url.rstrip("/")
        self.keys = keys
        self.alert_after = alert_after

    @activity.defn(name="send_email")
    async def send_email(self, request: EmailRequest) -> EmailReceipt:
        info = activity.info()
        try:
            checked_key("send key", request.send_key)
        except ValueError as exc:
            # A key the storage cannot keep cannot be sent once: failed for good, never retried forever.
            return self._refused(request, f"email {request.send_key[:120]}… cannot be sent once: {exc}")

        async def deliver() -> str:
            # Only the claim's winner gets here: it alerts if the email is long overdue, then
            # renders (minting the link) and hands it to the provider.
            if info.attempt > 1:
                await self._alert_if_delayed(request)
            return await self.mailer.send(self._message(request))

        accepted = None
        if isinstance(self.mailer, CheckingMailer):
            accepted = partial(self.mailer.already_accepted, request.send_key)
        try:
            outcome = await send_once(self.store, request.send_key, request.to.id, holder=holder_of(info),
                                      lease=lease_of(info), deliver=deliver, accepted=accepted)
        except SendInProgress as exc:
            # Another worker is sending it now: Temporal retries (EMAIL_RETRY) and finds it sent,
            # or finds that attempt interrupted and takes it over.
            raise ApplicationError(str(exc), type="SendInProgress") from None
        except Exception:
            metrics.email_failed(request.template, "retryable")
            raise
        key = request.send_key
        if outcome.status == "sent":
            metrics.email_sent(request.template)
            activity.logger.info("email %s sent as %s", key, outcome.message_id)
            return EmailReceipt(send_key=key, status="sent", message_id=outcome.message_id)
        if outcome.status == "already_sent":
            if outcome.recovered:
                metrics.email_sent(request.template)  # the interrupted attempt could not count it
                activity.logger.info("email %s was accepted by an interrupted attempt as %s", key, outcome.message_id)
            return EmailReceipt(send_key=key, status="already_sent", message_id=outcome.message_id)
        if outcome.status == "failed":
            return self._refused(request, outcome.error or "refused")
        # already_failed: an earlier attempt was refused for good (and counted then).
        return EmailReceipt(send_key=key, status="failed", error=outcome.error)

    def _refused(self, request: EmailRequest, error: str) -> EmailReceipt:
        metrics.email_failed(request.template, "permanent")
        activity.logger.warning("email %s permanently refused: %s", request.send_key, error)
        return EmailReceipt(send_key=request.send_key, status="failed", error=error)

    def _message(self, request: EmailRequest) -> Message:
        """The email as it goes out, with its action link minted now (never in history).

        Raises PermanentMailError if it could never be sent (a line break in the subject or a
        name, an address that is not one address): a failure, not a retry."""
        link, context = None, request.context
        if request.action is not None:
            token = tokens.mint(request.workflow_id, request.to.id, request.action, self.keys)
            link = f"{self.base_url}/a/{token}"
        elif (page := ops_link(self.base_url, request.workflow_id, request.send_key, request.to.id)) is not None:
            # A notice asking ops to act: the signed-in page where they do it (no token).
            link, label = page
            context = {**context, "action_label": label}
        html, text = render(request.template, context, link, request.to.timezone)
        return Message(
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

    async def _alert_if_delayed(self, request: EmailRequest) -> None:
        """Once per send key: ops hear of an email still failing after ``alert_after``."""
        info = activity.info()
        since = info.scheduled_time
        if datetime.now(UTC) - since < self.alert_after or await self.store.alerted(request.send_key, DELAYED):
            return
        entry = await self.store.get_send(request.send_key)
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
        if await self.store.alert_once(request.send_key, DELAYED):
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
        agenda="\n".join(f"- {item}" for item in invite.agenda), sequence=invite.sequence,
        stamp=activity.info().scheduled_time, zone=invite.timezone, cancel=invite.cancelled,
    )
    return (ics.attachment(ics_file, "review.ics", cancel=invite.cancelled),)
