"""Replay-safe metrics and logs from inside the workflows (names: accord/ops/metrics.py).

Called from each workflow's publishing (``Record.publish``, ``Reporting.publish``), which runs
on every change. It issues no workflow commands: ``workflow.metric_meter()`` and
``workflow.logger`` record nothing while a workflow replays, so a worker restart or a cache
eviction counts nothing twice. What was already counted is remembered per workflow run in a
:class:`Seen` the caller keeps (rebuilt during replay; workflow modules are shared by every
run, see worker.py); a run continued-as-new starts from what its state carries, without
counting it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from accord.models import EscalationState, PartnershipState
    from accord.ops import metrics


@dataclass
class Seen:
    """What this run has counted already."""

    stage: str | None = None
    overdue: set[str] = field(default_factory=set)
    closed: set[str] = field(default_factory=set)
    level: str | None = None
    looked: bool = False

    def first_look_of_a_continued_run(self) -> bool:
        """True once, at the first look of a run that continues another: what its state carries
        was counted by the run before."""
        if self.looked:
            return False
        self.looked = True
        return workflow.info().continued_run_id is not None


def observe_partnership(state: PartnershipState, seen: Seen) -> None:
    """Stage changes and overdue tasks of a partnership."""
    carried = seen.first_look_of_a_continued_run()
    overdue = {t.id: t for t in state.tasks.values() if t.overdue}
    if carried:  # counted by the run this one continues
        seen.stage = state.stage.value
        seen.overdue = set(overdue)
        seen.closed = {i for i, t in overdue.items() if not t.is_open}
        return
    meter = workflow.metric_meter()
    if state.stage.value != seen.stage:
        meter.create_counter(metrics.STAGE_ENTERED, "Partnerships entering a stage").add(1, {"stage": state.stage.value})
        workflow.logger.info("partnership %s entered stage %s", state.partnership_id, state.stage.value,
                             extra={"stage": state.stage.value})
        seen.stage = state.stage.value
    for task_id, task in overdue.items():
        labels = {"kind": task.kind.value}
        if task_id not in seen.overdue:
            seen.overdue.add(task_id)
            meter.create_counter(metrics.TASKS_OVERDUE, "Tasks that passed their due time").add(1, labels)
            workflow.logger.warning("task %s (owner %s) is overdue since %s", task_id, task.owner,
                                    task.due_at.isoformat(), extra={"task_id": task_id, "stage": task.stage.value})
        if not task.is_open and task_id not in seen.closed:
            seen.closed.add(task_id)
            meter.create_counter(metrics.TASKS_OVERDUE_CLOSED, "Overdue tasks that were done or waived").add(1, labels)


def observe_escalation(state: EscalationState, seen: Seen) -> None:
    """Level changes of an escalation: ``ops`` past the last level."""
    level = "ops" if state.with_ops else str(state.level)
    if seen.first_look_of_a_continued_run():
        seen.level = level
        return
    if level != seen.level:
        seen.level = level
        workflow.metric_meter().create_counter(
            metrics.ESCALATION_LEVEL_REACHED, "Escalations reaching a ladder level").add(1, {"level": level})
        workflow.logger.info("escalation %s at level %s (%s)", state.id, level, state.status.value,
                             extra={"escalation_id": state.id, "level": level})
