"""Deadlines, reminders and emails in the working hours of the person they are for.

A person works in a window (by default 09:00-17:00 local time; a definition may set one per
party or person, ``working_hours``) on the business days of
their party's holiday region (Monday to Friday without one; the region's own weekend with
one), in their own zone. The window includes both its ends: 17:00 is still working
hours, 17:00:01 is not. The rules, each chosen so that nobody loses time they were given:

- **Deadlines** (:func:`deadline`): work due "in N days" (a whole number of days, weeks,
  months or years) is due at the END of the working hours of that day, the assignment's
  local date in the owner's zone plus N. If that day is not a working day, the end of the
  NEXT working day: moving earlier would give the owner less time than the definition
  promised (due Saturday must not mean Friday), and meetings move forward too. A due
  with hours or minutes in it (``36h``, ``4h``) is an exact instant, not rounded.
- **Several approvers** (:func:`joint_deadline`): each approver's own deadline as above,
  in their zone and on their working days; the approval is due at the LATEST of them, so
  nobody's working day is cut short. Each approver is shown that one instant in their own
  local time (:func:`accord.logic.time_display.format_instant`).
- **Reminders before a deadline** (:func:`reminder_at`): a reminder inside the
  recipient's working hours stays. One outside moves EARLIER, to the latest working
  moment before it (the end of the previous window), if that is still after the
  assignment. If not (assigned on Friday evening, the reminder on Saturday), it moves
  LATER to the next window's start, if that is still before the deadline. If neither
  exists, the work's whole life lies outside the person's hours: the reminder goes at its
  planned time, which is already between the assignment and the deadline (sending it at
  the assignment instead would repeat the assignment email). So a reminder is never
  after its deadline, never at or before its assignment, and outside working hours only
  when there were none to use.
- **Requests, overdue notices and escalation emails** (:func:`delivery_at`): sent at
  once within working hours, else at the start of the recipient's next working hours.
  (Overdue notices come after the deadline by definition, so they wait rather than move
  earlier.)
- **Escalation pages and questions** (:func:`paging`): each person the ladder pages (or asks
  whether it may close) is told at :func:`delivery_at` for them; the level's clock (its
  ``respond_within``) counts from when its FIRST contact is told, so nobody's window to answer
  is spent asleep. A contact whose working hours begin only after that window has run out
  would never be asked in time: they are told with the first. Urgent ones (a ``critical``
  escalation: what an on-call team expects to be woken for) go to everyone at once.
- Local times the clock skips or repeats (a window starting in a spring-forward gap)
  follow :func:`accord.logic.zones.to_utc`.

Instants in and out are timezone-aware; out, always UTC. Nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from accord.logic import chasing, zones
from accord.logic.business_days import MAX_SHIFT_DAYS, BusinessCalendar, as_utc
from accord.logic.chasing import Nudge, NudgeKind
from definitions.durations import Duration
from definitions.schema import Reminders

__all__ = [
    "Paging",
    "Window",
    "WorkingHours",
    "deadline",
    "delivery_at",
    "joint_deadline",
    "next_nudge",
    "paging",
    "plan",
    "reminder_at",
]

_DAY = 86400


@dataclass(frozen=True)
class Window:
    """The configurable working window: local start and end, and optionally the weekdays
    (0 = Monday). Without weekdays, the business days of the person's holiday region."""

    start: time = time(9)
    end: time = time(17)
    weekdays: frozenset[int] | None = field(default=None)

    def __post_init__(self) -> None:
        for clock in (self.start, self.end):
            if clock.tzinfo is not None:
                raise ValueError("working hours are local clock times, without a zone")
        if self.start >= self.end:
            # An overnight window (22:00-06:00) would put one working day on two dates.
            raise ValueError(f"working hours must end after they start on the same day, not {self.start}-{self.end}")
        if self.weekdays is not None and (not self.weekdays or not self.weekdays <= set(range(7))):
            raise ValueError(f"working weekdays are some of 0 (Monday) to 6 (Sunday), not {sorted(self.weekdays)}")


