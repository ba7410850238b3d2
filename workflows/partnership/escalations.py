"""Raising escalations and keeping the partnership's record of them.

Each escalation runs as its own child workflow (``workflows/escalation/``): it climbs its
ladder, is acknowledged, gets its CARE record, and is resolved or withdrawn there. The
partnership keeps a summary (``EscalationRecord``) that the child keeps current through the
``escalation_changed`` signal, answers a resolution's amendment, and withdraws what is still
open when the partnership closes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from temporalio import workflow
from temporalio.exceptions import FailureError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from workflows.escalation import EscalationWorkflow
from workflows.partnership.context import PartnershipContext
from workflows.partnership.record import Record
from workflows.toolkit.notifier import Notifier
from workflows.versions import PATCH_ADOPT_ESCALATION, PATCH_ESCALATION_CHILD

with workflow.unsafe.imports_passed_through():
    from accord.models import (
        AmendmentDecided,
        Channel,
        EscalationChanged,
        EscalationInput,
        EscalationRecord,
        EscalationRequest,
        EventKind,
        Severity,
        TriggerKind,
        UpdateResult,
        Withdraw,
        escalation_id,
        escalation_workflow_id,
    )


class Escalations:
    def __init__(self, ctx: PartnershipContext, record: Record, notifier: Notifier) -> None:
        self.ctx = ctx
        self.record = record
        self.notifier = notifier

    async def open(self, trigger: TriggerKind, subject: str, reason: str, level: int, *, raised_by: str = "accord",
                   channel: Channel = Channel.temporal, severity: Severity = Severity.normal) -> EscalationRecord:
        """Open an escalation, or return the open one for the same trigger and subject."""
        state, definition = self.ctx.state, self.ctx.definition
        existing = next((e for e in state.open_escalations() if e.trigger == trigger and e.subject == subject), None)
        if existing:
            return existing
        record = EscalationRecord(
            id=escalation_id(len(state.escalations) + 1),
            trigger=trigger,
            subject=subject,
            reason=reason,
            level=min(level, len(definition.escalation.ladder)),
            severity=severity,
            raised_by=raised_by,
            channel=channel,
            opened_at=workflow.now(),
        )
        state.escalations.append(record)
        self.record.log(EventKind.escalation_opened, actor=raised_by, detail=f"{trigger}: {reason}",
                        data={"escalation": record.id, "level": record.level})
        if workflow.patched(PATCH_ESCALATION_CHILD):
            # The escalation climbs its ladder in its own workflow, visible on its own in the
            # UI; it outlives this run's continue-as-new (ABANDON) and reports back by signal.
            record.workflow_id = escalation_workflow_id(workflow.info().workflow_id, state.chain_id, record.id)
            start = workflow.start_child_workflow(
                EscalationWorkflow.run,
                EscalationInput.from_record(record, workflow.info().workflow_id, definition, state.rules_version,
                                            state.allow_short_durations),
                id=record.workflow_id,
                parent_close_policy=ParentClosePolicy.ABANDON,
                static_summary=f"Escalation {record.id} ({trigger}) on {definition.name}: {reason[:120]}",
            )
            if self.ctx.operating():
                # Shielded and tracked like operating-stage emails (see Operating.continue_as_new).
                started = asyncio.ensure_future(self._started(start, record))
                self.ctx.track(started)
                await asyncio.shield(started)
            else:
                await self._started(start, record)
            self.record.publish()
            return record
        self.record.publish()
        ladder_level = definition.escalation.ladder[record.level - 1]
        await asyncio.gather(
            *(
                self.notifier.email(
                    f"escalation/{record.id}/level-{record.level}",
                    who,
                    "notice",
                    f"Escalation ({ladder_level.name}): {definition.name}",
                    {
                        "heading": f"Escalated to you: {ladder_level.name}",
                        "body": reason,
                        "due_at": ladder_level.respond_within.after(record.opened_at),
                        "consequence": "Please respond within the ladder's window; otherwise it climbs to the next level.",
                    },
                )
                for who in ladder_level.contacts
            )
        )
        return record

    async def _started(self, start: Awaitable[object], record: EscalationRecord) -> None:
        """Start the escalation's workflow, or adopt it if it already runs under its id.

        It already runs when this run was reset (``accord doctor --fix``, ``accord recover``)
        to before the original run started it: the reset run re-executes the start under the
        same id (the chain id survives a reset, toolkit/chain.py), and the server refuses it.
        That escalation is this one: it reports to the partnership's workflow id, so its later
        signals reach this run. What it reported before the reset came back re-applied at the
        reset point, where this run may not have had its record yet (an escalation raised later
        by a deadline) and ignored it: so it is asked to report again."""
        try:
            await start
        except WorkflowAlreadyStartedError:
            if not workflow.patched(PATCH_ADOPT_ESCALATION):
                raise
            workflow.logger.warning("escalation %s already runs as %s (this run was reset): adopted", record.id,
                                    record.workflow_id)
            self.record.log(EventKind.escalation_changed, detail=f"{record.id}: adopted its running workflow after a reset",
                            data={"escalation": record.id, "level": record.level})
            try:
                await workflow.get_external_workflow_handle(record.workflow_id).signal(  # type: ignore[arg-type]  # set before the start
                    EscalationWorkflow.report_again)
            except FailureError as exc:
                # It ended in between: what it reported last was re-applied with the reset.
                workflow.logger.warning("could not ask %s to report again: %s", record.workflow_id, exc)

    async def escalate(self, request: EscalationRequest) -> UpdateResult:
        """The ``escalate`` update: a person raises one (or finds it open already)."""
        joined = next((e for e in self.ctx.state.open_escalations()
                       if e.trigger == TriggerKind.manual and e.subject == request.subject), None)
        if joined is not None:
            return UpdateResult(message=f"Escalation {joined.id} about {request.subject!r} is already open at level "
                                f"{joined.level}: this reason was not added. Act on {joined.id}, or raise a separate "
                                "one with another subject.")
        record = await self.open(
            TriggerKind.manual, request.subject, request.reason, request.level,
            raised_by=request.raised_by, channel=request.channel, severity=request.severity,
        )
        return UpdateResult(message=f"Escalation {record.id} is open at level {record.level}.")

    def changed(self, change: EscalationChanged | None) -> EscalationRecord | None:
        """An escalation's own workflow climbed a level, was acknowledged, resolved or withdrawn:
        the record follows (None: the signal is not about one of ours, and is ignored)."""
        if not isinstance(change, EscalationChanged):
            workflow.logger.warning("escalation_changed without a change ignored: %r", change)
            return None
        record = next((e for e in self.ctx.state.escalations if e.id == change.escalation_id), None)
        if record is None:
            workflow.logger.warning("escalation_changed for unknown escalation %s", change.escalation_id)
            return None
        record.level, record.with_ops = change.level, change.with_ops
        record.status = change.status
        return record

    def log_change(self, record: EscalationRecord, change: EscalationChanged) -> None:
        self.record.log(EventKind.escalation_changed, detail=f"{record.id}: level {record.level}, {record.status}"
                        + (f" ({change.cause})" if change.cause else ""),
                        data={"escalation": record.id, "level": record.level})
        self.record.publish()

    async def answer(self, record: EscalationRecord, decided: AmendmentDecided) -> None:
        """Tell an escalation how the approval of the amendment its resolution proposed ended."""
        if record.workflow_id:
            await workflow.get_external_workflow_handle(record.workflow_id).signal(
                EscalationWorkflow.amendment_decided, decided)

    async def withdraw_open(self, reason: str) -> None:
        """Withdraw every escalation still open (the partnership is closed)."""
        for record in self.ctx.state.open_escalations():
            if record.workflow_id:
                await workflow.get_external_workflow_handle(record.workflow_id).signal(
                    EscalationWorkflow.request_withdrawal,
                    Withdraw(actor="accord", reason=reason, channel=Channel.temporal),
                )
