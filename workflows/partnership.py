"""The partnership lifecycle: one durable workflow per partnership.

Stages: screening -> MOU -> launch -> active -> renewal/closure (or rejected/terminated).
The workflow only orchestrates: what to chase and when comes from
``accord.logic.chasing``, approval outcomes from ``accord.logic.approvals``, statement
divergence from ``accord.logic.alignment``; email goes out through activities.

People act through Updates (validated before anything is written to history) and read
everything through the ``state`` query. All state lives in one ``PartnershipState``
model so the workflow can continue as new carrying it.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.workflow import ParentClosePolicy
from temporalio.exceptions import ApplicationError

from workflows import mailing, telemetry
from workflows.escalation import AMENDMENT_SIGNAL, EscalationWorkflow, escalation_workflow_id
from workflows.reviews import ReviewCadence, input_task_id
from workflows.versions import (
    PATCH_CHANGED_ATTRIBUTES,
    PATCH_ESCALATION_CHILD,
    PATCH_FOLLOW_EARLY_DECISIONS,
    PATCH_MOU_STAGE,
    PATCH_OPERATE,
    PATCH_OPS_NOTICES,
    rules_version,
)

with workflow.unsafe.imports_passed_through():
    from accord import search_attributes as sa
    from accord.logic import alignment, approvals, chasing, health
    from accord.models import (
        ActionLink,
        Agenda,
        AlignmentOverride,
        AlignmentResult,
        Amendment,
        AmendmentDecided,
        AmendmentProposal,
        AmendmentStatus,
        ApprovalOutcome,
        ArchiveRequest,
        ApprovalState,
        Channel,
        CloseRequest,
        Decision,
        DecisionInput,
        DecisionKind,
        Delegation,
        DelegationInput,
        DocumentVersion,
        EmailDelay,
        EmailEvent,
        EmailEventRecord,
        EscalationChanged,
        EscalationInput,
        EscalationRecord,
        EscalationRequest,
        EscalationStatus,
        Event,
        Invitation,
        MetricObservation,
        MetricObservationInput,
        MetricTrack,
        MouRevision,
        RenderMouRequest,
        StoreDocumentRequest,
        StoredDocument,
        PartnershipInput,
        PartnershipState,
        Recipient,
        ReviewInput,
        ReviewInputSubmission,
        ReviewKind,
        ReviewOutcome,
        Stage,
        Statement,
        StatementSubmission,
        Task,
        TaskCompletion,
        TaskKind,
        TaskStatus,
        UpdateResult,
        Withdraw,
    )
    from definitions import diff, loader
    from definitions.checks import problems
    from definitions.durations import Duration
    from definitions.schema import ApprovalRules, ChecklistItem, PartnershipDefinition, Reminders

# Links stay usable a while after the deadline: late is better than never.
LINK_GRACE = timedelta(days=30)


GO_NO_GO = "go-no-go"
MOU = "mou"


# Tasks the launch checklist implies without a deadline of their own (metric baselines).
LAUNCH_DEFAULT_DUE = Duration(seconds=14 * 86400)
REVIEW_INPUT_MAX = 5_000

MAX_UPLOAD_CHARS = 200_000
# Tasks a person marks done (the others complete through their own action: a statement,
# a metric's value, a review input).
COMPLETABLE = (TaskKind.checklist, TaskKind.deliverable, TaskKind.action, TaskKind.diagnostic)
MAX_EMAIL_EVENTS = 200
MAX_TIMELINE = 500
MAX_ANSWERED = 200
# Free text people send (results, reasons, comments): the state travels through every query
# and continue-as-new, and Temporal refuses payloads over 2 MB.
MAX_TEXT = 5_000


_UNSET = object()


def _once(handler):
    """Apply an update once, even if the client sends it again after continue-as-new.

    A client that loses the answer retries with the same update id; update ids are not
    remembered across runs, so a retry reaching the next run would apply it twice (two
    decisions, two observations). The state remembers recent ids and their answers.
    """

    @functools.wraps(handler)
    async def wrapper(self, arg):
        update_id = workflow.current_update_info().id
        earlier = self.state.answered.get(update_id)
        if earlier is not None:
            return UpdateResult(message=earlier, partnership=self.definition.name)
        result = await handler(self, arg)
        self.state.answered[update_id] = result.message
        for stale in list(self.state.answered)[:-MAX_ANSWERED]:
            del self.state.answered[stale]
        result.partnership = self.definition.name
        return result

    return wrapper


def _once_validated(validator):
    """The validator of a ``_once`` update: a repeat of an applied update is accepted (and
    answered with the earlier answer), not refused as e.g. "already decided"."""

    @functools.wraps(validator)
    def wrapper(self, arg) -> None:
        info = workflow.current_update_info()
        if info is not None and info.id in self.state.answered:
            return
        validator(self, arg)

    return wrapper


def _check_text(*fields: tuple[str, str]) -> None:
    for what, text in fields:
        if len(text) > MAX_TEXT:
            raise ValueError(f"{what} is longer than {MAX_TEXT:,} characters.")


def _recheck(validator: Callable[[object], None], arg: object) -> None:
    """Validate again inside the handler, under the lock.

    Two updates accepted in one workflow task both pass their validators before either
    handler runs; the second must still be refused. An ApplicationError fails only that
    update (any other exception would fail the workflow task and retry forever).
    """
    try:
        validator(arg)
    except ValueError as exc:
        raise ApplicationError(str(exc), type="ActionRefused", non_retryable=True) from None


@workflow.defn
class PartnershipWorkflow:
    @workflow.init
    def __init__(self, input: PartnershipInput) -> None:
        self.definition: PartnershipDefinition = input.definition
        # Continue as new well before Temporal's suggestion at 4,096 events: the run must still
        # finish what it is doing (handlers, an email in flight) after deciding to.
        self._history_limit = input.history_limit
        now = workflow.now()
        self.state: PartnershipState = input.state or PartnershipState(
            partnership_id=input.definition.id,
            name=input.definition.name,
            chain_id=workflow.info().run_id,
            started_at=now,
            stage_started_at=now,
        )
        # The rules this run follows (workflows/versions.py): only here, once per run.
        self.state.rules_version = rules_version(self.state.rules_version)
        if input.state is None:
            self.state.allow_short_durations = input.allow_short_durations
        self.people = self.definition.stakeholders()
        self._lock = asyncio.Lock()
        self._stage_available = True
        self.reviews = ReviewCadence(self)
        # Emails and child starts of the operating stages: continue-as-new waits for them.
        self._in_flight: list[asyncio.Future] = []
        self._chased: set[str] = set()
        # Search attribute values as last upserted by this run (a new run upserts them all once).
        self._attributes: dict[str, object] = {}
        # Escalations whose proposed amendment could not go to approval: answered by _amendments.
        self._refusals: list[EscalationRecord] = []
        # Send keys of this run's emails in flight (an email_delayed signal must name one).
        self._sending: set[str] = set()
        if self.state.stage == Stage.screening:
            # Open the tasks here, not in run(): an update may arrive with the very first
            # workflow task, and its validator must already find them.
            self._open_screening_tasks()

    # ------------------------------------------------------------------ run

    @workflow.run
    async def run(self, input: PartnershipInput) -> PartnershipState:
        self._publish()
        if input.state is None:
            self._log("started", detail=f"Partnership '{self.definition.name}' started")
        # Amendments can be proposed in any stage; this waits (no commands) until one is.
        amender = asyncio.create_task(self._amendments())
        while not self.state.stage.is_final:
            stage = self.state.stage
            if stage == Stage.screening:
                await self._screening()
            elif stage == Stage.mou and workflow.patched(PATCH_MOU_STAGE):
                await self._mou_stage()
            elif stage == Stage.launch and workflow.patched(PATCH_OPERATE):
                await self._launch_stage()
            elif stage in (Stage.active, Stage.renewal) and workflow.patched(PATCH_OPERATE):
                await self._operate()
                if not self.state.stage.is_final and self._history_is_long():
                    await self._continue_as_new()
            else:
                await self._unavailable(stage)
        amender.cancel()
        if self.state.closed_at is not None:
            await self._archive()
        if workflow.patched(PATCH_OPS_NOTICES):
            await workflow.wait_condition(lambda: all(f.done() for f in self._in_flight))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state

    async def _unavailable(self, stage: Stage) -> None:
        """Stages this version cannot perform yet wait here, visibly, instead of pretending."""
        self._stage_available = False
        self.state.detail = f"The {stage.value} stage is not available in this version of Accord; waiting here."
        self._publish()
        await workflow.wait_condition(lambda: self.state.stage != stage)

    # ------------------------------------------------------------------ launch

    def _open_launch_tasks(self) -> None:
        launch = self.definition.launch
        start = self.state.stage_started_at
        for item in launch.checklist:
            self._open_task(item.id, TaskKind.checklist, item.title, item.owner, item.due.after(start), item.description,
                            item.required)
        latest = max((item.due for item in launch.checklist), default=LAUNCH_DEFAULT_DUE)
        for metric in self.definition.metrics:
            track = self.state.metrics.setdefault(metric.id, MetricTrack(metric_id=metric.id))
            if metric.baseline is not None and track.baseline is None:
                track.baseline, track.baseline_at = metric.baseline, workflow.now()
            if track.baseline is None:
                self._open_task(
                    _baseline_task(metric.id), TaskKind.baseline, f"Capture the baseline of {metric.name}", metric.owner,
                    latest.after(start),
                    f"Record today's value of {metric.name} ({metric.unit}) before launch: accord metric record "
                    f"{workflow.info().workflow_id} {metric.id} VALUE --as {metric.owner}",
                )
        for deliverable in launch.deliverables:
            self._open_task(
                deliverable.id, TaskKind.deliverable, deliverable.title, deliverable.owner, deliverable.due.after(start),
                f"You are the single accountable owner. Done means: {deliverable.definition_of_done}", required=False,
            )

    def _launch_ready(self) -> bool:
        return all(not t.is_open or not t.required for t in self.state.tasks.values()
                   if t.stage == Stage.launch and t.kind in (TaskKind.checklist, TaskKind.baseline))

    async def _launch_stage(self) -> None:
        """The launch checklist: metric owners and baselines, deliverable owners, the cadence, the
        kickoff. Launch completes when its required tasks are done or, if the definition lets it
        proceed with open items, at the last launch deadline (the open items stay chased)."""
        self._open_launch_tasks()
        self._chase_open_tasks()
        self._set_detail("Launch: waiting on the launch checklist")
        launch_tasks = [t for t in self.state.tasks.values() if t.stage == Stage.launch and t.required]
        if self.definition.launch.proceed_with_open_items and launch_tasks:
            last = max(t.due_at for t in launch_tasks)
            try:
                await workflow.wait_condition(self._launch_ready, timeout=max(last - workflow.now(), timedelta(0)),
                                              timeout_summary="launch deadline: proceed with open items")
            except asyncio.TimeoutError:
                self._log("launch_with_open_items", detail=", ".join(t.title for t in launch_tasks if t.is_open))
        else:
            await workflow.wait_condition(self._launch_ready)
        now = workflow.now()
        self.state.launched_at = now
        self.state.term_started_at = now
        self._enter(Stage.active, "Launched")

    # ------------------------------------------------------------------ operating: reviews, renewal

    async def _operate(self) -> None:
        """The active years: every cadence, the renewal and all open tasks, until the partnership
        closes or its history should continue as new."""
        self._stage_available = True
        loops = [asyncio.create_task(self.reviews.run(kind)) for kind in ReviewKind]
        if self.definition.renewal is not None:
            loops.append(asyncio.create_task(self._renewals()))
        self._set_detail(self._operating_detail())
        while self.state.stage in (Stage.active, Stage.renewal) and not self._history_is_long():
            self._chase_open_tasks()
            await workflow.wait_condition(
                lambda: self.state.stage not in (Stage.active, Stage.renewal) or self._history_is_long()
                or self._unchased()
            )
        if not self._history_is_long():
            for loop in loops:
                loop.cancel()
        # Continuing as new, the loops are left as they are: their timers simply end with this
        # run (cancelling them would add commands to the run's last workflow task for nothing).

    def _operating_detail(self) -> str:
        upcoming = sorted((r for r in self.state.reviews.values() if r.opened_at is None), key=lambda r: r.scheduled_for)
        if not upcoming:
            return "Active"
        nxt = upcoming[0]
        return f"Active; next: {nxt.kind.title} #{nxt.n} on {nxt.scheduled_for:%Y-%m-%d}"

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() >= self._history_limit

    def _track(self, future: asyncio.Future) -> None:
        self._in_flight = [f for f in self._in_flight if not f.done()]
        self._in_flight.append(future)

    def _operating(self) -> bool:
        return self.state.stage in (Stage.launch, Stage.active, Stage.renewal)

    async def _continue_as_new(self) -> None:
        """Hand over to a new run carrying the state. Wait until no review is half opened or
        closed, no email or child start is in flight (so none is cut off and sent again) and
        no handler runs (so no update loses its answer)."""
        def quiet() -> bool:
            return (self.reviews.busy == 0 and all(f.done() for f in self._in_flight)
                    and workflow.all_handlers_finished())

        while not quiet():
            await workflow.wait_condition(quiet)
        self._log("continued_as_new", detail=f"Run {self.state.runs} hands over at "
                  f"{workflow.info().get_current_history_length()} history events")
        self.state.runs += 1
        workflow.continue_as_new(PartnershipInput(definition=self.definition, state=self.state, history_limit=self._history_limit))

    async def _renewals(self) -> None:
        renewal = self.definition.renewal
        assert renewal is not None and self.state.term_started_at is not None
        while True:
            term_ends = renewal.term.after(self.state.term_started_at)
            decide_at = renewal.notice.before(term_ends)
            if decide_at > workflow.now():
                await workflow.sleep(decide_at - workflow.now(), summary=f"renewal decision for term {self.state.term + 1}")
            if self.state.stage == Stage.active:
                self._enter(Stage.renewal, f"Term {self.state.term} ends {term_ends:%Y-%m-%d}: renewal decision")
            outcome = await self._approval(
                f"renewal-{self.state.term}", f"Renewal for term {self.state.term + 1}", renewal.approval,
                renewal.approval.approvers, Stage.renewal,
            )
            if outcome == ApprovalOutcome.approved:
                self.state.term += 1
                self.state.term_started_at = term_ends
                self._enter(Stage.active, f"Renewed: term {self.state.term} starts {term_ends:%Y-%m-%d}")
                continue
            if term_ends > workflow.now():
                self._set_detail(f"Not renewed ({outcome.value}): the partnership closes at the end of its term, {term_ends:%Y-%m-%d}")
                await workflow.sleep(term_ends - workflow.now(), summary="end of the last term")
            self._close("accord", f"Term {self.state.term} ended without renewal ({outcome.value})")
            return

    def _close(self, actor: str, reason: str) -> None:
        self.state.closed_at = workflow.now()
        self.state.closure_reason = reason
        for task in self.state.open_tasks():
            task.status = TaskStatus.waived
        self._enter(Stage.closed, reason)
        self._log("closed", actor=actor, detail=reason)

    async def _archive(self) -> None:
        """Closure archives: the audit export of the whole partnership, stored content-addressed."""
        for record in self.state.open_escalations():
            if record.workflow_id:
                await workflow.get_external_workflow_handle(record.workflow_id).signal(
                    "request_withdrawal", Withdraw(actor="accord", reason="The partnership is closed.", channel=Channel.temporal)
                )
        stored: StoredDocument = await workflow.execute_activity(
            "archive_partnership",
            ArchiveRequest(workflow_id=workflow.info().workflow_id, definition=self.definition, state=self.state),
            result_type=StoredDocument,
            start_to_close_timeout=timedelta(minutes=2),
            summary="archive the audit export",
        )
        self.state.archive_hash = stored.hash
        self._log("archived", detail=f"Audit export stored, sha256 {stored.hash[:12]}…")
        self._publish()

    # ------------------------------------------------------------------ amendments

    def _amendment_rules(self) -> tuple[ApprovalRules, list[str]]:
        if self.definition.mou is not None:
            return self.definition.mou, self.definition.mou.signatories
        return self.definition.screening.go_no_go, self.definition.screening.go_no_go.approvers

    def _party_approvals(self, amended: PartnershipDefinition, approvers: list[str]) -> approvals.PartyApprovals | None:
        """Rules 1: the parties whose people the amendment changes must approve it themselves."""
        if self.state.rules_version < 1:
            return None
        return approvals.party_approvals(self.definition, amended, approvers)

    def _party_names(self, party_ids: list[str]) -> str:
        names = {p.id: p.name for p in self.definition.parties}
        return ", ".join(names.get(p, p) for p in party_ids)

    async def _amendments(self) -> None:
        """Each proposed amendment goes through the approval mechanism, then applies in place."""
        while True:
            await workflow.wait_condition(lambda: self._pending_amendment() is not None or bool(self._refusals))
            while self._refusals:
                record = self._refusals.pop(0)
                await self._answer_escalation(record, AmendmentDecided(amendment_id="", applied=False, outcome="refused"))
            amendment = self._pending_amendment()
            if amendment is None:
                continue
            rules, approvers = self._amendment_rules()
            outcome = await self._approval(amendment.id, f"Amendment {amendment.id.split('-')[-1]}: {amendment.reason[:80]}",
                                           rules, approvers, self.state.stage,
                                           parties=self._party_approvals(amendment.definition, approvers))
            amendment.decided_at = workflow.now()
            if outcome == ApprovalOutcome.approved:
                amendment.status = AmendmentStatus.applied
                self.definition = amendment.definition
                self.people = self.definition.stakeholders()
                self.state.name = self.definition.name
                self._log("amendment_applied", detail=f"{amendment.id}: {'; '.join(amendment.changes)[:400]}",
                          data={"amendment": amendment.id})
            else:
                amendment.status = AmendmentStatus.rejected
                self._log("amendment_rejected", detail=f"{amendment.id}: {outcome.value}", data={"amendment": amendment.id})
            self._publish()
            record = next((e for e in self.state.escalations if e.id == amendment.escalation_id), None)
            if record is not None:
                await self._answer_escalation(record, AmendmentDecided(
                    amendment_id=amendment.id, applied=amendment.status == AmendmentStatus.applied, outcome=outcome.value))

    async def _answer_escalation(self, record: EscalationRecord, decided: AmendmentDecided) -> None:
        if record.workflow_id:
            await workflow.get_external_workflow_handle(record.workflow_id).signal(AMENDMENT_SIGNAL, decided)

    def _amendment_from_escalation(self, record: EscalationRecord, text: str) -> None:
        """A resolution proposed an amendment: it goes to approval like any other (the escalation
        validated it; if it no longer fits, refuse it back to the escalation)."""
        try:
            amended = loader.parse(text, "amendment", **self._amendment_checks())
            if self._pending_amendment() is not None:
                raise ValueError("another amendment is in approval")
            if not diff.changes(self.definition, amended):
                raise ValueError("it is the same as the definition in force")
        except (loader.DefinitionError, ValueError) as exc:
            workflow.logger.warning("amendment from %s refused: %s", record.id, exc)
            self._log("amendment_refused", detail=f"{record.id}: {exc}"[:500])
            self._refusals.append(record)
            return
        self._add_amendment(amended, f"escalation {record.id}", f"Resolution of {record.id}", Channel.temporal, record.id)

    def _amendment_checks(self) -> dict:
        """How this partnership judges an amended definition: by the rules it runs under (a
        partnership started before v0.5 keeps the old checks) and its deployment's durations."""
        return {"rules": self.state.rules_version, "allow_short": self.state.allow_short_durations}

    def _pending_amendment(self) -> Amendment | None:
        return next((a for a in self.state.amendments if a.status == AmendmentStatus.pending), None)

    def _add_amendment(self, definition: PartnershipDefinition, actor: str, reason: str, channel: Channel,
                       escalation_id: str | None = None) -> Amendment:
        amendment = Amendment(
            id=f"amendment-{len(self.state.amendments) + 1}", proposed_by=actor, reason=reason, channel=channel,
            proposed_at=workflow.now(), definition=definition, changes=diff.changes(self.definition, definition),
            escalation_id=escalation_id,
        )
        self.state.amendments.append(amendment)
        self._log("amendment_proposed", actor=actor, detail=f"{amendment.id}: {reason}", data={"amendment": amendment.id})
        self._publish()
        return amendment

    # ------------------------------------------------------------------ screening

    def _open_screening_tasks(self) -> None:
        screening = self.definition.screening
        start = self.state.stage_started_at
        for item in screening.checklist:
            self._open_task(
                item.id, TaskKind.checklist, item.title, item.owner, item.due.after(start), item.description, item.required
            )
        if screening.alignment:
            for who in screening.alignment.participants:
                self._open_task(
                    _statement_task(who),
                    TaskKind.statement,
                    "Goal-alignment statement",
                    who,
                    screening.alignment.due.after(start),
                    screening.alignment.prompt,
                )

    async def _screening(self) -> None:
        screening = self.definition.screening
        self._open_screening_tasks()
        self._publish()
        chasers = [
            asyncio.create_task(self._chase_task(task.id)) for task in self.state.tasks.values() if task.is_open
        ]
        if screening.alignment:
            chasers.append(asyncio.create_task(self._alignment_check()))

        await workflow.wait_condition(self._screening_ready)
        self._set_detail("Screening complete; waiting for the go/no-go decision")
        outcome = await self._approval(
            GO_NO_GO, "Go/no-go decision", screening.go_no_go, screening.go_no_go.approvers, Stage.screening
        )
        for chaser in chasers:
            chaser.cancel()
        if outcome == ApprovalOutcome.approved:
            self._enter(Stage.mou if self.definition.mou else Stage.launch, "Go decision: screening passed")
        else:
            self._enter(Stage.rejected, f"No-go: the go/no-go approval ended {outcome.value}")

    def _screening_ready(self) -> bool:
        tasks_done = all(
            not t.is_open or not t.required
            for t in self.state.tasks.values()
            if t.stage == Stage.screening and t.kind == TaskKind.checklist
        )
        return tasks_done and (self.definition.screening.alignment is None or self.state.alignment.passed)

    async def _alignment_check(self) -> None:
        check = self.definition.screening.alignment
        assert check is not None
        participants = set(check.participants)
        while not self.state.alignment.passed:
            seen = self._statement_revisions()
            await workflow.wait_condition(
                lambda: self.state.alignment.overridden_by is not None
                or participants <= set(self.state.alignment.statements)
            )
            if self.state.alignment.overridden_by is not None:
                return
            score = alignment.score(
                {s.stakeholder: (s.party, s.text) for s in self.state.alignment.statements.values()}
            )
            blocked = score.blocked(check.threshold)
            self.state.alignment.result = AlignmentResult(
                divergence=score.divergence,
                across_parties=score.across_parties,
                within_party=score.within_party,
                threshold=check.threshold,
                blocked=blocked,
                computed_at=workflow.now(),
            )
            self._log(
                "alignment_scored",
                detail=f"Goal statements diverge by {score.divergence:.2f} (threshold {check.threshold:.2f})",
                data={"divergence": score.divergence, "blocked": blocked},
            )
            if not blocked:
                self._publish()
                return
            self._set_detail(
                f"Blocked: goal statements diverge by {score.divergence:.2f} (> {check.threshold:.2f}); "
                "stakeholders must revise or an approver override"
            )
            round_no = self._statement_revisions()
            await asyncio.gather(
                *(
                    self._email(
                        f"alignment-blocked/{round_no}",
                        who,
                        "action_request",
                        f"Goal statements diverge: please revise yours ({self.definition.name})",
                        {
                            "ask": "The stakeholders' statements of the partnership's primary goal diverge too much "
                            "to proceed. Please read the others' statements and revise yours, or agree one wording.",
                            "due_at": self.state.tasks[_statement_task(who)].due_at,
                            "consequence": "Screening stays blocked until the statements converge or an approver "
                            "overrides the check with a reason.",
                            "statements": [s.model_dump(mode="json") for s in self.state.alignment.statements.values()],
                            "action_label": "Revise my statement",
                        },
                        ActionLink(action="statement", ref=_statement_task(who), round=round_no, expires_at=self._link_expiry(workflow.now() + timedelta(days=14))),
                    )
                    for who in sorted(participants)
                )
            )
            trigger = self.definition.escalation.triggers.alignment
            if trigger.enabled:
                await self._raise(
                    "alignment",
                    "alignment-check",
                    f"Goal statements diverge by {score.divergence:.2f} (threshold {check.threshold:.2f})",
                    trigger.level,
                )
            await workflow.wait_condition(
                lambda: self._statement_revisions() > seen or self.state.alignment.overridden_by is not None
            )

    def _statement_revisions(self) -> int:
        return sum(s.revision for s in self.state.alignment.statements.values())

    # ------------------------------------------------------------------ MOU

    def _mou_rules(self) -> ApprovalRules:
        assert self.definition.mou is not None
        return self.definition.mou

    async def _mou_stage(self) -> None:
        mou = self.definition.mou
        assert mou is not None
        if not self.state.mou.versions:
            await self._add_mou_version("generated", "accord", "First draft")
        while True:
            outcome = await self._approval(
                MOU, "MOU signature", mou, mou.signatories, Stage.mou, self.state.mou.current
            )
            if outcome == ApprovalOutcome.approved:
                self.state.mou.signed_at = workflow.now()
                self._enter(Stage.launch, f"MOU version {self.state.mou.current.version} signed by every required signatory")
                return
            if outcome != ApprovalOutcome.changes_requested:
                self._enter(Stage.terminated, f"MOU not signed: the signature round ended {outcome.value}")
                return
            approval = self.state.approvals[MOU]
            if approval.round >= mou.max_rounds:
                self._enter(Stage.terminated, f"MOU not agreed after {approval.round} review rounds")
                return
            self.state.mou.awaiting_revision = True
            comments = [f"{d.actor}: {d.comment}" for d in approval.decisions_in_round() if d.comment]
            self._set_detail(f"Changes requested on MOU version {self.state.mou.current.version}: waiting for ops to revise")
            await self._email_ops(
                f"mou-changes/{approval.round}",
                f"Changes requested on the MOU: {self.definition.name}",
                {
                    "heading": "The MOU needs a revision",
                    "body": "Signatories asked for changes: " + " | ".join(comments)
                    + f". Upload a revised version (accord mou upload {workflow.info().workflow_id} FILE) "
                    f"or regenerate it from the definition (accord mou regenerate {workflow.info().workflow_id}).",
                    "consequence": f"The MOU stays unsigned. Round {approval.round} of {mou.max_rounds}.",
                },
            )
            await workflow.wait_condition(lambda: not self.state.mou.awaiting_revision)

    async def _add_mou_version(self, source: str, author: str, note: str, markdown: str | None = None) -> DocumentVersion:
        version = len(self.state.mou.versions) + 1
        if markdown is None:
            stored: StoredDocument = await workflow.execute_activity(
                "render_mou",
                RenderMouRequest(workflow_id=workflow.info().workflow_id, definition=self.definition, version=version, note=note),
                result_type=StoredDocument,
                start_to_close_timeout=timedelta(minutes=1),
                summary=f"render MOU version {version}",
            )
        else:
            stored = await workflow.execute_activity(
                "store_document",
                StoreDocumentRequest(markdown=markdown),
                result_type=StoredDocument,
                start_to_close_timeout=timedelta(minutes=1),
                summary=f"store uploaded MOU version {version}",
            )
        document = DocumentVersion(
            version=version, hash=stored.hash, created_at=workflow.now(), source=source, author=author, note=note
        )
        self.state.mou.versions.append(document)
        self._log("mou_version", actor=author, detail=f"MOU version {version} ({source}) sha256 {stored.hash[:12]}…",
                  data={"version": version, "hash": stored.hash})
        return document

    # ------------------------------------------------------------------ tasks

    def _open_task(
        self,
        task_id: str,
        kind: TaskKind,
        title: str,
        owner: str,
        due_at: datetime,
        description: str = "",
        required: bool = True,
    ) -> None:
        if task_id in self.state.tasks:
            return  # resumed after continue-as-new: the task already exists
        self.state.tasks[task_id] = Task(
            id=task_id,
            kind=kind,
            stage=self.state.stage,
            title=title,
            description=description,
            owner=owner,
            created_at=workflow.now(),
            due_at=due_at,
            required=required,
        )
        self._log("task_opened", detail=f"{title} assigned to {owner}, due {due_at:%Y-%m-%d %H:%M} UTC")

    def _task_policy(self, task: Task) -> Reminders:
        if task.kind == TaskKind.statement and self.definition.screening.alignment:
            return self.definition.reminders_for(self.definition.screening.alignment.reminders)
        items: list[ChecklistItem] = [*self.definition.screening.checklist, *self.definition.launch.checklist]
        item = next((c for c in items if c.id == task.id), None)
        return self.definition.reminders_for(item.reminders if item else None)

    def _unchased(self) -> list[Task]:
        """Open tasks after screening that nobody chases yet (new ones, or all of them after continue-as-new)."""
        chased_kinds = (TaskKind.checklist, TaskKind.baseline, TaskKind.deliverable, TaskKind.action, TaskKind.diagnostic)
        return [t for t in self.state.open_tasks()
                if t.id not in self._chased and t.stage != Stage.screening and t.kind in chased_kinds]

    def _chase_open_tasks(self) -> None:
        for task in self._unchased():
            self._chased.add(task.id)
            asyncio.create_task(self._chase_task(task.id))

    async def _chase_task(self, task_id: str) -> None:
        task = self.state.tasks[task_id]
        await self._email_task(task, "assigned")

        async def nudge(n: chasing.Nudge) -> None:
            if n.kind == chasing.NudgeKind.escalate:
                task.escalated = True
                if self.definition.escalation.triggers.overdue.enabled:
                    await self._raise(
                        "overdue",
                        task.id,
                        f"'{task.title}' ({task.owner}) is overdue since {task.due_at:%Y-%m-%d}",
                        self.definition.escalation.triggers.overdue.level,
                    )
                return
            if n.kind == chasing.NudgeKind.overdue and not task.overdue:
                task.overdue = True
                self._log("task_overdue", detail=f"'{task.title}' is overdue", data={"task": task.id})
                self._publish()
            task.reminders_sent.append(workflow.now())
            await self._email_task(task, n.kind.value, len(task.reminders_sent))

        await self._chase(task.created_at, task.due_at, self._task_policy(task), lambda: not task.is_open, nudge, task.title)

    async def _email_task(self, task: Task, why: str, n: int = 0) -> None:
        heading = {
            "assigned": "A task for you",
            "reminder": "Reminder",
            "overdue": "Overdue",
        }[why]
        statement = task.kind == TaskKind.statement
        await self._email(
            f"task/{task.id}/{why}/{n}",
            task.owner,
            "action_request",
            f"{heading}: {task.title} ({self.definition.name})",
            {
                "heading": heading,
                "ask": task.description or task.title,
                "due_at": task.due_at,
                "overdue": why == "overdue",
                "consequence": (
                    "If it is still open after its reminders, it is escalated to "
                    f"{self.definition.escalation.ladder[0].name}."
                ),
                "action_label": "Write my statement" if statement else "Complete this task",
            },
            ActionLink(
                action="statement" if statement else "task",
                ref=task.id,
                expires_at=self._link_expiry(task.due_at),
            ),
        )

    # ------------------------------------------------------------------ approvals

    async def _approval(
        self, approval_id: str, title: str, spec: ApprovalRules, approvers: list[str], stage: Stage,
        document: DocumentVersion | None = None, parties: approvals.PartyApprovals | None = None,
    ) -> ApprovalOutcome:
        """Run one approval to its outcome: ask, remind, and escalate or fail at the deadline.

        A revision of the document starts a new round (see ``_start_round``): the round
        in progress is abandoned and the new one runs, with new links for everyone.
        ``parties``: parties whose own approval is needed besides the policy (amendments).
        """
        approval = self.state.approvals.get(approval_id)
        if approval is None:
            now = workflow.now()
            parties = parties or approvals.PartyApprovals()
            approval = ApprovalState(
                id=approval_id,
                title=title,
                stage=stage,
                approvers=[*approvers, *(a for a in parties.added if a not in approvers)],
                parties=parties.parties,
                party_approvers=[a for a in parties.added if a not in approvers],
                policy=spec.policy.value,
                quorum=spec.quorum,
                opened_at=now,
                deadline_at=spec.deadline.after(now),
                allow_delegation=spec.allow_delegation,
                document_version=document.version if document else None,
                document_hash=document.hash if document else None,
            )
            self.state.approvals[approval_id] = approval
            self._log("approval_opened", detail=f"{title}: {', '.join(approval.approvers)} by {approval.deadline_at:%Y-%m-%d}"
                      + (f"; {self._party_names(list(approval.parties))} must approve too (their people change)"
                         if approval.parties else ""))
        while True:
            round_no = approval.round
            await self._approval_round(approval, spec, round_no)
            if approval.round == round_no:
                break
        self._log("approval_closed", detail=f"{title}: {approval.outcome.value}", data={"approval": approval.id})
        return approval.outcome

    async def _approval_round(self, approval: ApprovalState, spec: ApprovalRules, round_no: int) -> None:
        asked: set[str] = set()

        def evaluation() -> approvals.Evaluation:
            return approvals.of(approval)

        def superseded() -> bool:
            return approval.round != round_no

        async def ask_new() -> None:
            waiting = [w for w in evaluation().waiting_on if w not in asked]
            asked.update(waiting)
            await asyncio.gather(*(self._email_decision(approval, who, "request") for who in waiting))

        async def nudge(n: chasing.Nudge) -> None:
            if n.kind == chasing.NudgeKind.overdue and spec.on_timeout.value == "fail":
                approval.outcome = ApprovalOutcome.timed_out
                return
            if n.kind == chasing.NudgeKind.escalate:
                await self._raise("overdue", approval.id, f"'{approval.title}' is past its deadline", self.definition.escalation.triggers.overdue.level)
                return
            approval.reminders_sent.append(workflow.now())
            await asyncio.gather(
                *(self._email_decision(approval, who, n.kind.value, len(approval.reminders_sent)) for who in evaluation().waiting_on)
            )

        def done() -> bool:
            return superseded() or approval.outcome != ApprovalOutcome.pending or evaluation().outcome != ApprovalOutcome.pending

        def seen() -> tuple[int, tuple[str, ...]]:
            return len(approval.decisions), tuple(approval.approvers)

        self._set_detail(f"{approval.title}: waiting on {', '.join(evaluation().waiting_on)}")
        if workflow.patched(PATCH_FOLLOW_EARLY_DECISIONS):
            # Taken before asking: a decision or delegation that lands while the first
            # emails go out must still be followed up (v0.1 missed it).
            last = seen()
            await ask_new()
        else:
            await ask_new()
            last = seen()

        async def follow_decisions() -> None:
            # Each decision or delegation may make someone new due (the next signer, a delegate).
            nonlocal last
            while not done():
                await workflow.wait_condition(lambda: seen() != last or done())
                last = seen()
                if not done():
                    self._set_detail(f"{approval.title}: waiting on {', '.join(evaluation().waiting_on)}")
                    await ask_new()

        follower = asyncio.create_task(follow_decisions())
        await self._chase(approval.opened_at, approval.deadline_at, self.definition.reminders_for(spec.reminders), done, nudge, approval.title)
        await follower
        if not superseded() and approval.outcome == ApprovalOutcome.pending:
            approval.outcome = evaluation().outcome

    def _start_round(self, approval: ApprovalState, deadline: Duration, document: DocumentVersion | None) -> None:
        """A new round over a new document version: old links stop working (their round is stale)."""
        now = workflow.now()
        approval.round += 1
        approval.opened_at = now
        approval.deadline_at = deadline.after(now)
        approval.outcome = ApprovalOutcome.pending
        approval.reminders_sent = []
        if document is not None:
            approval.document_version, approval.document_hash = document.version, document.hash
        self._log("round_started", detail=f"{approval.title}: round {approval.round}"
                  + (f" on version {document.version}" if document else ""), data={"approval": approval.id})

    async def _email_decision(self, approval: ApprovalState, who: str, why: str, n: int = 0) -> None:
        await self._email(
            f"approval/{approval.id}/{approval.round}/{why}/{n}",
            who,
            "action_request",
            f"{'Decision needed' if why == 'request' else why.capitalize()}: {approval.title} ({self.definition.name})",
            {
                "heading": "Your decision is needed" if why == "request" else f"{why.capitalize()}: your decision",
                "ask": f"{approval.title}: approve or reject." if approval.document_hash is None and self.state.rules_version >= 1
                else f"{approval.title}: approve, reject, or request changes.",
                "due_at": approval.deadline_at,
                "overdue": why == "overdue",
                "consequence": "If no decision arrives by the deadline, it is escalated."
                if approval.outcome == ApprovalOutcome.pending
                else "",
                "action_label": "Review and decide",
                "approvers": approval.approvers,
            },
            ActionLink(action="decision", ref=approval.id, round=approval.round, expires_at=self._link_expiry(approval.deadline_at)),
        )

    # ------------------------------------------------------------------ chasing, escalation, email

    async def _chase(
        self,
        assigned_at: datetime,
        due_at: datetime,
        policy: Reminders,
        done: Callable[[], bool],
        on_nudge: Callable[[chasing.Nudge], Awaitable[None]],
        what: str,
    ) -> None:
        """Wait until ``done()``, acting on every reminder, overdue and escalation point on the way."""
        after = workflow.now()
        while not done():
            nudge = chasing.next_nudge(assigned_at, due_at, policy, after)
            if nudge is None:
                await workflow.wait_condition(done)
                return
            wait = nudge.at - workflow.now()
            if wait > timedelta(0):
                try:
                    await workflow.wait_condition(done, timeout=wait, timeout_summary=f"{nudge.kind.value}: {what}")
                    return
                except asyncio.TimeoutError:
                    pass
            after = nudge.at
            await on_nudge(nudge)

    async def _raise(self, trigger: str, subject: str, reason: str, level: int, *, raised_by: str = "accord",
                     channel: Channel = Channel.temporal, severity: str = "normal") -> EscalationRecord:
        """Open an escalation, or return the open one for the same trigger and subject."""
        existing = next((e for e in self.state.open_escalations() if e.trigger == trigger and e.subject == subject), None)
        if existing:
            return existing
        record = EscalationRecord(
            id=f"esc-{len(self.state.escalations) + 1}",
            trigger=trigger,
            subject=subject,
            reason=reason,
            level=min(level, len(self.definition.escalation.ladder)),
            severity=severity,
            raised_by=raised_by,
            channel=channel,
            opened_at=workflow.now(),
        )
        self.state.escalations.append(record)
        self._log("escalation_opened", actor=raised_by, detail=f"{trigger}: {reason}", data={"escalation": record.id, "level": record.level})
        if workflow.patched(PATCH_ESCALATION_CHILD):
            # The escalation climbs its ladder in its own workflow, visible on its own in the
            # UI; it outlives this run's continue-as-new (ABANDON) and reports back by signal.
            record.workflow_id = escalation_workflow_id(workflow.info().workflow_id, self.state.chain_id, record.id)
            start = workflow.start_child_workflow(
                EscalationWorkflow.run,
                EscalationInput.from_record(record, workflow.info().workflow_id, self.definition, self.state.rules_version,
                                            self.state.allow_short_durations),
                id=record.workflow_id,
                parent_close_policy=ParentClosePolicy.ABANDON,
                static_summary=f"Escalation {record.id} ({trigger}) on {self.definition.name}: {reason[:120]}",
            )
            if self._operating():
                # Shielded and tracked like operating-stage emails (see _continue_as_new).
                started = asyncio.ensure_future(start)
                self._track(started)
                await asyncio.shield(started)
            else:
                await start
            self._publish()
            return record
        self._publish()
        ladder_level = self.definition.escalation.ladder[record.level - 1]
        await asyncio.gather(
            *(
                self._email(
                    f"escalation/{record.id}/level-{record.level}",
                    who,
                    "notice",
                    f"Escalation ({ladder_level.name}): {self.definition.name}",
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

    def _recipient(self, who: str) -> Recipient:
        person = self.people[who]
        return Recipient(id=person.id, name=person.name, email=person.email)

    async def _email(
        self,
        purpose: str,
        to: str | Recipient,
        template: str,
        subject: str,
        context: dict,
        action: ActionLink | None = None,
        invitation: dict | None = None,
    ) -> None:
        if isinstance(to, str):
            to = self._recipient(to)
        receipt = await mailing.send(
            chain_id=self.state.chain_id, purpose=purpose, to=to, template=template, subject=subject,
            context=context, partnership=self.definition.name, action=action,
            invitation=Invitation(
                uid=invitation["uid"], title=invitation["title"], start=invitation["start"],
                minutes=invitation["minutes"], organizer=self.definition.ops[0].email,
                attendees=[self._recipient(w) for w in invitation["attendees"]],
                agenda=context.get("agenda", []),
            ) if invitation else None,
            track=self._track if self._operating() else None,
            started=self._sending_started,
        )
        if receipt.status == "failed":
            await self._unreachable(to.id, f"email refused: {receipt.error}", purpose)

    def _sending_started(self, key: str, handle: asyncio.Future) -> None:
        self._sending.add(key)
        handle.add_done_callback(lambda done: self._sending_ended(key, done))

    def _sending_ended(self, key: str, done: asyncio.Future) -> None:
        """An email's activity ended (sent, refused or cancelled): it is no longer delayed."""
        self._sending.discard(key)
        delay = self.state.email_delays.pop(key, None)
        if delay is None:
            return  # the usual case: no command here, so histories without delays replay as before
        ended = mailing.how_it_ended(done)
        self._log("email_delay_ended", detail=f"Email to {delay.recipient} ({mailing.purpose_of(key)}), delayed since "
                  f"{delay.since:%Y-%m-%d %H:%M} UTC: {ended}", data={"to": delay.recipient, "send_key": key})
        self._publish()

    @workflow.signal
    async def email_delayed(self, delay: EmailDelay | None) -> None:
        """The email activity says an email of this run is still failing past the alert time
        (sent once per send key). It is recorded; ops are told by email (rules 1)."""
        delay = mailing.valid_delay(delay, self.state.chain_id)
        if delay is None or delay.send_key not in self._sending:
            # A signal cannot be refused; an email no longer in flight has nothing to report.
            workflow.logger.warning("email_delayed ignored: not an email of this run in flight")
            return
        if delay.send_key in self.state.email_delays:
            return
        first = not self.state.email_delays
        self.state.email_delays[delay.send_key] = delay
        self._log("email_delayed", detail=f"Email to {delay.recipient} ({mailing.purpose_of(delay.send_key)}) delayed "
                  f"since {delay.since:%Y-%m-%d %H:%M} UTC: {delay.error or 'no answer'}",
                  data={"to": delay.recipient, "send_key": delay.send_key})
        self._publish()
        # One notice per outage (the status lists the rest), never about ops' own email.
        if self.state.rules_version < 1 or not first or delay.recipient.startswith("ops"):
            return
        person = self.people.get(delay.recipient)
        who = f"{person.name} ({person.id})" if person else delay.recipient
        subject, context = mailing.delay_notice(delay, who, self.definition.name)
        notice = asyncio.ensure_future(self._email_ops(f"email-delayed/{mailing.purpose_of(delay.send_key)}/{delay.recipient}",
                                                       subject, context))
        self._track(notice)
        await asyncio.shield(notice)

    async def _unreachable(self, who: str, why: str, purpose: str) -> None:
        """A permanent delivery failure: keep it in the record and tell ops, never drop it silently."""
        self._log("email_failed", detail=f"Could not reach {who}: {why}", data={"to": who, "purpose": purpose})
        self.state.unreachable = sorted({*self.state.unreachable, who})
        self._publish()
        if who.startswith("ops"):
            return
        notice = self._email_ops(
            f"unreachable/{who}/{purpose}",
            f"Cannot reach {who}: {self.definition.name}",
            {"heading": f"{who} is unreachable by email", "body": f"{why}. The message was: {purpose}.",
             "consequence": "Nobody receives this request until the address is fixed in the definition."},
        )
        if workflow.patched(PATCH_OPS_NOTICES):
            sending = asyncio.ensure_future(notice)
            self._track(sending)
            await asyncio.shield(sending)
        else:
            await notice

    async def _email_ops(self, purpose: str, subject: str, context: dict) -> None:
        await asyncio.gather(
            *(
                self._email(purpose, Recipient(id=f"ops-{i}", name=o.name, email=o.email), "notice", subject, context)
                for i, o in enumerate(self.definition.ops)
            )
        )

    def _link_expiry(self, due_at: datetime) -> datetime:
        return due_at + LINK_GRACE

    # ------------------------------------------------------------------ bookkeeping

    def _enter(self, stage: Stage, why: str) -> None:
        self._log("stage_changed", detail=f"{self.state.stage.value} -> {stage.value}: {why}")
        self.state.stage = stage
        self.state.stage_started_at = workflow.now()
        self.state.detail = why
        self._stage_available = True
        self._publish()

    def _set_detail(self, detail: str) -> None:
        self.state.detail = detail
        self._publish()

    def _log(self, kind: str, *, actor: str = "accord", detail: str = "", data: dict | None = None) -> None:
        self.state.timeline.append(Event(at=workflow.now(), kind=kind, actor=actor, detail=detail, data=data or {}))
        # The state travels through continue-as-new and every query: keep the recent trail only.
        # Decisions, documents, reviews, metrics and escalations keep their full record elsewhere.
        del self.state.timeline[:-MAX_TIMELINE]

    def _publish(self) -> None:
        """Mirror the state into search attributes and the UI's current details."""
        self.state.health = health.assess(self.state, self._stage_available)
        deadline = self.state.next_deadline()
        levels = [e.level for e in self.state.open_escalations()]
        values = {
            sa.STAGE: self.state.stage.value,
            sa.STATUS: self.state.health.value,
            sa.ESCALATION_LEVEL: max(levels, default=0),
            sa.PARTNERSHIP: self.definition.name,
            sa.NEXT_DEADLINE: deadline,
        }
        if workflow.patched(PATCH_CHANGED_ATTRIBUTES):
            values = {key: value for key, value in values.items() if self._attributes.get(key.name, _UNSET) != value}
            self._attributes.update((key.name, value) for key, value in values.items())
        if values:
            workflow.upsert_search_attributes(
                [key.value_set(value) if value is not None else key.value_unset() for key, value in values.items()])
        workflow.set_current_details(self._details_markdown())
        telemetry.observe_partnership(self)  # metrics and logs only: no workflow commands

    def _details_markdown(self) -> str:
        s = self.state
        lines = [f"**Stage:** {s.stage.value} · **Status:** {s.health.value}", "", s.detail or ""]
        open_tasks = s.open_tasks()
        if open_tasks:
            lines += ["", "**Open tasks**"]
            lines += [
                f"- {t.title} — {t.owner}, due {t.due_at:%Y-%m-%d %H:%M} UTC{' (OVERDUE)' if t.overdue else ''}"
                for t in sorted(open_tasks, key=lambda t: t.due_at)
            ]
        pending = [a for a in s.approvals.values() if a.outcome == ApprovalOutcome.pending]
        for a in pending:
            evaluation = approvals.of(a)
            waiting = ", ".join(evaluation.waiting_on) or "nobody"
            lines += ["", f"**{a.title}** (round {a.round}): waiting on {waiting} until {a.deadline_at:%Y-%m-%d %H:%M} UTC"]
            if evaluation.parties_waiting:
                lines.append(f"Still to approve for their party: {self._party_names(evaluation.parties_waiting)}")
        if s.open_escalations():
            lines += ["", f"**Open escalations:** {len(s.open_escalations())}"]
        if s.email_delays:
            lines += ["", "**Emails delayed** (the mail provider keeps failing)"]
            lines += [f"- to {d.recipient} since {d.since:%Y-%m-%d %H:%M} UTC" for d in s.email_delays.values()]
        return "\n".join(lines)

    # ------------------------------------------------------------------ queries

    @workflow.query
    def state(self) -> PartnershipState:
        return self.state

    @workflow.query
    def agenda(self) -> Agenda:
        """Reviews planned or open and approvals pending: what `state` says, without the years of record."""
        return Agenda(
            reviews=[r for r in self.state.reviews.values() if r.closed_at is None],
            approvals=[a.id for a in self.state.approvals.values() if a.outcome == ApprovalOutcome.pending],
            open_tasks=len(self.state.open_tasks()),
        )

    @workflow.query
    def definition(self) -> PartnershipDefinition:
        """The definition in force (names, roles, parties: the state refers to people by id)."""
        return self.definition

    # ------------------------------------------------------------------ updates

    @workflow.update
    @_once
    async def complete_task(self, completion: TaskCompletion) -> UpdateResult:
        async with self._lock:
            _recheck(self._validate_complete_task, completion)
            task = self.state.tasks[completion.task_id]
            task.status = TaskStatus.done
            task.completed_at = workflow.now()
            task.completed_by = completion.actor
            task.result = completion.result
            task.channel = completion.channel
            self._log("task_completed", actor=completion.actor, detail=f"{task.title}: {completion.result}"[:500],
                      data={"task": task.id, "channel": completion.channel.value})
            self._publish()
            return UpdateResult(message=f"'{task.title}' is marked done. Thank you.")

    @complete_task.validator
    @_once_validated
    def _validate_complete_task(self, completion: TaskCompletion) -> None:
        task = self.state.tasks.get(completion.task_id)
        if task is None or task.kind not in COMPLETABLE:
            hint = {
                TaskKind.statement: " It is a goal statement: submit the statement instead.",
                TaskKind.baseline: " It is a metric baseline: record the metric's value instead.",
                TaskKind.review_input: " It is a review input: send the review input instead.",
            }.get(task.kind, "") if task else ""
            raise ValueError(f"There is no task {completion.task_id!r} to complete in this partnership.{hint}")
        if completion.actor != task.owner and completion.channel not in (Channel.cli, Channel.api, Channel.temporal):
            raise ValueError("This task belongs to someone else.")
        if completion.actor not in self.people and completion.actor != "ops":
            raise ValueError(f"{completion.actor!r} is not a stakeholder of this partnership.")
        if not task.is_open:
            raise ValueError(
                f"This task was already completed by {task.completed_by} on {task.completed_at:%Y-%m-%d %H:%M} UTC."
            )
        _check_text(("The result", completion.result), ("The task id", completion.task_id))

    @workflow.update
    @_once
    async def submit_statement(self, submission: StatementSubmission) -> UpdateResult:
        async with self._lock:
            _recheck(self._validate_statement, submission)
            previous = self.state.alignment.statements.get(submission.stakeholder)
            if previous is not None and self.state.rules_version >= 1 and _same_words(previous.text, submission.text):
                # Rules 1: the same text is the same statement: not a revision, nobody emailed, no new score.
                return UpdateResult(message="Your statement is unchanged: it is the text you sent before, so it is not "
                                    "scored again. Revise its wording to bring it closer to the others'.")
            self.state.alignment.statements[submission.stakeholder] = Statement(
                stakeholder=submission.stakeholder,
                party=self.definition.party_of(submission.stakeholder).id,
                text=submission.text.strip(),
                at=workflow.now(),
                revision=previous.revision + 1 if previous else 1,
            )
            task = self.state.tasks[_statement_task(submission.stakeholder)]
            if task.is_open:
                task.status = TaskStatus.done
                task.completed_at = workflow.now()
                task.completed_by = submission.stakeholder
                task.channel = submission.channel
            self._log("statement_submitted", actor=submission.stakeholder,
                      detail="Goal statement " + ("revised" if previous else "submitted"),
                      data={"channel": submission.channel.value})
            self._publish()
            return UpdateResult(message="Your statement is recorded." if not previous else "Your revised statement is recorded.")

    @submit_statement.validator
    @_once_validated
    def _validate_statement(self, submission: StatementSubmission) -> None:
        check = self.definition.screening.alignment
        if check is None or submission.stakeholder not in check.participants:
            raise ValueError(f"{submission.stakeholder!r} is not asked for a goal statement in this partnership.")
        if self.state.stage != Stage.screening or self.state.alignment.passed:
            raise ValueError("The goal-alignment check is closed.")
        if not submission.text.strip():
            raise ValueError("The statement is empty.")
        if len(submission.text) > 2000:
            raise ValueError("Two sentences, please: the statement is longer than 2,000 characters.")
        previous = self.state.alignment.statements.get(submission.stakeholder)
        blocked = self.state.alignment.result is not None and self.state.alignment.result.blocked
        if previous is not None and not blocked:
            raise ValueError("Your statement is already recorded; revisions open only if the statements diverge.")

    @workflow.update
    @_once
    async def override_alignment(self, override: AlignmentOverride) -> UpdateResult:
        async with self._lock:
            _recheck(self._validate_override, override)
            self.state.alignment.overridden_by = override.actor
            self.state.alignment.override_reason = override.reason
            self._log("alignment_overridden", actor=override.actor, detail=override.reason,
                      data={"channel": override.channel.value})
            self._publish()
            return UpdateResult(message="The alignment check is overridden; screening may proceed.")

    @override_alignment.validator
    @_once_validated
    def _validate_override(self, override: AlignmentOverride) -> None:
        check = self.definition.screening.alignment
        if check is None or self.state.stage != Stage.screening:
            raise ValueError("There is no goal-alignment check to override.")
        allowed = check.override_by or self.definition.screening.go_no_go.approvers
        if override.actor not in allowed:
            raise ValueError(f"Only {', '.join(allowed)} may override the alignment check.")
        if not override.reason.strip():
            raise ValueError("An override needs a reason.")
        if self.state.alignment.passed:
            raise ValueError("The alignment check has already passed.")
        _check_text(("The reason", override.reason))

    @workflow.update
    @_once
    async def decide(self, decision: DecisionInput) -> UpdateResult:
        async with self._lock:
            _recheck(self._validate_decide, decision)
            approval = self.state.approvals[decision.approval_id]
            approval.decisions.append(
                Decision(
                    approval_id=approval.id,
                    round=approval.round,
                    actor=decision.actor,
                    decision=decision.decision,
                    comment=decision.comment.strip(),
                    at=workflow.now(),
                    channel=decision.channel,
                    document_version=approval.document_version,
                    document_hash=approval.document_hash,
                )
            )
            self._log("decision", actor=decision.actor, detail=f"{approval.title}: {decision.decision.value}"
                      + (f" — {decision.comment.strip()}" if decision.comment.strip() else ""),
                      data={"approval": approval.id, "round": approval.round, "channel": decision.channel.value})
            self._publish()
            return UpdateResult(message=f"Your decision ({decision.decision.value.replace('_', ' ')}) is recorded.")

    @decide.validator
    @_once_validated
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
                and self.state.rules_version >= 1):
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
    @_once
    async def delegate(self, delegation: DelegationInput) -> UpdateResult:
        async with self._lock:
            _recheck(self._validate_delegate, delegation)
            approval = self.state.approvals[delegation.approval_id]
            approval.approvers[approval.approvers.index(delegation.actor)] = delegation.to
            if delegation.actor in approval.party_approvers:
                approval.party_approvers[approval.party_approvers.index(delegation.actor)] = delegation.to
            approval.delegations.append(
                Delegation(round=approval.round, delegator=delegation.actor, delegate=delegation.to,
                           reason=delegation.reason.strip(), at=workflow.now(), channel=delegation.channel)
            )
            self._log("delegated", actor=delegation.actor, detail=f"{approval.title}: delegated to {delegation.to} — {delegation.reason.strip()}",
                      data={"approval": approval.id, "channel": delegation.channel.value})
            self._publish()
            return UpdateResult(message=f"Delegated to {self.people[delegation.to].name}; they will receive the request.")

    @delegate.validator
    @_once_validated
    def _validate_delegate(self, delegation: DelegationInput) -> None:
        approval = self._open_approval(delegation.approval_id, delegation.round)
        if not approval.allow_delegation:
            raise ValueError(f"The definition does not allow delegation for {approval.title}.")
        if delegation.actor not in approval.approvers:
            raise ValueError(f"{delegation.actor!r} is not an approver of {approval.title}.")
        if any(d.actor == delegation.actor for d in approval.decisions_in_round()):
            raise ValueError(f"{delegation.actor} has already decided in this round.")
        if delegation.to not in self.people:
            raise ValueError(f"{delegation.to!r} is not a stakeholder of this partnership.")
        if delegation.to in approval.approvers:
            raise ValueError(f"{delegation.to} is already an approver.")
        stranded = approvals.delegation_strands(approval, delegation.actor, delegation.to)
        if stranded is not None:
            party = self._party_names([stranded])
            raise ValueError(f"{party} must approve this itself (it changes {party}'s people), and {delegation.actor} is "
                             f"the only one of {party} left to do so: delegate to someone of {party}.")
        if not delegation.reason.strip():
            raise ValueError("A delegation needs a reason.")
        _check_text(("The reason", delegation.reason))

    def _open_approval(self, approval_id: str, round_no: int | None) -> ApprovalState:
        approval = self.state.approvals.get(approval_id)
        if approval is None:
            raise ValueError(f"There is no approval {approval_id!r} in this partnership.")
        if approval.outcome != ApprovalOutcome.pending:
            raise ValueError(f"This approval is closed ({approval.outcome.value}).")
        if round_no is not None and round_no != approval.round:
            raise ValueError(f"This link is for round {round_no}, which has been superseded by round {approval.round}.")
        return approval

    @workflow.update
    @_once
    async def revise_mou(self, revision: MouRevision) -> UpdateResult:
        async with self._lock:
            _recheck(self._validate_revise_mou, revision)
            source = "uploaded" if revision.markdown is not None else "generated"
            document = await self._add_mou_version(source, revision.actor, revision.note or f"Revision ({source})", revision.markdown)
            approval = self.state.approvals.get(MOU)
            if approval is not None:
                assert self.definition.mou is not None
                self._start_round(approval, self.definition.mou.deadline, document)
            self.state.mou.awaiting_revision = False
            self._publish()
            return UpdateResult(message=f"MOU version {document.version} recorded; a new signature round starts.")

    @revise_mou.validator
    @_once_validated
    def _validate_revise_mou(self, revision: MouRevision) -> None:
        if self.state.stage != Stage.mou or self.definition.mou is None:
            raise ValueError(f"The MOU can only be revised in the MOU stage (the partnership is in {self.state.stage.value}).")
        if not self.state.mou.versions:
            raise ValueError("The first draft is still being prepared.")
        if revision.markdown is not None:
            if not revision.markdown.strip():
                raise ValueError("The uploaded MOU is empty.")
            if len(revision.markdown) > MAX_UPLOAD_CHARS:
                raise ValueError(f"The uploaded MOU is longer than {MAX_UPLOAD_CHARS:,} characters.")
        approval = self.state.approvals.get(MOU)
        if approval is not None and approval.round >= self.definition.mou.max_rounds:
            raise ValueError(f"The MOU has used all {self.definition.mou.max_rounds} review rounds.")

    # ------------------------------------------------------------------ operating updates

    @workflow.update
    @_once
    async def submit_review_input(self, submission: ReviewInputSubmission) -> UpdateResult:
        async with self._lock:
            _recheck(self._validate_review_input, submission)
            review = self.state.reviews[submission.review_id]
            revised = submission.stakeholder in review.inputs
            review.inputs[submission.stakeholder] = ReviewInput(
                stakeholder=submission.stakeholder, party=self.definition.party_of(submission.stakeholder).id,
                at=workflow.now(), channel=submission.channel, rag=submission.rag, note=submission.note.strip(),
                contribution=submission.contribution, benefit=submission.benefit,
            )
            task = self.state.tasks.get(input_task_id(review, submission.stakeholder))
            if task is not None and task.is_open:
                task.status = TaskStatus.done
                task.completed_at = workflow.now()
                task.completed_by = submission.stakeholder
                task.channel = submission.channel
            self._log("review_input", actor=submission.stakeholder,
                      detail=f"{review.kind.title} #{review.n}: input {'revised' if revised else 'received'}"
                      + (f" ({submission.rag.value})" if submission.rag else ""),
                      data={"review": review.id, "channel": submission.channel.value})
            self._publish()
            return UpdateResult(message="Your input is recorded." + (" It replaces your earlier one." if revised else ""))

    @submit_review_input.validator
    @_once_validated
    def _validate_review_input(self, submission: ReviewInputSubmission) -> None:
        review = self.state.reviews.get(submission.review_id)
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
    @_once
    async def record_metric(self, observation: MetricObservationInput) -> UpdateResult:
        async with self._lock:
            _recheck(self._validate_metric, observation)
            metric = next(m for m in self.definition.metrics if m.id == observation.metric_id)
            track = self.state.metrics.setdefault(metric.id, MetricTrack(metric_id=metric.id))
            baseline_task = self.state.tasks.get(_baseline_task(metric.id))
            now = workflow.now()
            if track.baseline is None and self.state.launched_at is None:
                track.baseline, track.baseline_at = observation.value, now
                message = f"Baseline of {metric.name} recorded: {observation.value:g} {metric.unit}."
                if baseline_task is not None and baseline_task.is_open:
                    baseline_task.status = TaskStatus.done
                    baseline_task.completed_at, baseline_task.completed_by = now, observation.actor
                    baseline_task.result, baseline_task.channel = f"{observation.value:g}", observation.channel
            else:
                track.observations.append(MetricObservation(value=observation.value, at=now, actor=observation.actor,
                                                            channel=observation.channel, note=observation.note.strip()))
                message = f"{metric.name}: {observation.value:g} {metric.unit} recorded (target {metric.target:g})."
            self._log("metric_recorded", actor=observation.actor, detail=message,
                      data={"metric": metric.id, "value": observation.value, "channel": observation.channel.value})
            self._publish()
            return UpdateResult(message=message)

    @record_metric.validator
    @_once_validated
    def _validate_metric(self, observation: MetricObservationInput) -> None:
        metric = next((m for m in self.definition.metrics if m.id == observation.metric_id), None)
        if metric is None:
            known = ", ".join(m.id for m in self.definition.metrics) or "none"
            raise ValueError(f"There is no metric {observation.metric_id!r} (metrics: {known}).")
        if observation.actor not in (metric.owner, "ops") and observation.channel not in (Channel.cli, Channel.api):
            raise ValueError(f"{metric.name} is recorded by its owner, {metric.owner}.")
        if observation.actor != "ops" and observation.actor not in self.people:
            raise ValueError(f"{observation.actor!r} is not a stakeholder of this partnership.")
        if observation.value != observation.value or observation.value in (float("inf"), float("-inf")):
            raise ValueError("The value must be a number.")
        if self.state.stage not in (Stage.launch, Stage.active, Stage.renewal):
            raise ValueError(f"Metrics are recorded from launch on (the partnership is in {self.state.stage.value}).")
        _check_text(("The note", observation.note))

    @workflow.update
    @_once
    async def record_review_outcome(self, outcome: ReviewOutcome) -> UpdateResult:
        async with self._lock:
            _recheck(self._validate_review_outcome, outcome)
            review = self.state.reviews[outcome.review_id]
            review.decisions += [d.strip() for d in outcome.decisions if d.strip()]
            for action in outcome.actions:
                task_id = f"action-{review.id}-{len(review.actions) + 1}"
                self._open_task(task_id, TaskKind.action, action.title.strip(), action.owner,
                                workflow.now() + timedelta(days=action.due_in_days),
                                f"Decided at {review.kind.title} #{review.n}; checked at the next one.")
                review.actions.append(task_id)
            self._log("review_outcome", actor=outcome.actor,
                      detail=f"{review.kind.title} #{review.n}: {len(outcome.decisions)} decisions, {len(outcome.actions)} actions",
                      data={"review": review.id, "channel": outcome.channel.value})
            self._publish()
            return UpdateResult(message=f"Recorded: {len(outcome.decisions)} decisions and {len(outcome.actions)} actions.")

    @record_review_outcome.validator
    @_once_validated
    def _validate_review_outcome(self, outcome: ReviewOutcome) -> None:
        review = self.state.reviews.get(outcome.review_id)
        if review is None or review.opened_at is None:
            raise ValueError(f"There is no review {outcome.review_id!r} to record in this partnership.")
        newer = [r for r in self.state.reviews.values() if r.kind == review.kind and r.n > review.n and r.opened_at]
        if newer:
            raise ValueError(f"{review.kind.title} #{review.n} was followed by #{newer[0].n}: record it there.")
        if outcome.actor != "ops" and outcome.actor not in self.people:
            raise ValueError(f"{outcome.actor!r} is not a stakeholder of this partnership.")
        if not any(d.strip() for d in outcome.decisions) and not outcome.actions:
            raise ValueError("Nothing to record: give at least one decision or action.")
        for action in outcome.actions:
            if not action.title.strip():
                raise ValueError("Every action needs a title.")
            if action.owner not in self.people:
                raise ValueError(f"The action owner {action.owner!r} is not a stakeholder of this partnership.")
        _check_text(*(("A decision", d) for d in outcome.decisions), *(("An action", a.title) for a in outcome.actions))

    @workflow.update
    @_once
    async def propose_amendment(self, proposal: AmendmentProposal) -> UpdateResult:
        async with self._lock:
            _recheck(self._validate_amendment, proposal)
            amendment = self._add_amendment(proposal.definition, proposal.actor, proposal.reason.strip(), proposal.channel)
            rules, approvers = self._amendment_rules()
            message = f"{amendment.id} ({len(amendment.changes)} changes) goes to {', '.join(approvers)} for approval ({rules.policy.value})."
            parties = self._party_approvals(amendment.definition, approvers)
            if parties is not None and parties.parties:
                names = self._party_names(list(parties.parties))
                who = names if len(parties.parties) == 1 else "each of them"
                message += f" It changes the people of {names}, so {who} must approve it too" + (
                    f" ({', '.join(parties.added)} asked as well)." if parties.added else ".")
            return UpdateResult(message=message)

    @propose_amendment.validator
    @_once_validated
    def _validate_amendment(self, proposal: AmendmentProposal) -> None:
        if proposal.actor != "ops" and proposal.actor not in self.people:
            raise ValueError(f"{proposal.actor!r} is not a stakeholder of this partnership.")
        if not proposal.reason.strip():
            raise ValueError("An amendment needs a reason.")
        if self.state.stage.is_final:
            raise ValueError(f"The partnership is {self.state.stage.value}.")
        if proposal.definition.id != self.definition.id:
            raise ValueError(f"The amended definition is for {proposal.definition.id!r}, not {self.definition.id!r}.")
        pending = self._pending_amendment()
        if pending is not None:
            raise ValueError(f"{pending.id} is still in approval; one amendment at a time.")
        found = problems(proposal.definition, **self._amendment_checks())
        if found:
            raise ValueError("The amended definition is not valid: " + "; ".join(f"{p.dotted}: {p.message}" for p in found[:5]))
        if not diff.changes(self.definition, proposal.definition):
            raise ValueError("The amended definition is the same as the one in force.")
        _check_text(("The reason", proposal.reason))

    @workflow.update
    @_once
    async def close(self, request: CloseRequest) -> UpdateResult:
        async with self._lock:
            _recheck(self._validate_close, request)
            self._close(request.actor, request.reason.strip())
            return UpdateResult(message="The partnership is closed; its audit export is being archived.")

    @close.validator
    @_once_validated
    def _validate_close(self, request: CloseRequest) -> None:
        rules, approvers = self._amendment_rules()
        if request.actor != "ops" and request.actor not in approvers:
            raise ValueError(f"Only ops or {', '.join(approvers)} may close the partnership.")
        if not request.reason.strip():
            raise ValueError("Closing needs a reason.")
        # No workflow.patched() here: validators must not add to history.
        if self.state.stage not in (Stage.launch, Stage.active, Stage.renewal):
            raise ValueError(f"A partnership closes once launched (it is in {self.state.stage.value}).")
        _check_text(("The reason", request.reason))

    @workflow.signal
    def escalation_changed(self, change: EscalationChanged | None) -> None:
        """An escalation's own workflow climbed a level, was acknowledged, resolved or withdrawn."""
        if not isinstance(change, EscalationChanged):
            workflow.logger.warning("escalation_changed without a change ignored: %r", change)
            return
        record = next((e for e in self.state.escalations if e.id == change.escalation_id), None)
        if record is None:
            workflow.logger.warning("escalation_changed for unknown escalation %s", change.escalation_id)
            return
        record.level, record.with_ops = change.level, change.with_ops
        record.status = change.status.value
        if change.status == EscalationStatus.awaiting_amendment and change.amendment:
            self._amendment_from_escalation(record, change.amendment)
        self._log("escalation_changed", detail=f"{record.id}: level {record.level}, {record.status}"
                  + (f" ({change.cause})" if change.cause else ""), data={"escalation": record.id, "level": record.level})
        self._publish()

    @workflow.signal
    async def email_event(self, event: EmailEvent | None) -> None:
        """Delivery news from the mail provider's webhook. Bounces and drops make the person unreachable."""
        if not isinstance(event, EmailEvent) or len(event.send_key) > MAX_TEXT or "/" not in event.send_key:
            # A signal cannot be refused; raising would fail every workflow task from now on.
            workflow.logger.warning("email_event ignored: %r", event if not isinstance(event, EmailEvent) else event.send_key[:200])
            return
        self.state.email_events.append(
            EmailEventRecord(send_key=event.send_key, event=event.event, reason=event.reason,
                             recipient=event.recipient, at=workflow.now())
        )
        del self.state.email_events[:-MAX_EMAIL_EVENTS]
        if event.event in ("bounce", "dropped", "blocked"):
            who = event.send_key.rsplit("/", 1)[-1]
            await self._unreachable(who, f"{event.event}: {event.reason or 'no reason given'}", event.send_key.split("/", 2)[-1])

    @workflow.update
    @_once
    async def escalate(self, request: EscalationRequest) -> UpdateResult:
        async with self._lock:
            _recheck(self._validate_escalate, request)
            joined = next((e for e in self.state.open_escalations()
                           if e.trigger == "manual" and e.subject == request.subject), None)
            if joined is not None:
                return UpdateResult(message=f"Escalation {joined.id} about {request.subject!r} is already open at level "
                                    f"{joined.level}: this reason was not added. Act on {joined.id}, or raise a separate "
                                    "one with another subject.")
            record = await self._raise(
                "manual", request.subject, request.reason, request.level,
                raised_by=request.raised_by, channel=request.channel, severity=request.severity,
            )
            return UpdateResult(message=f"Escalation {record.id} is open at level {record.level}.")

    @escalate.validator
    @_once_validated
    def _validate_escalate(self, request: EscalationRequest) -> None:
        if not request.reason.strip():
            raise ValueError("An escalation needs a reason.")
        if not 1 <= request.level <= len(self.definition.escalation.ladder):
            raise ValueError(f"Level must be between 1 and {len(self.definition.escalation.ladder)}.")
        if self.state.stage.is_final:
            raise ValueError(f"The partnership is {self.state.stage.value}.")

        _check_text(("The reason", request.reason), ("The subject", request.subject))

def _same_words(a: str, b: str) -> bool:
    """The same statement, whatever the spacing and line breaks."""
    return a.split() == b.split()


def _statement_task(stakeholder: str) -> str:
    return f"statement-{stakeholder}"


def _baseline_task(metric_id: str) -> str:
    return f"baseline-{metric_id}"



