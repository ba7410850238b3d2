"""Invitations kept in a time zone, as another calendar program reads them.

``icalendar`` writes the invitations; ``vobject`` (a separate parser) reads them here, with
the zone rules it builds from the file's own VTIMEZONE, not from any zone database: so the
local start it finds is what a calendar that knows nothing of Accord would show. Updates
(same UID, higher SEQUENCE) and cancellations (METHOD:CANCEL) are read as such.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import vobject
from temporalio.testing import ActivityEnvironment

from accord.mail import ics
from accord.mail.outbox import Outbox, messages
from accord.models import EmailRequest, Invitation, Recipient
from activities.email import EmailActivities
from tests.support.mail_helpers import request

STAMP = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
UID = "partnership-acme/run-1/quarterly-3"


def invite(start: datetime, zone: str | None, **changes) -> bytes:
    return ics.invitation(uid=UID, title="Quarterly review #3: Alpha and Beta", start=start,
                          duration=timedelta(minutes=90), organizer=("Accord", "ops@alpha.example"),
                          attendees=[("Ann Alpha", "ann@alpha.example")], agenda="- Inputs", stamp=STAMP, zone=zone,
                          **changes)


def read(data: bytes):
    calendar = vobject.readOne(data.decode())
    return calendar, calendar.vevent


@pytest.mark.parametrize(
    ("start", "zone", "local"),
    [
        # 10:00 London before and after the spring change: 10:00 UTC, then 09:00 UTC.
        (datetime(2026, 3, 23, 10, 0, tzinfo=UTC), "Europe/London", (datetime(2026, 3, 23, 10, 0), "GMT")),
        (datetime(2026, 3, 30, 9, 0, tzinfo=UTC), "Europe/London", (datetime(2026, 3, 30, 10, 0), "BST")),
        # Sydney's clocks go back in April, when London's go forward.
        (datetime(2026, 4, 6, 0, 0, tzinfo=UTC), "Australia/Sydney", (datetime(2026, 4, 6, 10, 0), "AEST")),
        (datetime(2026, 11, 2, 15, 0, tzinfo=UTC), "America/New_York", (datetime(2026, 11, 2, 10, 0), "EST")),
        # A 45-minute offset.
        (datetime(2026, 6, 1, 4, 15, tzinfo=UTC), "Asia/Kathmandu", (datetime(2026, 6, 1, 10, 0), None)),
    ],
)
def test_a_meeting_kept_in_a_zone_starts_at_its_local_time_for_another_parser(start, zone, local) -> None:
    data = invite(start, zone)
    calendar, event = read(data)
    assert calendar.method.value == "REQUEST"
    begins = event.dtstart.value
    assert f"DTSTART;TZID={zone}:".encode() in data  # local time with the zone (vobject consumes TZID)
    assert begins.replace(tzinfo=None) == local[0]  # the wall-clock time a calendar shows
    assert begins.astimezone(UTC) == start  # and the same instant
    assert event.dtend.value.astimezone(UTC) == start + timedelta(minutes=90)
    if local[1]:
        assert begins.tzname() == local[1]
    assert b"BEGIN:VTIMEZONE" in data and f"TZID:{zone}".encode() in data


def test_a_meeting_without_a_zone_stays_in_utc() -> None:
    start = datetime(2026, 3, 30, 9, 0, tzinfo=UTC)
    data = invite(start, None)
    _, event = read(data)
    assert event.dtstart.value == start and b"VTIMEZONE" not in data


def test_an_update_and_a_cancellation_are_read_as_such() -> None:
    first = invite(datetime(2026, 4, 7, 14, 0, tzinfo=UTC), "Europe/Berlin")
    moved = invite(datetime(2026, 4, 8, 13, 0, tzinfo=UTC), "Europe/Berlin", sequence=1)
    cancelled = invite(datetime(2026, 4, 8, 13, 0, tzinfo=UTC), "Europe/Berlin", sequence=2, cancel=True)
    (_, a), (_, b), (c_cal, c) = read(first), read(moved), read(cancelled)
    # One event (same UID), each version newer than the last.
    assert a.uid.value == b.uid.value == c.uid.value == UID
    assert [int(e.sequence.value) for e in (a, b, c)] == [0, 1, 2]
    assert b.dtstart.value.replace(tzinfo=None) == datetime(2026, 4, 8, 15, 0)  # 15:00 Berlin (CEST)
    assert c_cal.method.value == "CANCEL" and c.status.value == "CANCELLED"
    assert ics.attachment(cancelled, cancel=True).content_type.startswith("text/calendar; method=CANCEL")


def test_an_unknown_zone_is_refused_before_writing() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        invite(datetime(2026, 4, 7, 14, 0, tzinfo=UTC), "Europe/Lodnon")


async def test_the_email_activity_attaches_the_zoned_invitation(settings, local_store) -> None:
    outbox = Outbox(settings.outbox_dir)
    acts = EmailActivities(outbox, local_store, sender="Accord <accord@accord.example>",
                           base_url=settings.web_base_url, keys=["k" * 32])
    invitation = Invitation(
        uid=UID, title="Weekly stand-up", start=datetime(2026, 10, 26, 10, 0, tzinfo=UTC), minutes=30,
        organizer="ops@alpha.example", attendees=[Recipient(id="ann", name="Ann Alpha", email="ann@alpha.example")],
        timezone="Europe/London", sequence=3,
    )
    email: EmailRequest = request("zoned-invite").model_copy(update={"invitation": invitation})
    assert (await ActivityEnvironment().run(acts.send_email, email)).status == "sent"
    [(_, mail)] = messages(settings.outbox_dir)
    [part] = list(mail.iter_attachments())
    assert part.get_content_type() == "text/calendar" and part.get_param("method") == "REQUEST"
    data = part.get_payload(decode=True)
    _, event = read(data)
    # 26 October: London is back on GMT, so 10:00 UTC is 10:00 local.
    assert event.dtstart.value.replace(tzinfo=None) == datetime(2026, 10, 26, 10, 0)
    assert b"DTSTART;TZID=Europe/London:20261026T100000" in data and int(event.sequence.value) == 3