class WorkingHours:
    """One person's working time: their zone (UTC if none), their party's holidays, the window."""

    def __init__(
        self, zone: str | None = None, holidays: str | Iterable[str] | None = None, window: Window = Window()
    ):
        self.zone = zone or "UTC"
        self.tz = zones.zone(self.zone)
        self.window = window
        self.calendar = BusinessCalendar(holidays or (), zone=self.zone)

    def __repr__(self) -> str:
        return f"WorkingHours({self.zone!r}, {list(self.calendar.codes)!r}, {self.window!r})"

    def is_working_day(self, day: date) -> bool:
        """A local date (in the person's zone) with working hours."""
        if self.window.weekdays is None:
            return self.calendar.is_business_day(day)
        return day.weekday() in self.window.weekdays and self.calendar.holiday_name(day) is None

    def hours_on(self, day: date) -> tuple[datetime, datetime] | None:
        """The working hours of a local date as UTC instants, or None on a day off."""
        if not self.is_working_day(day):
            return None
        opens, closes = (zones.on_day(day, clock, self.tz) for clock in (self.window.start, self.window.end))
        # Only when both ends fall around a clock change can the start pass the end.
        return (opens, closes) if opens <= closes else None

    def is_within(self, moment: datetime) -> bool:
        """Whether ``moment`` is within working hours, both ends included."""
        moment = as_utc(moment)
        hours = self.hours_on(self._day(moment))
        return hours is not None and hours[0] <= moment <= hours[1]

    def next_start(self, moment: datetime) -> datetime | None:
        """``moment`` if within working hours, else the start of the next ones (None if
        none within :data:`MAX_SHIFT_DAYS` days: a calendar with no working days)."""
        moment = as_utc(moment)
        if self.is_within(moment):
            return moment
        return next((opens for opens, _ in self._windows(moment, +1) if opens > moment), None)

    def last_end(self, moment: datetime) -> datetime | None:
        """``moment`` if within working hours, else the end of the latest ones before it
        (None if none within :data:`MAX_SHIFT_DAYS` days)."""
        moment = as_utc(moment)
        if self.is_within(moment):
            return moment
        return next((closes for _, closes in self._windows(moment, -1) if closes < moment), None)

    def end_of_working_day(self, day: date) -> datetime:
        """The end of the working hours of ``day`` (local), or of the next working day."""
        for shift in range(MAX_SHIFT_DAYS + 1):
            if (hours := self.hours_on(day + timedelta(days=shift))) is not None:
                return hours[1]
        raise ValueError(f"no working day within {MAX_SHIFT_DAYS} days of {day} for {self!r}")

    def _day(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def _windows(self, moment: datetime, step: int) -> Iterator[tuple[datetime, datetime]]:
        # Working hours from moment's local day on, forward (+1) or back (-1).
        day = self._day(moment)
        for shift in range(MAX_SHIFT_DAYS + 1):
            if (hours := self.hours_on(day + timedelta(days=step * shift))) is not None:
                yield hours


# --- deadlines --------------------------------------------------------------------


def deadline(assigned_at: datetime, due: Duration, owner: WorkingHours) -> datetime:
    """When work assigned at ``assigned_at`` and due in ``due`` is due for ``owner`` (UTC)."""
    assigned_at = as_utc(assigned_at, "assigned_at")
    if due.seconds % _DAY:
        return due.after(assigned_at)  # hours or minutes: an exact instant was meant
    local_day = assigned_at.astimezone(owner.tz).date()
    # Months first, as Duration does: "1mo" from 31 January is 28/29 February.
    target = due.after(datetime.combine(local_day, time())).date()
    end = owner.end_of_working_day(target)
    if end <= assigned_at:
        # Only a zero due can get here (checks refuse it): never due before it was assigned.
        end = owner.end_of_working_day(local_day + timedelta(days=1))
    return end


def joint_deadline(assigned_at: datetime, due: Duration, approvers: Iterable[WorkingHours]) -> datetime:
    """The deadline of work shared by several people: the latest of their own deadlines."""
    ends = [deadline(assigned_at, due, person) for person in approvers]
    if not ends:
        raise ValueError("a joint deadline needs at least one person")
    return max(ends)


# --- sending ----------------------------------------------------------------------


def delivery_at(moment: datetime, recipient: WorkingHours) -> datetime:
    """When an email triggered at ``moment`` goes out: then, within the recipient's working
    hours, else at the start of their next ones (then, if they have none at all)."""
    moment = as_utc(moment)
    return recipient.next_start(moment) or moment


@dataclass(frozen=True)
class Paging:
    """When the people one escalation email goes to are told: ``starts``, when the first is (the
    clock of what is asked of them counts from it), and ``at``, each one's moment."""

    starts: datetime
    at: dict[str, datetime]


def paging(
    raised: datetime, recipients: Mapping[str, WorkingHours | None], respond_within: Duration, urgent: bool = False
) -> Paging:
    """When each of ``recipients`` (None: no hours kept, told at once) is told of what happened
    at ``raised`` and must be answered within ``respond_within`` (see the module's rules).

    Computed again from ``starts`` it gives the same answer (nobody's hours begin between
    ``raised`` and ``starts``), which is how a workflow that kept only ``starts`` finds it."""
    raised = as_utc(raised)
    each = {who: raised if urgent or hours is None else delivery_at(raised, hours) for who, hours in recipients.items()}
    starts = min(each.values(), default=raised)
    answer_by = respond_within.after(starts)
    return Paging(starts, {who: at if at < answer_by else starts for who, at in each.items()})


def reminder_at(planned: datetime, assigned_at: datetime, due_at: datetime, recipient: WorkingHours) -> datetime:
    """When a reminder planned for ``planned`` goes out (see the module's rules). Always
    after ``assigned_at`` and not after ``due_at``."""
    planned, assigned_at, due_at = as_utc(planned), as_utc(assigned_at), as_utc(due_at)
    if not assigned_at < planned <= due_at:
        raise ValueError(
            f"a reminder comes after its assignment and not after its deadline: {planned.isoformat()} is not"
            f" within ({assigned_at.isoformat()}, {due_at.isoformat()}]"
        )
    earlier = recipient.last_end(planned)
    if earlier is not None and earlier > assigned_at:
        return earlier
    later = recipient.next_start(planned)
    if later is not None and later < due_at:
        return later
    return planned


def plan(assigned_at: datetime, due_at: datetime, policy: Reminders, recipient: WorkingHours) -> list[Nudge]:
    """:func:`accord.logic.chasing.plan` in the recipient's working hours: reminders by
    :func:`reminder_at`, overdue notices by :func:`delivery_at`, in time order, without
    repeats. The escalation itself stays when it is due (it is a change of state; the
    emails it sends are timed by :func:`delivery_at` for each person it pages)."""
    planned = chasing.plan(assigned_at, due_at, policy)
    escalate_at = next((n.at for n in planned if n.kind is NudgeKind.escalate), None)
    moved: set[Nudge] = set()
    for nudge in planned:
        if nudge.kind is NudgeKind.reminder:
            moved.add(Nudge(reminder_at(nudge.at, assigned_at, due_at, recipient), nudge.kind))
        elif nudge.kind is NudgeKind.overdue:
            at = delivery_at(nudge.at, recipient)
            # A repeated overdue notice that waits past the escalation is the ladder's job now,
            # as in chasing.plan; the first one (at the deadline) always goes.
            if nudge.at == due_at or escalate_at is None or at < escalate_at:
                moved.add(Nudge(at, nudge.kind))
        else:
            moved.add(nudge)
    return sorted(moved, key=lambda n: (n.at, list(NudgeKind).index(n.kind)))


def next_nudge(
    assigned_at: datetime, due_at: datetime, policy: Reminders, recipient: WorkingHours, after: datetime
) -> Nudge | None:
    """The first nudge of :func:`plan` strictly after ``after``, or None when nothing more will happen."""
    return next((n for n in plan(assigned_at, due_at, policy, recipient) if n.at > after), None)
