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
from workflows.versions import PATCH_MOU_STAGE, PATCH_OPERATE, PATCH_OPS_NOTICES

with workflow.unsafe.imports_passed_through():
    from accord.logic import approvals
    from accord.logic.permissions import COMPLETABLE
    from accord.models import (
        MOU,
        Agenda,
        AlignmentOverride,
        AmendmentProposal,
        ApprovalOutcome,
        ApprovalState,
        Channel,
        CloseRequest,
        DecisionInput,
        DecisionKind,
        DelegationInput,
        EmailDelay,
        EmailEvent,
        EscalationChanged,
        EscalationRequest,
        EscalationStatus,
        MetricObservationInput,
        MouRevision,
        PartnershipInput,
        PartnershipState,
        ReviewInputSubmission,
        ReviewKind,
        ReviewOutcome,
        Stage,
        StatementSubmission,
        TaskCompletion,
        TaskKind,
        UpdateResult,
    )
    from definitions import diff
    from definitions.checks import problems
    from definitions.schema import PartnershipDefinition

REVIEW_INPUT_MAX = 5_000
MAX_UPLOAD_CHARS = 200_000
# Free text people send (results, reasons, comments): the state travels through every query
# and continue-as-new, and Temporal refuses payloads over 2 MB.
MAX_TEXT = 5_000


