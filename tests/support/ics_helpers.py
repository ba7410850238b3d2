"""A calendar invitation as the tests build and read it (icalendar reads what Accord wrote)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar

from accord.mail import ics
from accord.mail.outbox import body
from accord.models import EmailRequest
from tests.support.mail_helpers import request

START = datetime(2026, 12, 29, 10, 0, tzinfo=UTC)


STAMP = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)


ORGANIZER = ("Accord", "accord@accord.example")


ATTENDEES = [("Ann Alpha", "ann@alpha.example"), ("Ben Beta", "ben@beta.example")]


AGENDA = "1. Metrics: referrals, time to close\n2. Risks; next steps"


def invite(**changes) -> bytes:
    args = {"uid": "partnership-acme/monthly/3@accord", "title": "Monthly review: Alpha and Beta", "start": START,
            "duration": timedelta(hours=1), "organizer": ORGANIZER, "attendees": ATTENDEES, "agenda": AGENDA,
            "location": "https://meet.example/acme", "sequence": 0, "stamp": STAMP, **changes}
    return ics.invitation(**args)


def event_of(data: bytes) -> icalendar.Event:
    calendar = icalendar.Calendar.from_ical(data)
    assert calendar["METHOD"] == "REQUEST"
    [event] = calendar.walk("VEVENT")
    return event


def emails(event: icalendar.Event, name: str) -> list[str]:
    values = event.get(name)
    values = values if isinstance(values, list) else [values]
    return [str(v).removeprefix("mailto:") for v in values]


def invitation_request(send_key: str | None = None) -> EmailRequest:
    return request(send_key, action=False).model_copy(update={"attachments": [ics.attachment(invite())]})


def check_invitation_email(mail) -> None:
    """An email carrying the invitation, as a mail client sees it (shared by every backend's test)."""
    assert mail.get_content_type() == "multipart/mixed"
    assert body(mail, "plain").strip() and body(mail, "html").strip()  # the text parts are still found
    [part] = list(mail.iter_attachments())
    assert part.get_content_type() == "text/calendar"
    assert part.get_param("method") == "REQUEST"
    assert part.get_content_disposition() == "attachment"
    assert part.get_filename() == "invite.ics"
    data = part.get_payload(decode=True)
    assert data == invite()
    event = event_of(data)
    assert event.decoded("DTSTART") == START and str(event["DESCRIPTION"]) == AGENDA
    assert emails(event, "ATTENDEE") == ["ann@alpha.example", "ben@beta.example"]
