"""People's working hours as a definition gives them, for the partnership and its escalations alike.

Their zone (their own, else their party's), their party's holidays, their window (their own,
else their party's; 09:00-17:00 when the definition gives none, which is how every partnership
started before windows could be set computes its dates). Which emails and dates follow them is
the schedule version's business (``workflows/versions.py``), decided by the caller.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from accord.logic import working_hours
    from definitions.schema import PartnershipDefinition

Cache = dict[tuple[object, ...], working_hours.WorkingHours]


def working_hours_of(definition: PartnershipDefinition, stakeholder: str, cache: Cache) -> working_hours.WorkingHours:
    """A stakeholder's working hours by ``definition``, kept in ``cache`` for the run (a calendar
    reads the holidays data, whose set-up is costly: one per zone, region and window)."""
    window = definition.working_hours_of(stakeholder)
    zone, region = definition.timezone_of(stakeholder), definition.party_of(stakeholder).holidays
    key = (zone, region, *((window.start, window.end) if window is not None else ()))
    if key not in cache:
        clock = working_hours.Window() if window is None else working_hours.Window(window.start, window.end)
        # The holidays package sets up its names through gettext, which the sandbox forbids;
        # its data is pinned (pyproject), so building the calendar here stays deterministic.
        with workflow.unsafe.sandbox_unrestricted(), workflow.unsafe.imports_passed_through():
            cache[key] = working_hours.WorkingHours(zone, region, clock)
    return cache[key]
