"""One escalation, as its own workflow: a child of the partnership, visible on its own in the Temporal UI.

It emails the current ladder level's contacts, waits for that level's ``respond_within``
and climbs to the next level when nobody acknowledges, resolves or withdraws it in time
(when and where to: ``accord.logic.ladder``). Past the last level it tells ops once and
stays open. Acknowledging stops the climb; the people involved then record the CARE
steps (Clarify, Acknowledge, Reframe, Explore) and resolve it, or it is withdrawn with a
reason. Resolving or withdrawing ends the workflow, returning the final state.

Rules 2: when its cause is gone (the partnership's ``cause_cleared`` signal) it closes, or asks
its current level to confirm (``clearing.py``); raised again within its trigger's quiet period
after the same cause cleared, it pages nobody until the period is over.

Every level and status change is recorded (time and cause) and reported to the
partnership by the ``escalation_changed`` signal. The partnership starts this workflow
with ``ParentClosePolicy.ABANDON`` so the escalation survives the partnership's
continue-as-new, and the signal always reaches the partnership's latest run.

People act through Updates with validators (refused before anything is written to
history); the parent, which cannot send Updates, withdraws by the ``request_withdrawal``
signal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow

from workflows.escalation.care import Care
from workflows.escalation.clearing import Clearings
from workflows.escalation.context import EscalationContext
from workflows.escalation.notices import EscalationNotifier
from workflows.escalation.reporting import Reporting
from workflows.toolkit.updates import checked
from workflows.versions import PATCH_ASK_EACH_TIME, PATCH_REPORT_THE_END

with workflow.unsafe.imports_passed_through():
    from accord.logic import ladder
    from accord.logic.rules import escalations as rules
    from accord.models import (
        Acknowledge,
        AmendmentDecided,
        CareEntry,
        CauseCleared,
        ConfirmClearing,
        EmailDelay,
        EmailEvent,
        EscalationInput,
        EscalationState,
        EscalationStatus,
        LevelChange,
        Resolve,
        UpdateResult,
        Withdraw,
    )


@workflow.defn
class EscalationWorkflow:
    @workflow.init
    def __init__(self, input: EscalationInput) -> None:
        self.ctx = ctx = EscalationContext(input)
        # Every handler that changes the state holds this lock and validates again under it.
        self.state_lock = asyncio.Lock()
        self.notifier = EscalationNotifier(ctx)
        self.reporting = Reporting(ctx)
        self.care = Care(ctx, self.reporting)
        self.clearings = Clearings(ctx, self.reporting, self.care)
        # The clearing as the run loop last saw it (a change wakes the loop).
        self._clearing_seen = 0
        # Asked once per run, here with the rules (a marker at the start of the run, not in the
        # middle of the workflow task that closes it): see workflows/versions.py.
        self._report_the_end = workflow.patched(PATCH_REPORT_THE_END)
        self.notifier.key_each_question = workflow.patched(PATCH_ASK_EACH_TIME)

    # ------------------------------------------------------------------ run

    @workflow.run
    async def run(self, input: EscalationInput) -> EscalationState:
        ctx = self.ctx
        while True:
            self._clearing_seen = self.clearings.version
            self.reporting.publish()
            await self.notifier.notify_owed()
            await self.notifier.ask_confirmation()
            await self.reporting.report()
            if ctx.state.status.is_final:
                if self._report_the_end:
                    # It may have closed (its cause gone, withdrawn) while the report above was in
                    # flight with the level before: the partnership must hear the end too.
                    await self.reporting.report()
                await self.notifier.tell_cleared()
                break
            if workflow.info().is_continue_as_new_suggested():
                # Never from a handler, and only once none is running: a handler cut off by
                # continue-as-new would lose its caller's answer.
                await workflow.wait_condition(workflow.all_handlers_finished)
                # A handler that ran meanwhile may have changed what the parent must be told:
                # go round once more to report it first.
                if not self.reporting.unreported():
                    workflow.continue_as_new(input.model_copy(update={"state": ctx.state}))
                continue
            step = self._next_step()
            if step is None:
                # Acknowledged or with ops: nothing more on the clock; wait for the next change.
                await workflow.wait_condition(self._woken)
                continue
            at, summary, act = step
            wait = at - workflow.now()
            if wait > timedelta(0):
                try:
                    # Any change (acknowledged, resolved, withdrawn, its cause gone) loops round to
                    # report it and recompute the next step; only the timeout acts.
                    await workflow.wait_condition(self._woken, timeout=wait, timeout_summary=summary)
                    continue
                except TimeoutError:
                    # An acknowledgement applied in the same workflow task as the timer wins:
                    # the person answered in time as far as anyone can tell.
                    if self.reporting.unreported():
                        continue
            act()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return ctx.state

    def _next_step(self) -> tuple[datetime, str, Callable[[], None]] | None:
        """What happens next on the clock, if nobody acts: the climb, or (rules 2) the end of a
        quiet period (the loop then tells the level), or closing when nobody answers whether
        it may close; before any of them (schedule 1), the start of the working hours of a
        contact still to be told (the loop then tells them)."""
        step = self._clock_step()
        owed = self.notifier.next_owed()
        if owed is not None and (step is None or owed < step[0]):
            return owed, "email the next contact in their working hours", lambda: None
        return step

    def _clock_step(self) -> tuple[datetime, str, Callable[[], None]] | None:
        ctx = self.ctx
        closes_at = self.clearings.pending_until()
        if closes_at is not None:
            return closes_at, "close unless kept open: its cause is gone", self.clearings.expire
        climb = ladder.next_climb(
            ctx.ladder,
            None if ctx.state.with_ops else ctx.state.level,
            ctx.state.level_reached_at,
            acknowledged=ctx.state.status != EscalationStatus.open,
        )
        if ctx.paging_held():
            assert ctx.state.quiet_until is not None
            return ctx.state.quiet_until, "quiet period: page the level then", lambda: None
        if climb is None:
            return None
        return climb.at, f"climb to {ctx.level_name(climb.to_level)} unless acknowledged", lambda: self._climb(climb)

    def _woken(self) -> bool:
        return (self.reporting.unreported() or workflow.info().is_continue_as_new_suggested()
                or self.clearings.version != self._clearing_seen)

    def _climb(self, climb: ladder.Climb) -> None:
        ctx = self.ctx
        now = workflow.now()
        if climb.to_level is None:
            ctx.state.with_ops = True
            contacts = [f"ops-{i}" for i in range(len(ctx.definition.ops))]
        else:
            ctx.state.level = climb.to_level
            contacts = list(ctx.ladder[climb.to_level - 1].contacts)
            # Its window counts from when its first contact is told (schedule 1: paging.py).
            now = ctx.pager.plan(now, contacts, ctx.ladder[climb.to_level - 1].respond_within).starts
        ctx.state.level_reached_at = now
        ctx.state.levels.append(
            LevelChange(level=climb.to_level, name=ctx.level_name(climb.to_level), contacts=contacts, at=now,
                        cause=climb.cause)
        )

    # ------------------------------------------------------------------ queries

    @workflow.query
    def state(self) -> EscalationState:
        return self.ctx.state

    # ------------------------------------------------------------------ updates
    # Each: validated before anything is written, checked again under the lock.

    @workflow.update
    async def acknowledge(self, ack: Acknowledge) -> UpdateResult:
        async with checked(self.state_lock, self._validate_acknowledge, ack):
            return self.care.acknowledge(ack)

    @acknowledge.validator
    def _validate_acknowledge(self, ack: Acknowledge) -> None:
        rules.check_acknowledgement(self.ctx.state, self.ctx.definition, ack)

    @workflow.update
    async def record_care(self, entry: CareEntry) -> UpdateResult:
        async with checked(self.state_lock, self._validate_care, entry):
            return self.care.record(entry)

    @record_care.validator
    def _validate_care(self, entry: CareEntry) -> None:
        rules.check_care_entry(self.ctx.state, self.ctx.definition, entry)

    @workflow.update
    async def resolve(self, resolve: Resolve) -> UpdateResult:
        async with checked(self.state_lock, self._validate_resolve, resolve):
            return self.care.resolve(resolve)

    @resolve.validator
    def _validate_resolve(self, resolve: Resolve) -> None:
        rules.check_resolution(self.ctx.state, self.ctx.definition, resolve)

    @workflow.update
    async def withdraw(self, withdraw: Withdraw) -> UpdateResult:
        async with checked(self.state_lock, self._validate_withdraw, withdraw):
            self.care.withdraw(withdraw)
            return UpdateResult(message="The escalation is withdrawn.")

    @withdraw.validator
    def _validate_withdraw(self, withdraw: Withdraw) -> None:
        rules.check_withdrawal(self.ctx.state, self.ctx.definition, withdraw)

    @workflow.update
    async def confirm_clearing(self, answer: ConfirmClearing) -> UpdateResult:
        """Rules 2: its cause is gone and its level was asked: close it now, or keep it open."""
        async with checked(self.state_lock, self._validate_confirm_clearing, answer):
            return self.clearings.confirm(answer)

    @confirm_clearing.validator
    def _validate_confirm_clearing(self, answer: ConfirmClearing) -> None:
        rules.check_confirm_clearing(self.ctx.state, self.ctx.definition, answer)

    # ------------------------------------------------------------------ signals (cannot be refused: bad ones are logged)

    @workflow.signal
    def request_withdrawal(self, withdraw: Withdraw | None) -> None:
        """The partnership withdraws it (the overdue work got done, the partnership closed).
        Workflows cannot send Updates, so this is a signal: an invalid one is logged and ignored.
        Besides stakeholders and ops, the actor may be "accord" (the partnership workflow itself)."""
        if not isinstance(withdraw, Withdraw):
            workflow.logger.warning("request_withdrawal without a withdrawal ignored: %r", withdraw)
            return
        try:
            rules.check_withdrawal(self.ctx.state, self.ctx.definition, withdraw, by_partnership=True)
        except ValueError as exc:
            workflow.logger.warning("withdrawal of %s ignored: %s", self.ctx.state.id, exc)
            return
        self.care.withdraw(withdraw)

    @workflow.signal
    def cause_cleared(self, news: CauseCleared | None) -> None:
        """Rules 2: the partnership says the escalation's cause is gone, or back."""
        self.clearings.news(news)

    @workflow.signal
    def amendment_decided(self, decided: AmendmentDecided | None) -> None:
        """The partnership's approval of the amendment this resolution proposed has ended."""
        self.care.amendment_decided(decided)

    @workflow.signal
    async def email_delayed(self, delay: EmailDelay | None) -> None:
        """The email activity says an email of this escalation is still failing past the alert
        time (sent once per send key): recorded, and ops told (rules 1) unless it is theirs."""
        await self.notifier.delayed(delay)

    @workflow.signal
    async def email_event(self, event: EmailEvent | None) -> None:
        """Delivery news from the mail webhook (the emails carry this workflow's id)."""
        await self.notifier.event(event)

    @workflow.signal
    def report_again(self) -> None:
        """The partnership has lost its copy of this escalation: a run of it reset to before
        it started this workflow, which found it running and adopted it. Its next pass tells
        the partnership the level and status again (what the reset run missed)."""
        self.reporting.forget()


ESCALATION_WORKFLOWS = (EscalationWorkflow,)
