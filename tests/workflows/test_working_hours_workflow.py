"""Working hours on the time-skipping server (schedule version 1): an escalation raised at night
pages each contact at the start of their working day, a critical one at once; a party's own
window (``working_hours``) sets its people's deadlines and moves their reminders.

tests/data/calendar.yaml: Abe works for Alpha in London (GB holidays), Ben for Beta in New York
(US holidays). Whatever hour the test runs, it first waits for 02:00 in London.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from accord.logic import working_hours, zones
from accord.logic.time_display import format_instant
from accord.mail.outbox import body, messages
from accord.models import EscalationRequest, Severity
from definitions.calendar import WorkingWindow
from definitions.durations import Duration
from definitions.schema import Clear, EscalationLevel, Reminders, Trigger
from tests.support.helpers import eventually, skip_time, state_where, unique
from tests.support.lifecycle import approve, to_active
from tests.support.paths import DATA
from tests.support.workers import running_worker

LONDON = zones.zone("Europe/London")
NEW_YORK = zones.zone("America/New_York")


def pages_to(settings, who: str, escalation: str) -> list:
    return [m for _, m in messages(settings.outbox_dir)
            if f"{who}@" in str(m["to"]) and f"{escalation}:" in str(m["subject"])]


ABE = working_hours.WorkingHours("Europe/London", "GB")
BEN = working_hours.WorkingHours("America/New_York", "US")


def working_night(now: datetime) -> datetime:
    """The next 02:00 London (21:00 the evening before in New York) after ``now`` on a date
    that is a working day in London and New York: whatever day the test runs, both start work
    later that day (a holiday of one of them would make the test depend on the date)."""
    day = now.astimezone(LONDON).date()
    while True:
        at = zones.on_day(day, time(2), LONDON)
        if at > now and ABE.is_working_day(day) and BEN.is_working_day(day):
            return at
        day += timedelta(days=1)


async def test_an_escalation_raised_at_night_pages_each_contact_when_their_working_day_starts(ts_env, settings, accord_for):
    accord = accord_for(ts_env)
    definition = unique(DATA / "calendar.yaml")
    definition.escalation.ladder = [EscalationLevel(name="Leads", contacts=["abe", "ben"], respond_within="2d"),
                                    EscalationLevel(name="Sponsors", contacts=["ann"], respond_within="2d")]
    abe_hours, ben_hours = ABE, BEN
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(definition)
        state = await state_where(accord, wf, lambda s: "go-no-go" in s.approvals)
        assert state.schedule_version == 1
        # 02:00 in London (21:00 the evening before in New York): nobody is at work.
        night = working_night(await ts_env.get_current_time())
        await skip_time(ts_env, night - await ts_env.get_current_time())
        _, normal = await accord.raise_escalation(wf, EscalationRequest(reason="The referral feed is down", subject="referrals"))
        _, critical = await accord.raise_escalation(
            wf, EscalationRequest(reason="Customer data sent to the wrong partner", subject="partnership",
                                  severity=Severity.critical))
        assert normal.id != critical.id
        raised = (await accord.escalation(wf, normal.id)).opened_at
        assert not abe_hours.is_within(raised) and not ben_hours.is_within(raised)

        # The critical one pages both at once, at night: what on-call people expect.
        await eventually(lambda: _sent(settings, ("abe", "ben"), critical.id))
        assert pages_to(settings, "abe", normal.id) == [] and pages_to(settings, "ben", normal.id) == []

        # Abe is paged when his day starts in London (09:00 on a GB working day), not before;
        # the level's two days to answer count from then.
        abe_at = abe_hours.next_start(raised)
        assert abe_at is not None and abe_at.astimezone(LONDON).time() == time(9)
        # Meanwhile ops see that nobody is paged yet, and from when: not a time to come as if past.
        shown = await show_escalation(ts_env, wf, normal.id)
        assert f"from {format_instant(abe_at, 'Europe/London')} (nobody paged yet)" in shown, shown
        await skip_time(ts_env, abe_at - timedelta(minutes=30) - await ts_env.get_current_time())
        assert pages_to(settings, "abe", normal.id) == []
        await skip_time(ts_env, timedelta(minutes=31))
        [page] = await eventually(lambda: _sent(settings, ("abe",), normal.id))
        assert "nobody paged" not in await show_escalation(ts_env, wf, normal.id)
        state = await accord.escalation(wf, normal.id)
        assert state.levels[0].at == state.level_reached_at == abe_at
        respond_by = Duration.parse("2d").after(abe_at)
        assert f"Respond by: {format_instant(respond_by, 'Europe/London')}" in body(page, "plain"), body(page, "plain")

        # Ben, in New York, still sleeps (04:00 there): paged at 09:00 his time, on a US working day.
        assert pages_to(settings, "ben", normal.id) == []
        ben_at = ben_hours.next_start(raised)
        assert ben_at is not None and ben_at.astimezone(NEW_YORK).time() == time(9) and abe_at < ben_at < respond_by
        await skip_time(ts_env, ben_at + timedelta(minutes=1) - await ts_env.get_current_time())
        await eventually(lambda: _sent(settings, ("ben",), normal.id))
        state = await accord.escalation(wf, normal.id)
        assert state.levels[0].told == ["abe", "ben"] and state.levels[0].notified_at is not None
        assert state.level == 1, "nobody has had their two days yet"


async def show_escalation(env, wf: str, escalation: str) -> str:
    """What `accord escalation show` prints (in London time, wide enough for a row on one line)."""
    import asyncio

    from typer.testing import CliRunner

    from accord.cli import app

    args = ["escalation", "show", wf, escalation, "--zone", "Europe/London",
            "--address", env.client.service_client.config.target_host]
    shown = await asyncio.to_thread(CliRunner().invoke, app, args, env={"COLUMNS": "300"})
    assert shown.exit_code == 0, shown.output
    return shown.output


async def _sent(settings, people: tuple[str, ...], escalation: str) -> list:
    found = [m for who in people for m in pages_to(settings, who, escalation)]
    assert len(found) == len(people), f"{escalation} not yet sent to all of {people}"
    return found


async def test_a_partys_working_window_sets_its_deadlines_and_moves_reminders_into_it(ts_env, settings, accord_for):
    accord = accord_for(ts_env)
    definition = unique(DATA / "calendar.yaml")
    # Alpha works 07:00-15:00 in London. Abe's playbook (due in 2 months) is reminded 20 hours before.
    definition.parties[0].working_hours = WorkingWindow(start=time(7), end=time(15))
    definition.reminders = Reminders(before=[Duration.parse("20h")])
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(definition)
        await approve(accord, wf, "go-no-go", who=("amy",))
        await to_active(accord, wf)
        playbook = (await accord.state(wf)).tasks["playbook"]
        # Due at the end of Abe's working day (15:00 London), not at 17:00.
        due = playbook.due_at.astimezone(LONDON)
        assert due.time() == time(15) and due.weekday() < 5
        await skip_time(ts_env, playbook.due_at - await ts_env.get_current_time() - timedelta(minutes=1), timeout=120)
        playbook = (await accord.state(wf)).tasks["playbook"]

    # 20 hours before 15:00 is 19:00 the day before, after Abe's day: the reminder moved earlier,
    # to the end of his previous working day, 15:00 (a nine-to-five day would have kept 17:00).
    [reminded] = playbook.reminders_sent
    local = reminded.astimezone(LONDON)
    assert abs(datetime.combine(local.date(), time(15), LONDON) - local) < timedelta(minutes=1), local.isoformat()
    assert local.date() < due.date() and local.weekday() < 5


async def test_asked_at_night_whether_it_may_close_the_level_is_asked_when_its_day_starts(ts_env, settings, accord_for):
    """The go/no-go goes overdue and is escalated (to Abe in London and Ben in New York); the
    approvers decide at 02:00 London: its cause is gone, and (clear: confirm) its level is asked
    whether it may close, each when their day starts, with the level's two weeks from the first
    question. (Two weeks: the night it is decided may be days after the level was paged, over a
    weekend or holidays, and a shorter window would have handed it to ops by then.)"""
    accord = accord_for(ts_env)
    definition = unique(DATA / "calendar.yaml")
    definition.escalation.ladder = [EscalationLevel(name="Leads", contacts=["abe", "ben"], respond_within="2w")]
    definition.escalation.triggers.overdue = Trigger(clear=Clear.confirm)
    abe_hours = ABE
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(definition)
        await skip_time(ts_env, timedelta(weeks=2, days=2), timeout=60)  # due in 1w, escalated a week later
        escalated = await state_where(accord, wf, lambda s: any(e.subject == "go-no-go" for e in s.escalations))
        record = next(e for e in escalated.escalations if e.subject == "go-no-go")
        night = working_night(await ts_env.get_current_time())
        await skip_time(ts_env, night - await ts_env.get_current_time())
        await approve(accord, wf, "go-no-go", who=("ann", "ben", "amy"))

        async def asked():
            escalation = await accord.escalation(wf, record.id)
            assert escalation.clearing is not None and escalation.clearing.pending, escalation.clearing
            return escalation
        escalation = await eventually(asked)
        gone = escalation.clearing.at
        assert not abe_hours.is_within(gone)
        abe_at = abe_hours.next_start(gone)
        assert abe_at is not None
        assert escalation.clearing.until == Duration.parse("2w").after(abe_at), "the level's window from the first question"
        assert escalation.clearing.asked_at is None and not subjects(settings, "abe", f"Can it close? {record.id}:")

        await skip_time(ts_env, abe_at + timedelta(minutes=1) - await ts_env.get_current_time())

        async def abe_asked():
            assert len(subjects(settings, "abe", f"Can it close? {record.id}:")) == 1
        await eventually(abe_asked)
        assert not subjects(settings, "ben", f"Can it close? {record.id}:"), "04:01 in New York"
        assert (await accord.escalation(wf, record.id)).clearing.told == ["abe"]


def subjects(settings, who: str, containing: str) -> list[str]:
    return [str(m["subject"]) for _, m in messages(settings.outbox_dir)
            if f"{who}@" in str(m["to"]) and containing in str(m["subject"])]
