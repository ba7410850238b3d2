"""Calendar invitations: the .ics content, attachments on EmailRequest, and the outbox's .eml.

SendGrid and SMTP carry the same attachment: see test_sendgrid.py and test_smtp.py.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.parser import BytesParser

import pytest
from pydantic import ValidationError
from temporalio.testing import ActivityEnvironment

from accord.mail import ics
from accord.mail.outbox import Outbox, messages
from accord.models import MAX_ATTACHMENT_BYTES, Attachment, EmailRequest
from activities.email import EmailActivities
from tests.support.ics_helpers import (
    AGENDA,
    ATTENDEES,
    STAMP,
    START,
    check_invitation_email,
    emails,
    event_of,
    invitation_request,
    invite,
)
from tests.support.mail_helpers import request

# --- the .ics ---------------------------------------------------------------------


def test_invitation_content() -> None:
    data = invite()
    assert data.startswith(b"BEGIN:VCALENDAR\r\n") and data.endswith(b"END:VCALENDAR\r\n")
    event = event_of(data)
    assert event.decoded("DTSTART") == START and event.decoded("DTEND") == START + timedelta(hours=1)
    assert b"DTSTART:20261229T100000Z" in data  # UTC, no time-zone definitions needed
    assert str(event["UID"]) == "partnership-acme/monthly/3@accord"
    assert event["SEQUENCE"] == 0
    assert event.decoded("DTSTAMP") == STAMP
    assert str(event["SUMMARY"]) == "Monthly review: Alpha and Beta"
    assert str(event["DESCRIPTION"]) == AGENDA  # newlines and ';' survive the escaping
    assert str(event["LOCATION"]) == "https://meet.example/acme"
    assert emails(event, "ORGANIZER") == ["accord@accord.example"]
    assert event["ORGANIZER"].params["CN"] == "Accord"
    assert emails(event, "ATTENDEE") == ["ann@alpha.example", "ben@beta.example"]
    for attendee, (name, _) in zip(event["ATTENDEE"], ATTENDEES, strict=True):
        assert attendee.params["CN"] == name
        assert (attendee.params["RSVP"], attendee.params["PARTSTAT"], attendee.params["ROLE"]) == (
            "TRUE", "NEEDS-ACTION", "REQ-PARTICIPANT")


def test_same_arguments_same_bytes_and_an_update_keeps_the_uid() -> None:
    assert invite() == invite()
    moved = event_of(invite(start=START + timedelta(days=1), sequence=1))
    original = event_of(invite())
    assert moved["UID"] == original["UID"]  # the client replaces the event ...
    assert moved["SEQUENCE"] > original["SEQUENCE"]  # ... because this version is newer
    assert event_of(invite(uid="partnership-acme/monthly/4@accord"))["UID"] != original["UID"]


def test_names_with_commas_quotes_and_other_zones() -> None:
    cet = timezone(timedelta(hours=1))
    event = event_of(invite(attendees=[('Beta, "Ben"', "ben@beta.example")], organizer=("", "ops@accord.example"),
                            start=datetime(2026, 12, 29, 11, 0, tzinfo=cet), location=""))
    assert event["ATTENDEE"].params["CN"] == 'Beta, "Ben"'
    assert "CN" not in event["ORGANIZER"].params
    assert event.decoded("DTSTART") == START  # 11:00 CET is 10:00 UTC
    assert "LOCATION" not in event


def test_stamp_defaults_to_now() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    stamp = event_of(invite(stamp=None)).decoded("DTSTAMP")
    assert before <= stamp <= datetime.now(UTC)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"uid": " "}, "stable uid"),
        ({"duration": timedelta(0)}, "longer than zero"),
        ({"sequence": -1}, "sequence"),
        ({"attendees": []}, "at least one attendee"),
        ({"start": datetime(2026, 12, 29, 10)}, "start must be timezone-aware"),
    ],
)
def test_bad_invitations_are_refused(changes, message) -> None:
    with pytest.raises(ValueError, match=message):
        invite(**changes)


# --- the attachment model -----------------------------------------------------------


def test_attachment_round_trip_and_limits() -> None:
    a = ics.attachment(invite())
    assert (a.filename, a.content_type) == ("invite.ics", "text/calendar; method=REQUEST; charset=UTF-8")
    assert a.data == invite() and base64.b64decode(a.content) == invite()
    # Through JSON, as the activity input crosses Temporal.
    req = EmailRequest.model_validate_json(request().model_copy(update={"attachments": [a]}).model_dump_json())
    assert req.attachments == [a]
    assert request().attachments == []  # optional: every existing caller is unchanged

    with pytest.raises(ValidationError, match="base64"):
        Attachment(filename="a.ics", content_type="text/calendar", content="not base64!")
    for name in ("../etc/passwd", "a\r\nBcc: x@y.example", ""):
        with pytest.raises(ValidationError, match="filename"):
            Attachment.of(name, "text/plain", b"x")
    for kind in ("text", "text/calendar\r\nX: y", "text/calendar; method"):
        with pytest.raises(ValidationError, match="content_type"):
            Attachment.of("a.txt", kind, b"x")
    with pytest.raises(ValidationError, match="fit in workflow history"):
        Attachment.of("big.bin", "application/octet-stream", b"x" * (MAX_ATTACHMENT_BYTES + 1))
    half = Attachment.of("half.bin", "application/octet-stream", b"x" * (MAX_ATTACHMENT_BYTES // 2 + 1))
    with pytest.raises(ValidationError, match="in all"):
        EmailRequest.model_validate({**request().model_dump(), "attachments": [half.model_dump(), half.model_dump()]})


# --- through the outbox -----------------------------------------------------------






async def test_outbox_eml_carries_the_invitation(settings, local_store) -> None:
    outbox = Outbox(settings.outbox_dir)
    acts = EmailActivities(outbox, local_store, sender="Accord <accord@accord.example>",
                           base_url=settings.web_base_url, keys=["k" * 32])
    req = invitation_request()
    assert (await ActivityEnvironment().run(acts.send_email, req)).status == "sent"
    assert (await ActivityEnvironment().run(acts.send_email, req)).status == "already_sent"  # send key as before

    [(path, mail)] = messages(settings.outbox_dir)
    check_invitation_email(mail)
    alternative = next(mail.iter_parts())
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]
    # Parsed straight from the file's bytes too, as another program would.
    reparsed = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    check_invitation_email(reparsed)
