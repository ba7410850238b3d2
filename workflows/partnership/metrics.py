"""Metrics: a baseline before launch, observations after it (the ``record_metric`` update).

Where a metric stands at each review (on target, missed, stale) is ``accord.logic.metrics``;
a missed target opens a diagnostic task and may escalate (``workflows.partnership.review_close``).
"""

from __future__ import annotations

from temporalio import workflow

from workflows.partnership.context import PartnershipContext
from workflows.partnership.record import Record

with workflow.unsafe.imports_passed_through():
    from accord.models import (
        EventKind,
        MetricObservation,
        MetricObservationInput,
        MetricTrack,
        TaskStatus,
        UpdateResult,
        baseline_task_id,
    )


class Metrics:
    def __init__(self, ctx: PartnershipContext, record: Record) -> None:
        self.ctx = ctx
        self.record = record

    def record_observation(self, observation: MetricObservationInput) -> UpdateResult:
        """The ``record_metric`` update (validated): before launch the first value is the baseline."""
        state = self.ctx.state
        metric = next(m for m in self.ctx.definition.metrics if m.id == observation.metric_id)
        track = state.metrics.setdefault(metric.id, MetricTrack(metric_id=metric.id))
        baseline_task = state.tasks.get(baseline_task_id(metric.id))
        now = workflow.now()
        if track.baseline is None and state.launched_at is None:
            track.baseline, track.baseline_at = observation.value, now
            message = f"Baseline of {metric.name} recorded: {observation.value:g} {metric.unit}."
            if baseline_task is not None and baseline_task.is_open:
                baseline_task.status = TaskStatus.done
                baseline_task.completed_at, baseline_task.completed_by = now, observation.actor
                baseline_task.result, baseline_task.channel = f"{observation.value:g}", observation.channel
                baseline_task.completion_sent_by = observation.sent_by
        else:
            track.observations.append(MetricObservation(value=observation.value, at=now, actor=observation.actor,
                                                        channel=observation.channel, note=observation.note.strip(),
                                                        sent_by=observation.sent_by))
            message = f"{metric.name}: {observation.value:g} {metric.unit} recorded (target {metric.target:g})."
        self.record.log(EventKind.metric_recorded, actor=observation.actor, detail=message,
                        data={"metric": metric.id, "value": observation.value, "channel": observation.channel.value},
                        sent_by=observation.sent_by)
        self.record.publish()
        return UpdateResult(message=message)
