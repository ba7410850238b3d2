"""A partnership kept in local time, on the time-skipping server (schedule version 1).

tests/data/calendar.yaml: Alpha in London (GB holidays), Beta in New York (US holidays), a
weekly status review "Mondays at 10:00 Europe/London", moved off either party's public
holidays. Half a year of it always crosses one of London's clock changes (and New York's,
on other dates), whatever day the test runs: every review still meets at 10:00 London, on a
Monday unless that Monday is a holiday of one party, then on the next day that is a
business day for both. A task due "in 1w" is due at the end of its owner's working day
in London. Emails show each reader the times in their own zone, the zone named.
"""

from __future__ import annotations

import re
from datetime import time, timedelta

import holidays
import vobject

from accord.logic import working_hours, zones
from accord.logic.time_display import format_instant
from accord.mail.outbox import body, messages
from accord.models import AmendmentProposal
from definitions.durations import Duration
from tests.support.helpers import eventually, skip_time, state_where, unique
from tests.support.lifecycle import approve, to_active
from tests.support.paths import DATA
from tests.support.workers import running_worker

LONDON = zones.zone("Europe/London")
NEW_YORK = zones.zone("America/New_York")
WEEKS = 27


def is_holiday(day) -> bool:
    return day in holidays.country_holidays("GB", years=day.year) or day in holidays.country_holidays("US", years=day.year)


async def test_a_weekly_10_00_london_review_stays_at_10_00_london_across_the_clock_change(ts_env, settings, accord_for):
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(unique(DATA / "calendar.yaml"))
        state = await state_where(accord, wf, lambda s: "go-no-go" in s.approvals)
        assert state.schedule_version == 1, "a partnership started on this release keeps its dates locally"
        # Three approvers in three zones (London, New York, Kolkata): the go/no-go is due at the
        # latest of their own deadlines, the end of a working day, and each is shown it locally.
        go = state.approvals["go-no-go"]
        # Whose deadline is latest depends on the hour the test runs (late in the UTC evening,
        # Kolkata's date has already turned), so the test asks which one it is.
        approvers = (("ann", "Europe/London", "GB"), ("ben", "America/New_York", "US"), ("amy", "Asia/Kolkata", "GB"))
        own = {zone: working_hours.deadline(go.opened_at, Duration.parse("1w"), working_hours.WorkingHours(zone, region))
               for _, zone, region in approvers}
        latest = max(own, key=own.__getitem__)
        assert go.deadline_at == own[latest] and go.deadline_at.astimezone(zones.zone(latest)).time() == time(17, 0)
        async def requests_out() -> list:
            sent = [m for _, m in messages(settings.outbox_dir) if "Go/no-go" in str(m["subject"])]
            assert len(sent) == 3
            return sent

        sent = await eventually(requests_out)
        for who, zone in (("ann", "Europe/London"), ("ben", "America/New_York"), ("amy", "Asia/Kolkata")):
            [request] = [m for m in sent if f"{who}@" in str(m["to"])]
            assert f"By: {format_instant(go.deadline_at, zone)}" in body(request, "plain")
        await approve(accord, wf, "go-no-go", who=("amy",))
        await to_active(accord, wf)
        state = await accord.state(wf)
        launched = state.launched_at

        # The kickoff (owner Abe, London) was due "in 1w" from the start of launch: the end
        # of the working day in London, a weekday that is not a GB holiday.
        kickoff = state.tasks["kickoff"]
        due = kickoff.due_at.astimezone(LONDON)
        assert due.time() == time(17, 0) and due.weekday() < 5
        assert due.date() >= (kickoff.created_at.astimezone(LONDON) + timedelta(days=7)).date()

        await skip_time(ts_env, timedelta(weeks=WEEKS), timeout=120)
        state = await accord.state(wf)

    # The playbook (Abe's, due in 2 months, never done) was reminded and chased as overdue:
    # every one of those emails went out within Abe's working hours in London, on a working
    # day there, and the reminder before the deadline not after it.
    playbook = state.tasks["playbook"]
    abe = working_hours.WorkingHours("Europe/London", "GB")
    assert len(playbook.reminders_sent) >= 5 and playbook.due_at.astimezone(LONDON).time() == time(17, 0)
    # (Recorded when the email was composed, a few milliseconds after its timer: to the second.)
    assert all(abe.is_within(at.replace(microsecond=0)) for at in playbook.reminders_sent), [
        at.astimezone(LONDON).isoformat() for at in playbook.reminders_sent]
    assert playbook.reminders_sent[0] <= playbook.due_at < playbook.reminders_sent[1]

    reviews = sorted((r for r in state.reviews.values() if r.kind.value == "weekly_status"), key=lambda r: r.n)
    assert len(reviews) >= WEEKS - 3, [r.id for r in reviews]
    offsets = set()
    for review in reviews:
        meeting = review.meets_at.astimezone(LONDON)
        assert meeting.time() == time(10, 0), f"{review.id} meets at {meeting.isoformat()}"
        assert meeting > launched
        # Monday, unless that Monday is a holiday of either party: then the next day both work.
        monday = meeting.date() - timedelta(days=meeting.weekday())
        assert meeting.weekday() == 0 or is_holiday(monday), f"{review.id} moved off a working Monday: {meeting}"
        for day in (monday + timedelta(days=k) for k in range(meeting.weekday())):
            assert is_holiday(day), f"{review.id} skipped {day}, a business day for both"
        assert not is_holiday(meeting.date()) and not is_holiday(meeting.astimezone(NEW_YORK).date())
        # Its inputs are asked for a day before the meeting and are due at it.
        assert review.inputs_due_at == review.meeting_at and review.scheduled_for == review.meeting_at - timedelta(days=1)
        offsets.add(meeting.utcoffset())
    assert offsets == {timedelta(0), timedelta(hours=1)}, "half a year crosses one of London's clock changes"

    # Every review asked for inputs by email, each reader shown the meeting (when inputs are
    # due) in their own zone, the zone named: Abe in London at 10:00, Ben in New York at 05:00
    # (06:00 in the weeks when only one of the two has changed its clocks).
    requests = [m for _, m in messages(settings.outbox_dir) if str(m["subject"]).startswith("Weekly status")]
    assert len(requests) >= 2 * len(reviews) - 2
    # And each request carries the meeting's invitation, kept in London: another calendar
    # program (vobject, reading the file's own VTIMEZONE) shows 10:00 before and after the change.
    sent = invitations(settings.outbox_dir, "ben")
    assert len(sent) >= len(reviews) - 1
    starts = [c.vevent.dtstart.value for _, c in sent]
    assert {s.replace(tzinfo=None).time() for s in starts} == {time(10, 0)}
    assert {s.utcoffset() for s in starts} == {timedelta(0), timedelta(hours=1)}
    for mail in requests:
        text = body(mail, "plain")
        if "abe@" in str(mail["to"]):
            assert re.search(r"By: \w+ \d+ \w+ \d{4}, 10:00 (GMT|BST) \(Europe/London\)", text), text
        else:
            assert re.search(r"By: \w+ \d+ \w+ \d{4}, 0[56]:00 (EST|EDT) \(America/New_York\)", text), text


