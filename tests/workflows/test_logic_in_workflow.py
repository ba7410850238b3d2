"""The review logic inside Temporal's workflow sandbox, called the way workflow code should.

``holidays`` and ``icalendar`` import lazily and read data files (``holidays`` sets up
its holiday-name translations through ``gettext``, which the sandbox forbids). Workflow
code therefore:

- imports the logic inside ``workflow.unsafe.imports_passed_through()``;
- builds a :class:`BusinessCalendar` inside ``workflow.unsafe.sandbox_unrestricted()``
  and ``imports_passed_through()`` (deterministic: the data is pinned, the language explicit);
- builds an invitation inside ``imports_passed_through()``, with ``stamp=workflow.now()``.

Using the calendar afterwards (holidays of later years are computed on demand) needs
neither. This test keeps that recipe working, e.g. across an upgrade of either package.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from temporalio import workflow
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    import icalendar

    from accord.logic import decay, metrics, mutual_value
    from accord.logic.business_days import BusinessCalendar
    from accord.logic.schedule import next_occurrence
    from accord.mail import ics
    from definitions.durations import Duration
    from definitions.schema import Metric

REGIONS = ["GB", "DE-BY", "US-PA", "SA", "CN", "IN"]


@workflow.defn(name="LogicProbe")
class LogicProbe:
    @workflow.run
    async def run(self, launch_iso: str) -> list[str]:
        launch = datetime.fromisoformat(launch_iso)
        with workflow.unsafe.sandbox_unrestricted(), workflow.unsafe.imports_passed_through():
            calendar = BusinessCalendar(REGIONS)
        held, after = [], launch
        for _ in range(60):  # five years of monthly reviews: holiday years computed on demand
            _, after = next_occurrence(launch, Duration.parse("1mo"), after, calendar)
            held.append(after)
        with workflow.unsafe.imports_passed_through():
            invite = ics.invitation(
                "probe/monthly/1@accord", "Monthly review", held[0], timedelta(hours=1),
                ("Accord", "accord@accord.example"), [("Ann", "ann@alpha.example")], "Agenda", stamp=workflow.now(),
            )
        metric = Metric(id="m", name="M", owner="ann", unit="u", baseline=0, target=10, cadence="1mo")
        assessment = metrics.assess(metric, None, [(launch, 5.0)], launch, launch)
        balance = mutual_value.assess({"alpha": (5, 5), "beta": (5, 4)}, 0.3)
        return [
            *(at.isoformat() for at in held[:3]),
            str(all(calendar.is_business_day(at.date()) for at in held)),
            invite.decode(),
            assessment.summary,
            balance.summary,
            str(decay.status_trigger(["amber", "amber"], 2)),
        ]


async def test_review_logic_runs_in_the_workflow_sandbox(ts_env) -> None:
    queue = f"logic-{uuid.uuid4().hex[:8]}"
    launch = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    async with Worker(ts_env.client, task_queue=queue, workflows=[LogicProbe]):
        result = await ts_env.client.execute_workflow(
            LogicProbe.run, launch.isoformat(), id=f"logic-probe-{uuid.uuid4().hex[:8]}", task_queue=queue,
            execution_timeout=timedelta(seconds=60),
        )
    # 25 December 2026 is a Friday (Christmas in GB, DE-BY, US-PA, IN; weekend in SA), then
    # a weekend, then GB's Boxing Day substitute: the first business day of all is Tuesday 29th.
    assert result[:3] == ["2026-12-29T10:00:00+00:00", "2027-01-25T10:00:00+00:00", "2027-02-25T10:00:00+00:00"]
    assert result[3] == "True"
    event = icalendar.Calendar.from_ical(result[4]).walk("VEVENT")[0]
    assert event.decoded("DTSTART") == datetime(2026, 12, 29, 10, 0, tzinfo=UTC)
    assert result[5].startswith("M: 5 u on 2026-11-25")
    assert result[6].startswith("Balanced")
    assert result[7] == "repeated_amber"
