"""The partnership lifecycle: one durable workflow per partnership.

Stages: screening -> MOU -> launch -> active -> renewal/closure (or rejected/terminated).
This class holds the run loop and the message handlers; each stage and component is a part
of its own (this package's modules), built in ``__init__`` around one shared
:class:`~workflows.partnership.context.PartnershipContext`. The workflow only orchestrates:
what to chase and when comes from ``accord.logic.chasing``, approval outcomes from
``accord.logic.approvals``, statement divergence from ``accord.logic.alignment``; email goes
out through activities.

People act through Updates (validated before anything is written to history) and read
everything through the ``state`` query. All state lives in one ``PartnershipState`` model so
the workflow can continue as new carrying it.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow

from workflows.partnership.amendments import Amendments
from workflows.partnership.approvals import Approvals
from workflows.partnership.closure import Closure
from workflows.partnership.context import PartnershipContext
from workflows.partnership.escalations import Escalations
from workflows.partnership.launch import Launch
from workflows.partnership.metrics import Metrics
from workflows.partnership.mou import MouStage
from workflows.partnership.notices import PartnershipNotifier
from workflows.partnership.operating import Operating
from workflows.partnership.record import Record
from workflows.partnership.renewal import Renewal
from workflows.partnership.review_close import ReviewClosing
from workflows.partnership.reviews import Reviews
from workflows.partnership.screening import Screening
from workflows.partnership.tasks import Tasks
from workflows.toolkit.updates import checked, once, once_validated
from workflows.versions import (
    PATCH_CLEARING_AT_THE_END,
    PATCH_MOU_STAGE,
    PATCH_OPERATE,
    PATCH_OPS_NOTICES,
    PATCH_WITHDRAW_WHEN_DECLINED,
)

with workflow.unsafe.imports_passed_through():
    from accord.logic.rules import decisions
    from accord.logic.rules import partnership as partnership_rules
    from accord.models import (
        Agenda,
        AlignmentOverride,
        AmendmentProposal,
        ApprovalOutcome,
        CloseRequest,
        DecisionInput,
        DelegationInput,
        EmailDelay,
        EmailEvent,
        EscalationChanged,
        EscalationRequest,
        EscalationStatus,
        EventKind,
        MetricObservationInput,
        MouRevision,
        PartnershipInput,
        PartnershipState,
        ReviewInputSubmission,
        ReviewOutcome,
        Stage,
        StatementSubmission,
        TaskCompletion,
        UpdateResult,
    )
    from definitions.schema import PartnershipDefinition


@workflow.defn
class PartnershipWorkflow:
    @workflow.init
    def __init__(self, input: PartnershipInput) -> None:
        self.ctx = ctx = PartnershipContext(input)
        # Every handler that changes the state holds this lock and validates again under it.
        self.state_lock = asyncio.Lock()
        self.record = record = Record(ctx)
        self.notifier = notifier = PartnershipNotifier(ctx, record)
        self.escalations = escalations = Escalations(ctx, record, notifier)
        self.tasks = tasks = Tasks(ctx, record, notifier, escalations)
        self.approvals = approvals = Approvals(ctx, record, notifier, escalations)
        self.screening = Screening(ctx, record, tasks, approvals, notifier, escalations)
        self.mou = MouStage(ctx, record, approvals, notifier)
        self.launch = Launch(ctx, record, tasks)
        self.metrics = Metrics(ctx, record)
        self.reviews = Reviews(ctx, record, tasks, notifier, ReviewClosing(ctx, record, tasks, notifier, escalations))
        self.closure = Closure(ctx, record, escalations)
        self.operating = Operating(ctx, record, tasks, self.reviews, Renewal(ctx, record, approvals, self.closure))
        self.amendments = Amendments(ctx, record, approvals, escalations)
        if ctx.state.stage == Stage.screening:
            # Open the tasks here, not in run(): an update may arrive with the very first
            # workflow task, and its validator must already find them.
            self.screening.open_tasks()

    # ------------------------------------------------------------------ run

    @workflow.run
    async def run(self, input: PartnershipInput) -> PartnershipState:
        ctx = self.ctx
        self.record.publish()
        if input.state is None:
            self.record.log(EventKind.started, detail=f"Partnership '{ctx.definition.name}' started")
        # Amendments can be proposed in any stage; this waits (no commands) until one is.
        amender = asyncio.create_task(self.amendments.run())
        # Rules 2: the status follows every change, digests go out when quiet, and automatic
        # escalations hear when their cause is gone. Each waits (no commands) until it has work.
        derived = ctx.state.rules_version >= 2
        follower = asyncio.create_task(self.record.follow()) if derived else None
        digests = asyncio.create_task(self.notifier.digests.run()) if derived else None
        causes = asyncio.create_task(self.escalations.watch_causes()) if derived else None
        while not ctx.state.stage.is_final:
            stage = ctx.state.stage
            if stage == Stage.screening:
                await self.screening.run()
            elif stage == Stage.mou and workflow.patched(PATCH_MOU_STAGE):
                await self.mou.run()
            elif stage == Stage.launch and workflow.patched(PATCH_OPERATE):
                await self.launch.run()
            elif stage in (Stage.active, Stage.renewal) and workflow.patched(PATCH_OPERATE):
                await self.operating.run()
                if not ctx.state.stage.is_final and ctx.history_is_long():
                    await self.operating.continue_as_new()
            else:
                await self._unavailable(stage)
        amender.cancel()
        if causes is not None:
            if workflow.patched(PATCH_CLEARING_AT_THE_END):
                # What ended the run (a decision, closing) may itself be the end of a cause.
                await self.escalations.settle_causes()
            causes.cancel()  # ended: what is still open is withdrawn below (closed, declined, MOU failed)
        if ctx.state.closed_at is not None:
            await self.closure.archive()
        elif ctx.state.stage.is_final and workflow.patched(PATCH_WITHDRAW_WHEN_DECLINED):
            # Declined at its go/no-go, or its MOU failed: the stage change says why. (A default, not
            # StopIteration, should a timeline ever lack it: that would fail the task for ever.)
            why = next((e.detail for e in reversed(ctx.state.timeline) if e.kind == EventKind.stage_changed),
                       ctx.state.stage.value)
            await self.escalations.withdraw_at_the_end(f"The partnership ended ({why})")
        if digests is not None:
            await self.notifier.digests.flush()
            digests.cancel()
        if workflow.patched(PATCH_OPS_NOTICES):
            await workflow.wait_condition(ctx.quiet)
        await workflow.wait_condition(workflow.all_handlers_finished)
        if follower is not None:
            follower.cancel()
        return ctx.state

    async def _unavailable(self, stage: Stage) -> None:
        """Stages this version cannot perform yet wait here, visibly, instead of pretending."""
        self.ctx.stage_available = False
        self.record.set_detail(f"The {stage.value} stage is not available in this version of Accord; waiting here.")
        await workflow.wait_condition(lambda: self.ctx.state.stage != stage)

    # ------------------------------------------------------------------ what `once` needs

    @property
    def answered(self) -> dict[str, str]:
        return self.ctx.state.answered

    @property
    def answer_name(self) -> str:
        return self.ctx.definition.name

    # ------------------------------------------------------------------ queries

    @workflow.query
    def state(self) -> PartnershipState:
        return self.ctx.state

    @workflow.query
    def agenda(self) -> Agenda:
        """Reviews planned or open and approvals pending: what `state` says, without the years of record."""
        state = self.ctx.state
        return Agenda(
            reviews=[r for r in state.reviews.values() if r.closed_at is None],
            approvals=[a.id for a in state.approvals.values() if a.outcome == ApprovalOutcome.pending],
            open_tasks=len(state.open_tasks()),
        )

    @workflow.query
    def definition(self) -> PartnershipDefinition:
        """The definition in force (names, roles, parties: the state refers to people by id)."""
        return self.ctx.definition

    # ------------------------------------------------------------------ updates
    # Each: validated before anything is written, applied once, checked again under the lock.

    @workflow.update
    @once
    async def complete_task(self, completion: TaskCompletion) -> UpdateResult:
        async with checked(self.state_lock, self._validate_complete_task, completion):
            return self.tasks.complete(completion)

    @complete_task.validator
    @once_validated
    def _validate_complete_task(self, completion: TaskCompletion) -> None:
        partnership_rules.check_completion(self.ctx.state, self.ctx.definition, completion)

    @workflow.update
    @once
    async def submit_statement(self, submission: StatementSubmission) -> UpdateResult:
        async with checked(self.state_lock, self._validate_statement, submission):
            return self.screening.submit_statement(submission)

    @submit_statement.validator
    @once_validated
    def _validate_statement(self, submission: StatementSubmission) -> None:
        partnership_rules.check_statement(self.ctx.state, self.ctx.definition, submission)

    @workflow.update
    @once
    async def override_alignment(self, override: AlignmentOverride) -> UpdateResult:
        async with checked(self.state_lock, self._validate_override, override):
            return self.screening.override(override)

    @override_alignment.validator
    @once_validated
    def _validate_override(self, override: AlignmentOverride) -> None:
        decisions.check_override(self.ctx.state, self.ctx.definition, override)

    @workflow.update
    @once
    async def decide(self, decision: DecisionInput) -> UpdateResult:
        async with checked(self.state_lock, self._validate_decide, decision):
            return self.approvals.decide(decision)

    @decide.validator
    @once_validated
    def _validate_decide(self, decision: DecisionInput) -> None:
        decisions.check_decision(self.ctx.state, decision)

    @workflow.update
    @once
    async def delegate(self, delegation: DelegationInput) -> UpdateResult:
        async with checked(self.state_lock, self._validate_delegate, delegation):
            return self.approvals.delegate(delegation)

    @delegate.validator
    @once_validated
    def _validate_delegate(self, delegation: DelegationInput) -> None:
        decisions.check_delegation(self.ctx.state, self.ctx.definition, delegation)

    @workflow.update
    @once
    async def revise_mou(self, revision: MouRevision) -> UpdateResult:
        async with checked(self.state_lock, self._validate_revise_mou, revision):
            return await self.mou.revise(revision)

    @revise_mou.validator
    @once_validated
    def _validate_revise_mou(self, revision: MouRevision) -> None:
        decisions.check_mou_revision(self.ctx.state, self.ctx.definition, revision)

    @workflow.update
    @once
    async def submit_review_input(self, submission: ReviewInputSubmission) -> UpdateResult:
        async with checked(self.state_lock, self._validate_review_input, submission):
            return self.reviews.submit_input(submission)

    @submit_review_input.validator
    @once_validated
    def _validate_review_input(self, submission: ReviewInputSubmission) -> None:
        partnership_rules.check_review_input(self.ctx.state, submission)

    @workflow.update
    @once
    async def record_metric(self, observation: MetricObservationInput) -> UpdateResult:
        async with checked(self.state_lock, self._validate_metric, observation):
            return self.metrics.record_observation(observation)

    @record_metric.validator
    @once_validated
    def _validate_metric(self, observation: MetricObservationInput) -> None:
        partnership_rules.check_metric(self.ctx.state, self.ctx.definition, observation)

    @workflow.update
    @once
    async def record_review_outcome(self, outcome: ReviewOutcome) -> UpdateResult:
        async with checked(self.state_lock, self._validate_review_outcome, outcome):
            return self.reviews.record_outcome(outcome)

    @record_review_outcome.validator
    @once_validated
    def _validate_review_outcome(self, outcome: ReviewOutcome) -> None:
        partnership_rules.check_review_outcome(self.ctx.state, self.ctx.definition, outcome)

    @workflow.update
    @once
    async def propose_amendment(self, proposal: AmendmentProposal) -> UpdateResult:
        async with checked(self.state_lock, self._validate_amendment, proposal):
            return self.amendments.propose(proposal)

    @propose_amendment.validator
    @once_validated
    def _validate_amendment(self, proposal: AmendmentProposal) -> None:
        partnership_rules.check_amendment(self.ctx.state, self.ctx.definition, proposal)

    @workflow.update
    @once
    async def close(self, request: CloseRequest) -> UpdateResult:
        async with checked(self.state_lock, self._validate_close, request):
            return self.closure.close_by(request)

    @close.validator
    @once_validated
    def _validate_close(self, request: CloseRequest) -> None:
        partnership_rules.check_close(self.ctx.state, self.ctx.definition, request)

    @workflow.update
    @once
    async def escalate(self, request: EscalationRequest) -> UpdateResult:
        async with checked(self.state_lock, self._validate_escalate, request):
            return await self.escalations.escalate(request)

    @escalate.validator
    @once_validated
    def _validate_escalate(self, request: EscalationRequest) -> None:
        partnership_rules.check_escalation_request(self.ctx.state, self.ctx.definition, request)

    # ------------------------------------------------------------------ signals (cannot be refused: bad ones are logged)

    @workflow.signal
    def escalation_changed(self, change: EscalationChanged | None) -> None:
        """An escalation's own workflow climbed a level, was acknowledged, resolved or withdrawn."""
        record = self.escalations.changed(change)
        if record is None or change is None:
            return
        if change.status == EscalationStatus.awaiting_amendment and change.amendment:
            self.amendments.from_escalation(record, change.amendment)
        self.escalations.log_change(record, change)

    @workflow.signal
    async def email_event(self, event: EmailEvent | None) -> None:
        """Delivery news from the mail provider's webhook. Bounces and drops make the person unreachable."""
        await self.notifier.event(event)

    @workflow.signal
    async def email_delayed(self, delay: EmailDelay | None) -> None:
        """The email activity says an email of this run is still failing past the alert time
        (sent once per send key). It is recorded; ops are told by email (rules 1)."""
        await self.notifier.delayed(delay)
