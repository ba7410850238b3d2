"""Email: what the email activity is asked to send and answers, and what the mail provider reports."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from accord.models.common import Payload


class EmailEventRecord(Payload):
    send_key: str
    event: str
    reason: str = ""
    recipient: str = ""
    at: datetime


class EmailDelay(Payload):
    """Signal ``email_delayed``: the email activity reports an email still failing (a provider
    outage, retried without end) longer than the deployment's ``mail_alert_after``."""

    send_key: str
    recipient: str = Field(description="The recipient's id (stakeholder id or ops-N).")
    since: datetime = Field(description="When the email was first scheduled.")
    attempts: int = 0
    error: str = Field("", description="What the provider answered last.")


class EmailEvent(Payload):
    """What the mail provider reported about a sent email (delivered, bounce, dropped...)."""

    send_key: str
    event: str
    reason: str = ""
    recipient: str = ""


class Recipient(Payload):
    id: str  # stakeholder id, or "ops"
    name: str
    email: str
    timezone: str | None = Field(None, description="Where the reader is (IANA): times in emails are shown there.")


class ActionLink(Payload):
    """What the email's link lets its recipient do. The token is minted inside the activity.

    For "escalation" the link's workflow is the escalation's own (child) workflow, ``ref``
    the escalation id and ``round`` the ladder step the email was sent for (its recipient may be
    ops, ``ops-<n>``). For "baseline" ``ref`` is the metric id: the page records the metric's
    value before launch (``record_metric``), which completes its baseline task."""

    action: Literal["task", "statement", "decision", "review", "escalation", "baseline"]
    ref: str
    round: int = 1
    expires_at: datetime


class Invitation(Payload):
    """A calendar invitation to attach to an email (the activity turns it into an .ics file)."""

    uid: str = Field(description="Stable: a re-sent invitation updates the same calendar event.")
    title: str
    start: datetime
    minutes: int
    organizer: str
    attendees: list[Recipient]
    agenda: list[str] = Field(default_factory=list)
    timezone: str | None = Field(None, description="The IANA zone the meeting is kept in (VTIMEZONE); None: UTC.")
    sequence: int = Field(0, ge=0, description="Raised by every update of the same meeting (uid).")
    cancelled: bool = Field(False, description="METHOD:CANCEL: the meeting is off.")


# Attachments travel inside the activity's input, so they are recorded in workflow
# history: keep them small (a calendar invitation is a few kB). Base64 adds a third.
MAX_ATTACHMENT_BYTES = 128 * 1024


class Attachment(Payload):
    """A small file sent with an email, e.g. a calendar invitation (``invite.ics``)."""

    filename: str = Field(
        pattern=r"^[^/\\\x00-\x1f\x7f]{1,100}$", description="A plain file name: no folders, no control characters."
    )
    content_type: str = Field(
        pattern=r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(\s*;\s*[A-Za-z0-9!#$&^_.+-]+=[^;\s\x00-\x1f]+)*$",
        description="MIME type with optional parameters, e.g. 'text/calendar; method=REQUEST; charset=UTF-8'.",
    )
    content: str = Field(description="The file's bytes, base64-encoded.")

    @field_validator("content")
    @classmethod
    def _small_base64(cls, value: str) -> str:
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("content must be base64") from None
        if len(data) > MAX_ATTACHMENT_BYTES:
            raise ValueError(f"attachment is {len(data)} bytes; at most {MAX_ATTACHMENT_BYTES} fit in workflow history")
        return value

    @classmethod
    def of(cls, filename: str, content_type: str, data: bytes) -> Attachment:
        return cls(filename=filename, content_type=content_type, content=base64.b64encode(data).decode("ascii"))

    @property
    def data(self) -> bytes:
        return base64.b64decode(self.content)


class EmailRequest(Payload):
    send_key: str = Field(description="Deterministic: the same email is never sent twice under one key.")
    workflow_id: str
    template: str
    to: Recipient
    subject: str
    context: dict[str, Any] = Field(default_factory=dict)
    action: ActionLink | None = None
    invitation: Invitation | None = None
    attachments: list[Attachment] = Field(default_factory=list)

    @field_validator("attachments")
    @classmethod
    def _small_in_total(cls, value: list[Attachment]) -> list[Attachment]:
        total = sum(len(a.data) for a in value)
        if total > MAX_ATTACHMENT_BYTES:
            raise ValueError(f"attachments are {total} bytes in all; at most {MAX_ATTACHMENT_BYTES} fit in workflow history")
        return value


class EmailReceipt(Payload):
    send_key: str
    status: Literal["sent", "already_sent", "failed"]
    message_id: str | None = None
    error: str | None = None
