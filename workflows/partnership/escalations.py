"""Raising escalations and keeping the partnership's record of them.

Each escalation runs as its own child workflow (``workflows/escalation/``): it climbs its
ladder, is acknowledged, gets its CARE record, and is resolved or withdrawn there. The
partnership keeps a summary (``EscalationRecord``) that the child keeps current through the
``escalation_changed`` signal, answers a resolution's amendment, and withdraws what is still
open when the partnership closes.

Rules 2: the partnership watches the cause of each automatic escalation
(:meth:`Escalations.watch_causes`, the conditions of ``accord.logic.clearing``) and tells the
escalation when it is gone, or back (the ``cause_cleared`` signal); the escalation closes or
asks its level to confirm (``workflows/escalation/clearing.py``). One raised again within its
trigger's quiet period after the same cause cleared pages nobody until the period is over.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import FailureError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from workflows.escalation import EscalationWorkflow
from workflows.partnership.context import PartnershipContext
from workflows.partnership.record import Record
from workflows.toolkit.notifier import Notifier
from workflows.versions import PATCH_ADOPT_ESCALATION, PATCH_ESCALATION_CHILD

# How long a run that ends waits for the escalations it just told their cause is gone to
# report back closed (seconds, normally); past it, it ends anyway (their own records are complete).
SETTLE_WITHIN = timedelta(minutes=10)

with workflow.unsafe.imports_passed_through():
    from accord.logic import clearing
    from accord.logic.describe import escalation_what, when
    from accord.models import (
        AmendmentDecided,
        CauseCleared,
        Channel,
        EscalationChanged,
        EscalationInput,
        EscalationRecord,
        EscalationRequest,
        EscalationStatus,
        EventKind,
        Severity,
        TriggerKind,
        UpdateResult,
        Withdraw,
        escalation_id,
        escalation_workflow_id,
    )
    from definitions.schema import Clear


class Escalations:
    def __init__(self, ctx: PartnershipContext, record: Record, notifier: Notifier) -> None:
        self.ctx = ctx
        self.record = record
        self.notifier = notifier
        # watch_causes is telling escalations of a change (a signal in flight).
        self._telling = False

    async def open(self, trigger: TriggerKind, subject: str, reason: str, level: int, *, raised_by: str = "accord",
                   channel: Channel = Channel.temporal, severity: Severity = Severity.normal,
                   sent_by: str | None = None) -> EscalationRecord:
        """Open an escalation, or return the open one for the same trigger and subject."""
        state, definition = self.ctx.state, self.ctx.definition
        existing = next((e for e in state.open_escalations() if e.trigger == trigger and e.subject == subject), None)
        if existing:
            return existing
        derived = state.rules_version >= 2
        quiet_until = clearing.quiet_until(state.escalations, trigger, subject, definition, workflow.now()) if derived else None
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
            what=escalation_what(trigger, subject, reason, state, definition) if derived else "",
        )
        state.escalations.append(record)
        held = f"; nobody is paged before {when(quiet_until)} (quiet period)" if quiet_until else ""
        self.record.log(EventKind.escalation_opened, actor=raised_by, detail=f"{trigger}: {reason}{held}",
                        data={"escalation": record.id, "level": record.level}, sent_by=sent_by)
        if workflow.patched(PATCH_ESCALATION_CHILD):
            # The escalation climbs its ladder in its own workflow, visible on its own in the
            # UI; it outlives this run's continue-as-new (ABANDON) and reports back by signal.
            record.workflow_id = escalation_workflow_id(workflow.info().workflow_id, state.chain_id, record.id)
            start = workflow.start_child_workflow(
                EscalationWorkflow.run,
                EscalationInput.from_record(record, workflow.info().workflow_id, definition, state.rules_version,
                                            state.allow_short_durations, quiet_until, state.schedule_version),
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
            raised_by=request.raised_by, channel=request.channel, severity=request.severity, sent_by=request.sent_by,
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
        if change.status.is_final:
            record.closed_cause = change.cause
        return record

    def log_change(self, record: EscalationRecord, change: EscalationChanged) -> None:
        where = f"level {record.level}" if self.ctx.state.rules_version < 2 else f"level {record.shown_level}"
        self.record.log(EventKind.escalation_changed, detail=f"{record.id}: {where}, {record.status}"
                        + (f" ({change.cause})" if change.cause else ""),
                        data={"escalation": record.id, "level": record.level})
        self.record.publish()

    # ------------------------------------------------------------------ rules 2: causes that go away

    def _news(self) -> list[tuple[EscalationRecord, str | None]]:
        """Automatic escalations whose cause went away, or came back, since the last look."""
        state, definition = self.ctx.state, self.ctx.definition
        news = []
        for record in state.open_escalations():
            if record.workflow_id is None or record.trigger == TriggerKind.manual:
                continue
            gone = clearing.cause_gone(record, state, definition)
            if bool(gone) != bool(record.cause_gone):
                news.append((record, gone))
        return news

    async def watch_causes(self) -> None:
        """Tell each automatic escalation when its cause is gone or back (runs for the whole run)."""
        while True:
            await workflow.wait_condition(lambda: bool(self._news()))
            self._telling = True
            try:
                await self._tell()
            finally:
                self._telling = False

    async def _tell(self) -> None:
        for record, gone in self._news():
            now = workflow.now()
            record.cause_gone, record.cause_gone_at = gone or "", now if gone else record.cause_gone_at
            kind = EventKind.escalation_cause_gone if gone else EventKind.escalation_cause_back
            self.record.log(kind, detail=f"{record.id} ({record.what or record.trigger.value}): "
                            + (f"its cause is gone: {gone}" if gone else "its cause is back"),
                            data={"escalation": record.id})
            self.record.publish()
            assert record.workflow_id is not None
            try:
                await workflow.get_external_workflow_handle(record.workflow_id).signal(
                    EscalationWorkflow.cause_cleared, CauseCleared(cause=gone or "", at=now, gone=bool(gone)))
            except FailureError as exc:
                # It ended meanwhile (resolved, withdrawn): its own record is complete.
                workflow.logger.warning("could not tell %s its cause changed: %s", record.id, exc)

    async def settle_causes(self) -> None:
        """The run ends (its stage final): let :meth:`watch_causes` tell what the last step changed
        before it is cancelled (the decision that declined the partnership is what ends an
        overdue go/no-go's escalation; the tasks waived by closing, an overdue task's), then
        wait for those that close at once (unacknowledged, ``clear: auto``) to report back, so
        the partnership's last record shows them closed and they stop climbing."""
        state = self.ctx.state
        await workflow.wait_condition(lambda: not self._news() and not self._telling)
        closing = [e for e in state.open_escalations() if e.cause_gone and e.status == EscalationStatus.open
                   and e.workflow_id is not None and (trigger := clearing.trigger_of(e, self.ctx.definition)) is not None
                   and trigger.clear == Clear.auto]
        await self._closed_reported(closing, "escalations whose cause is gone report closed")

    async def withdraw_at_the_end(self, reason: str) -> None:
        """The partnership was declined or its MOU failed: nothing is left to escalate. Withdraw
        what is still open and wait for each to report back, so the last record shows them
        withdrawn with the reason and none climbs on for a partnership that no longer runs."""
        still_open = [e for e in self.ctx.state.open_escalations() if e.workflow_id is not None]
        await self.withdraw_open(reason)
        await self._closed_reported(still_open, "escalations withdrawn with the partnership report closed")

    async def _closed_reported(self, escalations: list[EscalationRecord], summary: str) -> None:
        if not escalations:
            return
        try:
            await workflow.wait_condition(lambda: all(e.status.is_final for e in escalations), timeout=SETTLE_WITHIN,
                                          timeout_summary=summary)
        except TimeoutError:
            workflow.logger.warning("escalations %s did not report closed before the run ended",
                                    [e.id for e in escalations if not e.status.is_final])

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
