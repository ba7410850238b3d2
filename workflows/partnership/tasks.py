"""Tasks: opening them, chasing them (reminders, overdue notices, escalation), completing them.

A task is opened once (a run resumed after continue-as-new finds it in the state) and chased
by its own loop (``workflows.toolkit.chase``) until it is done: the owner is emailed when it
is assigned, reminded before it is due, told it is overdue, and past ``escalate_after`` the
``overdue`` trigger raises an escalation. Screening chases its own tasks; from launch on,
every open task nobody chases yet is picked up (:meth:`Tasks.chase_open`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow

from workflows.partnership.context import PartnershipContext
from workflows.partnership.escalations import Escalations
from workflows.partnership.record import Record
from workflows.toolkit.chase import chase
from workflows.toolkit.notifier import Notifier

with workflow.unsafe.imports_passed_through():
    from accord.logic import chasing, limits
    from accord.logic.describe import person, when
    from accord.models import (
        ActionLink,
        EventKind,
        Stage,
        Task,
        TaskCompletion,
        TaskKind,
        TaskStatus,
        TriggerKind,
        UpdateResult,
        metric_of,
    )
    from definitions.schema import ChecklistItem, Reminders

# The kinds chased from launch on (screening chases its own, review inputs have their review).
CHASED = (TaskKind.checklist, TaskKind.baseline, TaskKind.deliverable, TaskKind.action, TaskKind.diagnostic)


class Tasks:
    def __init__(self, ctx: PartnershipContext, record: Record, notifier: Notifier, escalations: Escalations) -> None:
        self.ctx = ctx
        self.record = record
        self.notifier = notifier
        self.escalations = escalations
        # Tasks this run chases (after continue-as-new, the next run picks them all up again).
        self._chased: set[str] = set()

    def open(self, task_id: str, kind: TaskKind, title: str, owner: str, due_at: datetime, description: str = "",
             required: bool = True) -> None:
        state = self.ctx.state
        if task_id in state.tasks:
            return  # resumed after continue-as-new: the task already exists
        state.tasks[task_id] = Task(
            id=task_id,
            kind=kind,
            stage=state.stage,
            title=title,
            description=description,
            owner=owner,
            created_at=workflow.now(),
            due_at=due_at,
            required=required,
        )
        self.record.log(EventKind.task_opened, detail=f"{title} assigned to {person(self.ctx.definition, owner)}, "
                        f"due {when(due_at)}", data={"task": task_id})

    def _policy(self, task: Task) -> Reminders:
        definition = self.ctx.definition
        if task.kind == TaskKind.statement and definition.screening.alignment:
            return definition.reminders_for(definition.screening.alignment.reminders)
        items: list[ChecklistItem] = [*definition.screening.checklist, *definition.launch.checklist]
        item = next((c for c in items if c.id == task.id), None)
        return definition.reminders_for(item.reminders if item else None)

    def unchased(self) -> list[Task]:
        """Open tasks after screening that nobody chases yet (new ones, or all of them after continue-as-new)."""
        return [t for t in self.ctx.state.open_tasks()
                if t.id not in self._chased and t.stage != Stage.screening and t.kind in CHASED]

    def chase_open(self) -> None:
        for task in self.unchased():
            self._chased.add(task.id)
            asyncio.create_task(self.chase(task.id))

    async def chase(self, task_id: str) -> None:
        """Email the owner, then chase the task until it is done."""
        task = self.ctx.state.tasks[task_id]
        await self._email(task, "assigned")

        async def nudge(n: chasing.Nudge) -> None:
            triggers = self.ctx.definition.escalation.triggers
            if n.kind == chasing.NudgeKind.escalate:
                task.escalated = True
                if triggers.overdue.enabled:
                    await self.escalations.open(
                        TriggerKind.overdue,
                        task.id,
                        f"'{task.title}' ({person(self.ctx.definition, task.owner)}) is overdue since {when(task.due_at)}",
                        triggers.overdue.level,
                    )
                return
            if n.kind == chasing.NudgeKind.overdue and not task.overdue:
                task.overdue = True
                self.record.log(EventKind.task_overdue, detail=f"'{task.title}' is overdue", data={"task": task.id})
                self.record.publish()
            task.reminders_sent.append(workflow.now())
            await self._email(task, n.kind.value, len(task.reminders_sent))

        await chase(task.created_at, task.due_at, self._policy(task), lambda: not task.is_open, nudge, task.title,
                    self.ctx.schedule.chase_hours(task.owner))

    async def _email(self, task: Task, why: str, n: int = 0) -> None:
        heading = {
            "assigned": "A task for you",
            "reminder": "Reminder",
            "overdue": "Overdue",
        }[why]
        statement = task.kind == TaskKind.statement
        baseline = task.kind == TaskKind.baseline
        definition = self.ctx.definition
        await self.notifier.email(
            f"task/{task.id}/{why}/{n}",
            task.owner,
            "action_request",
            f"{heading}: {task.title} ({definition.name})",
            {
                "heading": heading,
                "ask": task.description or task.title,
                "due_at": task.due_at,
                "overdue": why == "overdue",
                "consequence": (
                    "If it is still open after its reminders, it is escalated to "
                    f"{definition.escalation.ladder[0].name}."
                ),
                "action_label": "Write my statement" if statement else "Record the value" if baseline
                else "Complete this task",
                "reference": f"task {task.id}",
            },
            # The page that does what the email asks: a statement's, a baseline's (the metric's
            # value, by the metric id), or a task's.
            ActionLink(
                action="statement" if statement else "baseline" if baseline else "task",
                ref=metric_of(task.id) if baseline else task.id,
                expires_at=limits.link_expiry(task.due_at),
            ),
        )

    def complete(self, completion: TaskCompletion) -> UpdateResult:
        """The ``complete_task`` update (validated): the task is done."""
        task = self.ctx.state.tasks[completion.task_id]
        task.status = TaskStatus.done
        task.completed_at = workflow.now()
        task.completed_by = completion.actor
        task.result = completion.result
        task.channel = completion.channel
        task.completion_sent_by = completion.sent_by
        self.record.log(EventKind.task_completed, actor=completion.actor, detail=f"{task.title}: {completion.result}"[:500],
                        data={"task": task.id, "channel": completion.channel.value}, sent_by=completion.sent_by)
        self.record.publish()
        return UpdateResult(message=f"'{task.title}' is marked done. Thank you.")
