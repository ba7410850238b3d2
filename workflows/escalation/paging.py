"""When an escalation's emails go out: at once, or (schedule 1) in each recipient's working hours.

The rule is :func:`accord.logic.working_hours.paging`: each contact a level pages, and each one
asked whether it may close, is told at the start of their working hours when it happens outside
them; the level's ``respond_within`` (or the question's) counts from when the first of them is
told; one whose hours begin only after that has run out is told with the first. A ``critical``
escalation pages everyone at once, at any hour: that is what an on-call team is for. People
without a zone (and ops, past the ladder) have no hours Accord knows: told at once, as before.

Under schedule 0 (escalations raised before this, or by partnerships started before v0.7)
everyone is told at once: the plan's ``starts`` is the moment itself.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

from workflows.toolkit import hours

with workflow.unsafe.imports_passed_through():
    from accord.logic import working_hours
    from accord.models import Severity
    from definitions.durations import Duration
    from definitions.schema import PartnershipDefinition


class Pager:
    def __init__(self, definition: PartnershipDefinition, schedule_version: int, severity: Severity) -> None:
        self.definition = definition
        self.local = schedule_version >= 1
        self.urgent = severity == Severity.critical
        self._people = definition.stakeholders()
        self._hours: hours.Cache = {}

    def hours(self, who: str) -> working_hours.WorkingHours | None:
        """``who``'s working hours, when emails to them wait for them (None: they go at once)."""
        if not self.local or who not in self._people or self.definition.timezone_of(who) is None:
            return None
        return hours.working_hours_of(self.definition, who, self._hours)

    def plan(self, at: datetime, contacts: list[str], respond_within: Duration) -> working_hours.Paging:
        """When each of ``contacts`` is told of what happened at ``at`` (or, given the plan's
        ``starts``, the same plan again)."""
        return working_hours.paging(at, {who: self.hours(who) for who in contacts}, respond_within, self.urgent)
