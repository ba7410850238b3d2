"""The zone, calendar-rule and working-hours logic inside Temporal's workflow sandbox, called the way
workflow code should (see tests/workflows/test_logic_in_workflow.py for the recipe):

- import the logic inside ``workflow.unsafe.imports_passed_through()``: the sandbox
  forbids ``ZoneInfo.from_file`` through its own ``zoneinfo``, and the passed-through
  module reads the pinned package's files with the real one;
- build calendars (and so ``WorkingHours``) inside ``sandbox_unrestricted()`` and
  ``imports_passed_through()``, because of the ``holidays`` package's ``gettext``.

Zones are loaded for the first time inside the workflow here (St John's and Chatham are
used by no other test), so the file reading really happens in the sandbox.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from temporalio import workflow
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from accord.logic import working_hours
    from accord.logic.business_days import BusinessCalendar, JointCalendar
    from accord.logic.recurrence import next_occurrence
    from accord.logic.time_display import format_instant
    from definitions.calendar import CalendarRule
    from definitions.durations import Duration


@workflow.defn(name="ZonesProbe")
class ZonesProbe:
    @workflow.run
    async def run(self, launch_iso: str) -> list[str]:
        launch = datetime.fromisoformat(launch_iso)
        with workflow.unsafe.sandbox_unrestricted(), workflow.unsafe.imports_passed_through():
            parties = JointCalendar([
                BusinessCalendar("NZ", zone="Pacific/Chatham"), BusinessCalendar("GB", zone="Europe/London")
            ])
            owner = working_hours.WorkingHours("America/St_Johns", "CA-NL")
        cadence = CalendarRule.model_validate({"weekdays": ["monday"], "at": "09:00", "zone": "America/St_Johns"})
        held, after = [], launch
        for _ in range(3):
            _, after = next_occurrence(launch, cadence, after, parties)
            held.append(format_instant(after, "Pacific/Chatham"))
        due = working_hours.deadline(launch, Duration.parse("5d"), owner)
        return [*held, format_instant(due, "America/St_Johns")]


async def test_the_zone_rules_run_in_the_workflow_sandbox(ts_env) -> None:
    queue = f"zones-{uuid.uuid4().hex[:8]}"
    async with Worker(ts_env.client, task_queue=queue, workflows=[ZonesProbe]):
        result = await ts_env.client.execute_workflow(
            ZonesProbe.run, datetime(2026, 12, 20, tzinfo=UTC).isoformat(), id=f"zones-probe-{uuid.uuid4().hex[:8]}",
            task_queue=queue, execution_timeout=timedelta(seconds=60),
        )
    # Mondays 09:00 in St John's (-03:30) are Tuesdays 02:15 in Chatham (+13:45). Monday
    # 28 December is Boxing Day (observed) in London: that review is on Tuesday 29th
    # (Wednesday 30th in Chatham). Monday 4 January 2027 is a New Zealand holiday (the day
    # after New Year's Day, observed), but in Chatham it is already Tuesday 5th.
    assert result == [
        "Tuesday 22 December 2026, 02:15 UTC+13:45 (Pacific/Chatham)",
        "Wednesday 30 December 2026, 02:15 UTC+13:45 (Pacific/Chatham)",
        "Tuesday 5 January 2027, 02:15 UTC+13:45 (Pacific/Chatham)",
        # Assigned Saturday 19 December 20:30 in St John's, due in 5 days: Thursday 24th
        # is a working day there, so the end of it.
        "Thursday 24 December 2026, 17:00 NST (America/St_Johns)",
    ]