def invitations(outbox, who: str) -> list:
    """The calendar invitations sent to ``who``, in the order sent, as vobject reads them."""
    found = []
    for _, mail in messages(outbox):
        if f"{who}@" not in str(mail["to"]):
            continue
        for part in mail.iter_attachments():
            if part.get_content_type() == "text/calendar":
                found.append((part.get_param("method"), vobject.readOne(part.get_payload(decode=True).decode())))
    return sorted(found, key=lambda f: int(f[1].vevent.sequence.value))


async def test_an_amended_rule_moves_the_invited_meeting_and_disabling_it_cancels_it(ts_env, settings, accord_for):
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        definition = unique(DATA / "calendar.yaml")
        wf = await accord.start(definition)
        await approve(accord, wf, "go-no-go", who=("amy",))
        await to_active(accord, wf)
        state = await accord.state(wf)
        review = state.reviews["weekly_status-1"]
        # It opens a day before its meeting: ask for inputs, with the invitation.
        await ts_env.sleep(review.scheduled_for - state.launched_at + timedelta(minutes=1))
        await state_where(accord, wf, lambda s: s.reviews["weekly_status-1"].opened_at is not None)
        [(method, first)] = invitations(settings.outbox_dir, "abe")
        assert method == "REQUEST" and int(first.vevent.sequence.value) == 0
        assert first.vevent.dtstart.value.replace(tzinfo=None).time() == time(10, 0)

        # The stand-up moves to 11:30 (same day): the meeting of the open review follows.
        moved = definition.model_copy(deep=True)
        moved.reviews.weekly_status.rule = moved.reviews.weekly_status.rule.model_copy(update={"at": time(11, 30)})
        await accord.propose_amendment(wf, AmendmentProposal(definition=moved, actor="ops", reason="later stand-up"))
        await approve(accord, wf, "amendment-1", who=("ann", "ben", "amy"))
        state = await state_where(accord, wf, lambda s: s.reviews["weekly_status-1"].sequence == 1)
        meeting = state.reviews["weekly_status-1"].meeting_at.astimezone(LONDON)
        assert meeting.time() == time(11, 30) and meeting.date() == review.meeting_at.astimezone(LONDON).date()
        assert state.tasks["weekly_status-1-abe"].due_at == state.reviews["weekly_status-1"].meeting_at

        # Then the weekly status is switched off: the meeting is called off.
        off = moved.model_copy(deep=True)
        off.reviews.weekly_status.enabled = False
        await accord.propose_amendment(wf, AmendmentProposal(definition=off, actor="ops", reason="no more stand-ups"))
        await approve(accord, wf, "amendment-2", who=("ann", "ben", "amy"))
        state = await state_where(accord, wf, lambda s: s.reviews["weekly_status-1"].meeting_cancelled)
        await ts_env.sleep(timedelta(days=2))  # the review closes at its (moved) due time

    for who in ("abe", "ben"):
        sent = invitations(settings.outbox_dir, who)
        assert [(m, int(c.vevent.sequence.value)) for m, c in sent] == [("REQUEST", 0), ("REQUEST", 1), ("CANCEL", 2)]
        assert len({c.vevent.uid.value for _, c in sent}) == 1, "one event, updated then cancelled"
        update, cancel = sent[1][1].vevent, sent[2][1]
        assert update.dtstart.value.replace(tzinfo=None).time() == time(11, 30)
        assert update.dtstart.value.astimezone(LONDON) == meeting
        assert cancel.method.value == "CANCEL" and cancel.vevent.status.value == "CANCELLED"
