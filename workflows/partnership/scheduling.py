"""When things happen, by the partnership's schedule version: review dates, task deadlines, reminder times.

The one place the workflow asks for a date, so the two ways of computing dates live side by
side and nowhere else (``workflows/versions.py``, "The schedule version"):

- **schedule 0** (partnerships started before v0.7, also after they continue as new): a
  review is at ``launch + n * every``, moved off weekends and holidays judged by the UTC
  date; a task is due at ``assigned + due`` to the second; reminders go at their planned
  instant, whatever the hour is where the owner is;
- **schedule 1**: business days are judged in each party's own zone; a task due in whole
  days is due at the end of its owner's working day there
  (:func:`accord.logic.working_hours.deadline`); reminders and overdue notices go within
  the owner's working hours, a reminder moved earlier, never past its deadline
  (:func:`accord.logic.working_hours.plan`). Working hours (the definition's
  ``working_hours`` window, 09:00-17:00 by default) are those of a person with a
  zone (their own or their party's): for someone the definition gives no zone, Accord
  cannot know when their day ends, and their deadlines and reminders stay exact instants
  as before (so a definition without zones runs exactly as it did).

A ``rule`` cadence (a calendar rule) is new with schedule 1, so no history can hold one
computed otherwise: it is kept in its zone under either version (an amendment can give one
to an older partnership), moved off business days like ``every``.

Zone arithmetic uses the pinned ``tzdata`` package only (``accord.logic.zones``), never the
worker's zone files, so a replay on a machine with other zone data computes the same dates.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from temporalio import workflow

from workflows.toolkit import hours

if TYPE_CHECKING:
    from workflows.partnership.context import PartnershipContext

with workflow.unsafe.imports_passed_through():
    from accord.logic import recurrence, schedule, working_hours
    from accord.logic.business_days import BusinessCalendar, JointCalendar
    from definitions.durations import Duration
    from definitions.schema import Cadence


class Scheduling:
    def __init__(self, ctx: PartnershipContext) -> None:
        self.ctx = ctx
        self._hours: hours.Cache = {}

    @property
    def local(self) -> bool:
        """Schedule 1: days, deadlines and reminders in people's own zones and working hours."""
        return self.ctx.state.schedule_version >= 1

    # ------------------------------------------------------------------ people

    def hours(self, stakeholder: str) -> working_hours.WorkingHours:
        """A stakeholder's working hours: their zone (or their party's), their party's holidays,
        their window (or their party's; 09:00-17:00 when the definition gives none)."""
        return hours.working_hours_of(self.ctx.definition, stakeholder, self._hours)

    def zone_of(self, stakeholder: str) -> str | None:
        """The zone a stakeholder reads times in (None: UTC)."""
        return self.ctx.definition.timezone_of(stakeholder) if stakeholder in self.ctx.people else None

    # ------------------------------------------------------------------ tasks

    def kept_hours(self, person: str) -> working_hours.WorkingHours | None:
        """The working hours deadlines and reminders follow for ``person``: None under
        schedule 0, and for someone without a zone (exact instants, as before)."""
        if not self.local or person not in self.ctx.people or self.ctx.definition.timezone_of(person) is None:
            return None
        return self.hours(person)

    def due(self, owner: str, assigned_at: datetime, due: Duration) -> datetime:
        """When work assigned to ``owner`` at ``assigned_at`` and due in ``due`` is due."""
        hours = self.kept_hours(owner)
        return due.after(assigned_at) if hours is None else working_hours.deadline(assigned_at, due, hours)

    def joint_due(self, people: list[str], assigned_at: datetime, due: Duration) -> datetime:
        """The deadline of a decision shared by ``people`` (an approval): the LATEST of their own
        deadlines, each at the end of that person's working day in their zone, so nobody's day is
        cut short (:func:`accord.logic.working_hours.joint_deadline`). Each is shown that one
        instant in their own local time. With no zones (or schedule 0): ``assigned_at + due``."""
        return max((self.due(who, assigned_at, due) for who in people), default=due.after(assigned_at))

    def chase_hours(self, owner: str) -> working_hours.WorkingHours | None:
        """The hours reminders to ``owner`` are kept in; None: at their planned instants."""
        return self.kept_hours(owner)

    # ------------------------------------------------------------------ reviews

    def _calendar(self, cadence: Cadence) -> BusinessCalendar | JointCalendar | None:
        if not cadence.business_days_only:
            return None
        parties = self.ctx.definition.parties
        with workflow.unsafe.sandbox_unrestricted(), workflow.unsafe.imports_passed_through():
            if not self.local and cadence.rule is None:
                return schedule.calendar_for(parties)  # days judged in UTC, as before v0.7
            return JointCalendar([BusinessCalendar(p.holidays or (), zone=p.timezone) for p in parties])

    def next_review(self, cadence: Cadence, launched_at: datetime, after: datetime) -> tuple[int, datetime]:
        """The next occurrence of a cadence strictly after ``after``, and its number: for
        ``every``, when the review opens; for a ``rule``, when the meeting begins."""
        when = cadence.rule if cadence.rule is not None else cadence.every
        assert when is not None  # the checks require one of them
        return recurrence.next_review(launched_at, when, after, self._calendar(cadence))