def _check_text(*fields: tuple[str, str]) -> None:
    for what, text in fields:
        if len(text) > MAX_TEXT:
            raise ValueError(f"{what} is longer than {MAX_TEXT:,} characters.")


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
            self.record.log("started", detail=f"Partnership '{ctx.definition.name}' started")
        # Amendments can be proposed in any stage; this waits (no commands) until one is.
        amender = asyncio.create_task(self.amendments.run())
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
        if ctx.state.closed_at is not None:
            await self.closure.archive()
        if workflow.patched(PATCH_OPS_NOTICES):
            await workflow.wait_condition(ctx.quiet)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return ctx.state

    async def _unavailable(self, stage: Stage) -> None:
        """Stages this version cannot perform yet wait here, visibly, instead of pretending."""
        self.ctx.stage_available = False
        self.ctx.state.detail = f"The {stage.value} stage is not available in this version of Accord; waiting here."
        self.record.publish()
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
        task = self.ctx.state.tasks.get(completion.task_id)
        if task is None or task.kind not in COMPLETABLE:
            hint = {
                TaskKind.statement: " It is a goal statement: submit the statement instead.",
                TaskKind.baseline: " It is a metric baseline: record the metric's value instead.",
                TaskKind.review_input: " It is a review input: send the review input instead.",
            }.get(task.kind, "") if task else ""
            raise ValueError(f"There is no task {completion.task_id!r} to complete in this partnership.{hint}")
        if completion.actor != task.owner and completion.channel not in (Channel.cli, Channel.api, Channel.temporal):
            raise ValueError("This task belongs to someone else.")
        if completion.actor not in self.ctx.people and completion.actor != "ops":
            raise ValueError(f"{completion.actor!r} is not a stakeholder of this partnership.")
        if not task.is_open:
            raise ValueError(
                f"This task was already completed by {task.completed_by} on {task.completed_at:%Y-%m-%d %H:%M} UTC."
            )
        _check_text(("The result", completion.result), ("The task id", completion.task_id))

    @workflow.update
    @once
    async def submit_statement(self, submission: StatementSubmission) -> UpdateResult:
        async with checked(self.state_lock, self._validate_statement, submission):
            return self.screening.submit_statement(submission)

    @submit_statement.validator
    @once_validated
    def _validate_statement(self, submission: StatementSubmission) -> None:
        check = self.ctx.definition.screening.alignment
        state = self.ctx.state
        if check is None or submission.stakeholder not in check.participants:
            raise ValueError(f"{submission.stakeholder!r} is not asked for a goal statement in this partnership.")
        if state.stage != Stage.screening or state.alignment.passed:
            raise ValueError("The goal-alignment check is closed.")
        if not submission.text.strip():
            raise ValueError("The statement is empty.")
        if len(submission.text) > 2000:
            raise ValueError("Two sentences, please: the statement is longer than 2,000 characters.")
        previous = state.alignment.statements.get(submission.stakeholder)
        blocked = state.alignment.result is not None and state.alignment.result.blocked
        if previous is not None and not blocked:
            raise ValueError("Your statement is already recorded; revisions open only if the statements diverge.")

    @workflow.update
    @once
    async def override_alignment(self, override: AlignmentOverride) -> UpdateResult:
        async with checked(self.state_lock, self._validate_override, override):
            return self.screening.override(override)

    @override_alignment.validator
    @once_validated
    def _validate_override(self, override: AlignmentOverride) -> None:
        check = self.ctx.definition.screening.alignment
        if check is None or self.ctx.state.stage != Stage.screening:
            raise ValueError("There is no goal-alignment check to override.")
        allowed = check.override_by or self.ctx.definition.screening.go_no_go.approvers
        if override.actor not in allowed:
            raise ValueError(f"Only {', '.join(allowed)} may override the alignment check.")
        if not override.reason.strip():
            raise ValueError("An override needs a reason.")
        if self.ctx.state.alignment.passed:
            raise ValueError("The alignment check has already passed.")
        _check_text(("The reason", override.reason))

    @workflow.update
    @once
    async def decide(self, decision: DecisionInput) -> UpdateResult:
        async with checked(self.state_lock, self._validate_decide, decision):
            return self.approvals.decide(decision)

    @decide.validator
    @once_validated
    def _validate_decide(self, decision: DecisionInput) -> None:
        approval = self._open_approval(decision.approval_id, decision.round)
        if decision.actor not in approval.approvers:
            raise ValueError(f"{decision.actor!r} is not an approver of {approval.title}.")
        earlier = next((d for d in approval.decisions_in_round() if d.actor == decision.actor), None)
        if earlier:
            raise ValueError(
                f"{decision.actor} already decided ({earlier.decision.value}) on {earlier.at:%Y-%m-%d %H:%M} UTC; "
                "the first decision counts."
            )
        waiting = approvals.of(approval).waiting_on
        if approval.policy == "sequential" and decision.actor not in waiting:
            raise ValueError(f"It is not {decision.actor}'s turn yet: signing order is {', '.join(approval.approvers)}.")
        if (decision.decision == DecisionKind.request_changes and approval.document_hash is None
                and self.ctx.state.rules_version >= 1):
            # Rules 1: only a document can be changed; a go/no-go, renewal or amendment that
            # read "changes requested" as "no" ended what its approver meant to keep open.
            raise ValueError("This decision has no document to change: approve or reject.")
        if decision.decision in (DecisionKind.reject, DecisionKind.request_changes) and not decision.comment.strip():
            raise ValueError("Please give a reason.")
        if decision.document_hash is not None and decision.document_hash != (approval.document_hash or ""):
            raise ValueError(
                f"This decision is not for the version now up for decision (version {approval.document_version}, "
                f"SHA-256 {approval.document_hash}). Please open the link again, read it, and decide there."
                if approval.document_hash else f"{approval.title} is not a decision on a document.")
        _check_text(("The comment", decision.comment))

    @workflow.update
    @once
    async def delegate(self, delegation: DelegationInput) -> UpdateResult:
        async with checked(self.state_lock, self._validate_delegate, delegation):
            return self.approvals.delegate(delegation)

    @delegate.validator
    @once_validated
    def _validate_delegate(self, delegation: DelegationInput) -> None:
        approval = self._open_approval(delegation.approval_id, delegation.round)
        if not approval.allow_delegation:
            raise ValueError(f"The definition does not allow delegation for {approval.title}.")
        if delegation.actor not in approval.approvers:
            raise ValueError(f"{delegation.actor!r} is not an approver of {approval.title}.")
        if any(d.actor == delegation.actor for d in approval.decisions_in_round()):
            raise ValueError(f"{delegation.actor} has already decided in this round.")
        if delegation.to not in self.ctx.people:
            raise ValueError(f"{delegation.to!r} is not a stakeholder of this partnership.")
        if delegation.to in approval.approvers:
            raise ValueError(f"{delegation.to} is already an approver.")
        stranded = approvals.delegation_strands(approval, delegation.actor, delegation.to)
        if stranded is not None:
            party = self.record.party_names([stranded])
            raise ValueError(f"{party} must approve this itself (it changes {party}'s people), and {delegation.actor} is "
                             f"the only one of {party} left to do so: delegate to someone of {party}.")
        if not delegation.reason.strip():
            raise ValueError("A delegation needs a reason.")
        _check_text(("The reason", delegation.reason))

    @workflow.update
    @once
    async def revise_mou(self, revision: MouRevision) -> UpdateResult:
        async with checked(self.state_lock, self._validate_revise_mou, revision):
            return await self.mou.revise(revision)

    @revise_mou.validator
    @once_validated
    def _validate_revise_mou(self, revision: MouRevision) -> None:
        state, definition = self.ctx.state, self.ctx.definition
        if state.stage != Stage.mou or definition.mou is None:
            raise ValueError(f"The MOU can only be revised in the MOU stage (the partnership is in {state.stage.value}).")
        if not state.mou.versions:
            raise ValueError("The first draft is still being prepared.")
        if revision.markdown is not None:
            if not revision.markdown.strip():
                raise ValueError("The uploaded MOU is empty.")
            if len(revision.markdown) > MAX_UPLOAD_CHARS:
                raise ValueError(f"The uploaded MOU is longer than {MAX_UPLOAD_CHARS:,} characters.")
        approval = state.approvals.get(MOU)
        if approval is not None and approval.round >= definition.mou.max_rounds:
            raise ValueError(f"The MOU has used all {definition.mou.max_rounds} review rounds.")

    @workflow.update
    @once
    async def submit_review_input(self, submission: ReviewInputSubmission) -> UpdateResult:
        async with checked(self.state_lock, self._validate_review_input, submission):
            return self.reviews.submit_input(submission)

    @submit_review_input.validator
    @once_validated
    def _validate_review_input(self, submission: ReviewInputSubmission) -> None:
        review = self.ctx.state.reviews.get(submission.review_id)
        if review is None:
            raise ValueError(f"There is no review {submission.review_id!r} in this partnership.")
        if review.opened_at is None:
            raise ValueError(f"{review.kind.title} #{review.n} opens on {review.scheduled_for:%Y-%m-%d}.")
        if review.closed_at is not None:
            raise ValueError(f"{review.kind.title} #{review.n} closed on {review.closed_at:%Y-%m-%d %H:%M} UTC.")
        if submission.stakeholder not in review.participants:
            raise ValueError(f"{submission.stakeholder!r} is not asked for input to {review.kind.title} #{review.n}.")
        if len(submission.note) > REVIEW_INPUT_MAX:
            raise ValueError(f"The note is longer than {REVIEW_INPUT_MAX:,} characters.")
        if review.kind == ReviewKind.weekly_status and submission.rag is None:
            raise ValueError("Say how it is going: green, amber or red.")
        if review.kind == ReviewKind.annual_mutual_value:
            for name, value in (("contribution", submission.contribution), ("benefit", submission.benefit)):
                if value is None or not 1 <= value <= 10:
                    raise ValueError(f"Rate your party's {name} from 1 to 10.")

    @workflow.update
    @once
    async def record_metric(self, observation: MetricObservationInput) -> UpdateResult:
        async with checked(self.state_lock, self._validate_metric, observation):
            return self.metrics.record_observation(observation)

    @record_metric.validator
    @once_validated
    def _validate_metric(self, observation: MetricObservationInput) -> None:
        metric = next((m for m in self.ctx.definition.metrics if m.id == observation.metric_id), None)
        if metric is None:
            known = ", ".join(m.id for m in self.ctx.definition.metrics) or "none"
            raise ValueError(f"There is no metric {observation.metric_id!r} (metrics: {known}).")
        if observation.actor not in (metric.owner, "ops") and observation.channel not in (Channel.cli, Channel.api):
            raise ValueError(f"{metric.name} is recorded by its owner, {metric.owner}.")
        if observation.actor != "ops" and observation.actor not in self.ctx.people:
            raise ValueError(f"{observation.actor!r} is not a stakeholder of this partnership.")
        if observation.value != observation.value or observation.value in (float("inf"), float("-inf")):
            raise ValueError("The value must be a number.")
        if self.ctx.state.stage not in (Stage.launch, Stage.active, Stage.renewal):
            raise ValueError(f"Metrics are recorded from launch on (the partnership is in {self.ctx.state.stage.value}).")
        _check_text(("The note", observation.note))

    @workflow.update
    @once
    async def record_review_outcome(self, outcome: ReviewOutcome) -> UpdateResult:
        async with checked(self.state_lock, self._validate_review_outcome, outcome):
            return self.reviews.record_outcome(outcome)

    @record_review_outcome.validator
    @once_validated
    def _validate_review_outcome(self, outcome: ReviewOutcome) -> None:
        review = self.ctx.state.reviews.get(outcome.review_id)
        if review is None or review.opened_at is None:
            raise ValueError(f"There is no review {outcome.review_id!r} to record in this partnership.")
        newer = [r for r in self.ctx.state.reviews.values() if r.kind == review.kind and r.n > review.n and r.opened_at]
        if newer:
            raise ValueError(f"{review.kind.title} #{review.n} was followed by #{newer[0].n}: record it there.")
        if outcome.actor != "ops" and outcome.actor not in self.ctx.people:
            raise ValueError(f"{outcome.actor!r} is not a stakeholder of this partnership.")
        if not any(d.strip() for d in outcome.decisions) and not outcome.actions:
            raise ValueError("Nothing to record: give at least one decision or action.")
        for action in outcome.actions:
            if not action.title.strip():
                raise ValueError("Every action needs a title.")
            if action.owner not in self.ctx.people:
                raise ValueError(f"The action owner {action.owner!r} is not a stakeholder of this partnership.")
        _check_text(*(("A decision", d) for d in outcome.decisions), *(("An action", a.title) for a in outcome.actions))

    @workflow.update
    @once
    async def propose_amendment(self, proposal: AmendmentProposal) -> UpdateResult:
        async with checked(self.state_lock, self._validate_amendment, proposal):
            return self.amendments.propose(proposal)

    @propose_amendment.validator
    @once_validated
    def _validate_amendment(self, proposal: AmendmentProposal) -> None:
        if proposal.actor != "ops" and proposal.actor not in self.ctx.people:
            raise ValueError(f"{proposal.actor!r} is not a stakeholder of this partnership.")
        if not proposal.reason.strip():
            raise ValueError("An amendment needs a reason.")
        if self.ctx.state.stage.is_final:
            raise ValueError(f"The partnership is {self.ctx.state.stage.value}.")
        if proposal.definition.id != self.ctx.definition.id:
            raise ValueError(f"The amended definition is for {proposal.definition.id!r}, not {self.ctx.definition.id!r}.")
        pending = self.amendments.pending()
        if pending is not None:
            raise ValueError(f"{pending.id} is still in approval; one amendment at a time.")
        found = problems(proposal.definition, **self.amendments.checks())
        if found:
            raise ValueError("The amended definition is not valid: " + "; ".join(f"{p.dotted}: {p.message}" for p in found[:5]))
        if not diff.changes(self.ctx.definition, proposal.definition):
            raise ValueError("The amended definition is the same as the one in force.")
        _check_text(("The reason", proposal.reason))

    @workflow.update
    @once
    async def close(self, request: CloseRequest) -> UpdateResult:
        async with checked(self.state_lock, self._validate_close, request):
            return self.closure.close_by(request)

    @close.validator
    @once_validated
    def _validate_close(self, request: CloseRequest) -> None:
        rules, approvers = self.amendments.rules()
        if request.actor != "ops" and request.actor not in approvers:
            raise ValueError(f"Only ops or {', '.join(approvers)} may close the partnership.")
        if not request.reason.strip():
            raise ValueError("Closing needs a reason.")
        # No workflow.patched() here: validators must not add to history.
        if self.ctx.state.stage not in (Stage.launch, Stage.active, Stage.renewal):
            raise ValueError(f"A partnership closes once launched (it is in {self.ctx.state.stage.value}).")
        _check_text(("The reason", request.reason))

    @workflow.update
    @once
    async def escalate(self, request: EscalationRequest) -> UpdateResult:
        async with checked(self.state_lock, self._validate_escalate, request):
            return await self.escalations.escalate(request)

    @escalate.validator
    @once_validated
    def _validate_escalate(self, request: EscalationRequest) -> None:
        if not request.reason.strip():
            raise ValueError("An escalation needs a reason.")
        if not 1 <= request.level <= len(self.ctx.definition.escalation.ladder):
            raise ValueError(f"Level must be between 1 and {len(self.ctx.definition.escalation.ladder)}.")
        if self.ctx.state.stage.is_final:
            raise ValueError(f"The partnership is {self.ctx.state.stage.value}.")

        _check_text(("The reason", request.reason), ("The subject", request.subject))

    def _open_approval(self, approval_id: str, round_no: int | None) -> ApprovalState:
        approval = self.ctx.state.approvals.get(approval_id)
        if approval is None:
            raise ValueError(f"There is no approval {approval_id!r} in this partnership.")
        if approval.outcome != ApprovalOutcome.pending:
            raise ValueError(f"This approval is closed ({approval.outcome.value}).")
        if round_no is not None and round_no != approval.round:
            raise ValueError(f"This link is for round {round_no}, which has been superseded by round {approval.round}.")
        return approval

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
