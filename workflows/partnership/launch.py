"""Launch: the checklist, metric baselines, deliverable owners; then the partnership is active.

Launch completes when its required tasks are done or, if the definition lets it proceed
with open items, at the last launch deadline (the open items stay chased).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from workflows.partnership.context import PartnershipContext
from workflows.partnership.record import Record
from workflows.partnership.tasks import Tasks

with workflow.unsafe.imports_passed_through():
    from accord.models import EventKind, MetricTrack, Stage, TaskKind, baseline_task_id
    from definitions.durations import Duration

# Tasks the launch checklist implies without a deadline of their own (metric baselines).
LAUNCH_DEFAULT_DUE = Duration(seconds=14 * 86400)


class Launch:
    def __init__(self, ctx: PartnershipContext, record: Record, tasks: Tasks) -> None:
        self.ctx = ctx
        self.record = record
        self.tasks = tasks

    def open_tasks(self) -> None:
        definition, state = self.ctx.definition, self.ctx.state
        launch = definition.launch
        start = state.stage_started_at
        for item in launch.checklist:
            self.tasks.open(item.id, TaskKind.checklist, item.title, item.owner,
                            self.ctx.schedule.due(item.owner, start, item.due), item.description, item.required)
        latest = max((item.due for item in launch.checklist), default=LAUNCH_DEFAULT_DUE)
        for metric in definition.metrics:
            track = state.metrics.setdefault(metric.id, MetricTrack(metric_id=metric.id))
            if metric.baseline is not None and track.baseline is None:
                track.baseline, track.baseline_at = metric.baseline, workflow.now()
            if track.baseline is None:
                self.tasks.open(
                    baseline_task_id(metric.id), TaskKind.baseline, f"Capture the baseline of {metric.name}", metric.owner,
                    self.ctx.schedule.due(metric.owner, start, latest),
                    f"Record today's value of {metric.name} ({metric.unit}) before launch: it is the baseline its "
                    f"target of {metric.target:g} is measured from.",
                )
        for deliverable in launch.deliverables:
            self.tasks.open(
                deliverable.id, TaskKind.deliverable, deliverable.title, deliverable.owner,
                self.ctx.schedule.due(deliverable.owner, start, deliverable.due),
                f"You are the single accountable owner. Done means: {deliverable.definition_of_done}", required=False,
            )

    def _ready(self) -> bool:
        return all(not t.is_open or not t.required for t in self.ctx.state.tasks.values()
                   if t.stage == Stage.launch and t.kind in (TaskKind.checklist, TaskKind.baseline))

    async def run(self) -> None:
        self.open_tasks()
        self.tasks.chase_open()
        self.record.set_detail("Launch: waiting on the launch checklist")
        state = self.ctx.state
        launch_tasks = [t for t in state.tasks.values() if t.stage == Stage.launch and t.required]
        if self.ctx.definition.launch.proceed_with_open_items and launch_tasks:
            last = max(t.due_at for t in launch_tasks)
            try:
                await workflow.wait_condition(self._ready, timeout=max(last - workflow.now(), timedelta(0)),
                                              timeout_summary="launch deadline: proceed with open items")
            except TimeoutError:
                self.record.log(EventKind.launch_with_open_items, detail=", ".join(t.title for t in launch_tasks if t.is_open))
        else:
            await workflow.wait_condition(self._ready)
        now = workflow.now()
        state.launched_at = now
        state.term_started_at = now
        self.record.enter(Stage.active, "Launched")
