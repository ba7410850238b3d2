"""Screening: the checklist, the goal-alignment check, and the go/no-go decision.

Every checklist task and goal statement is chased; when the required tasks are done and the
statements agree (``accord.logic.alignment``), or an approver overrides the check with a
reason, the go/no-go approval runs. Statements that diverge block screening: everyone is
asked to revise, and the ``alignment`` trigger raises an escalation.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow

from workflows.partnership.approvals import Approvals
from workflows.partnership.context import PartnershipContext
from workflows.partnership.escalations import Escalations
from workflows.partnership.notices import PartnershipNotifier
from workflows.partnership.record import Record
from workflows.partnership.tasks import Tasks

with workflow.unsafe.imports_passed_through():
    from accord.logic import alignment, limits
    from accord.logic.describe import party, person, when
    from accord.logic.rules.partnership import same_statement
    from accord.models import (
        GO_NO_GO,
        ActionLink,
        AlignmentOverride,
        AlignmentResult,
        ApprovalOutcome,
        EventKind,
        PendingDigest,
        Stage,
        Statement,
        StatementSubmission,
        TaskKind,
        TaskStatus,
        TriggerKind,
        UpdateResult,
        statement_task_id,
    )


# The digest topic of revised goal statements (rules 2).
ALIGNMENT_DIGEST = "alignment"


class Screening:
    def __init__(self, ctx: PartnershipContext, record: Record, tasks: Tasks, approvals: Approvals,
                 notifier: PartnershipNotifier, escalations: Escalations) -> None:
        self.ctx = ctx
        self.record = record
        self.tasks = tasks
        self.approvals = approvals
        self.notifier = notifier
        self.escalations = escalations
        notifier.digests.topic(ALIGNMENT_DIGEST, self._revised)

    def open_tasks(self) -> None:
        screening = self.ctx.definition.screening
        start = self.ctx.state.stage_started_at
        for item in screening.checklist:
            self.tasks.open(
                item.id, TaskKind.checklist, item.title, item.owner, self.ctx.schedule.due(item.owner, start, item.due),
                item.description, item.required
            )
        if screening.alignment:
            for who in screening.alignment.participants:
                self.tasks.open(
                    statement_task_id(who),
                    TaskKind.statement,
                    "Goal-alignment statement",
                    who,
                    self.ctx.schedule.due(who, start, screening.alignment.due),
                    screening.alignment.prompt,
                )

    async def run(self) -> None:
        screening = self.ctx.definition.screening
        self.open_tasks()
        self.record.publish()
        chasers = [
            asyncio.create_task(self.tasks.chase(task.id)) for task in self.ctx.state.tasks.values() if task.is_open
        ]
        if screening.alignment:
            chasers.append(asyncio.create_task(self._alignment_check()))

        await workflow.wait_condition(self._ready)
        self.record.set_detail("Screening complete; waiting for the go/no-go decision")
        outcome = await self.approvals.run(
            GO_NO_GO, "Go/no-go decision", screening.go_no_go, screening.go_no_go.approvers, Stage.screening
        )
        for chaser in chasers:
            chaser.cancel()
        if outcome == ApprovalOutcome.approved:
            self.record.enter(Stage.mou if self.ctx.definition.mou else Stage.launch, "Go decision: screening passed")
        else:
            self.record.enter(Stage.rejected, f"No-go: the go/no-go approval ended {outcome.value}")

    def _ready(self) -> bool:
        state = self.ctx.state
        tasks_done = all(
            not t.is_open or not t.required
            for t in state.tasks.values()
            if t.stage == Stage.screening and t.kind == TaskKind.checklist
        )
        return tasks_done and (self.ctx.definition.screening.alignment is None or state.alignment.passed)

    async def _alignment_check(self) -> None:
        check = self.ctx.definition.screening.alignment
        assert check is not None
        state = self.ctx.state
        participants = set(check.participants)
        asked = False  # rules 2: everyone was asked to revise (the later revisions go out as digests)
        scored: dict[str, int] = {}  # each statement's revision when the statements were last scored
        while not state.alignment.passed:
            seen = self._revisions()
            await workflow.wait_condition(
                lambda: state.alignment.overridden_by is not None
                or participants <= set(state.alignment.statements)
            )
            if state.alignment.overridden_by is not None:
                return
            score = alignment.score(
                {s.stakeholder: (s.party, s.text) for s in state.alignment.statements.values()}
            )
            blocked = score.blocked(check.threshold)
            state.alignment.result = AlignmentResult(
                divergence=score.divergence,
                across_parties=score.across_parties,
                within_party=score.within_party,
                threshold=check.threshold,
                blocked=blocked,
                computed_at=workflow.now(),
            )
            self.record.log(
                EventKind.alignment_scored,
                detail=f"Goal statements diverge by {score.divergence:.2f} (threshold {check.threshold:.2f})",
                data={"divergence": score.divergence, "blocked": blocked},
            )
            if not blocked:
                self.record.publish()
                return
            self.record.set_detail(
                f"Blocked: goal statements diverge by {score.divergence:.2f} (> {check.threshold:.2f}); "
                "stakeholders must revise or an approver override"
            )
            round_no = self._revisions()
            if state.rules_version < 2 or not asked:
                await asyncio.gather(*(self._ask_to_revise(f"alignment-blocked/{round_no}", who) for who in sorted(participants)))
                asked = True
            else:
                # Rules 2: the revisions since everyone was asked wait for a quiet moment and go to
                # the others as one digest each (never to the person revising).
                for who in sorted(w for w, s in state.alignment.statements.items() if s.revision > scored.get(w, 0)):
                    name = person(self.ctx.definition, who)
                    self.notifier.digests.add(ALIGNMENT_DIGEST, sorted(participants - {who}),
                                              f"{name} revised their statement on {when(state.alignment.statements[who].at)}: "
                                              f"the statements now diverge by {score.divergence:.2f}")
            scored = {w: s.revision for w, s in state.alignment.statements.items()}
            trigger = self.ctx.definition.escalation.triggers.alignment
            if trigger.enabled:
                await self.escalations.open(
                    TriggerKind.alignment,
                    "alignment-check",
                    f"Goal statements diverge by {score.divergence:.2f} (threshold {check.threshold:.2f})",
                    trigger.level,
                )
            await workflow.wait_condition(
                lambda: self._revisions() > seen or state.alignment.overridden_by is not None  # noqa: B023 (awaited here)
            )

    def _statements(self) -> list[dict[str, str]]:
        """The statements so far, for an email: each by its author's and party's names."""
        definition = self.ctx.definition
        return [{"stakeholder": person(definition, s.stakeholder), "party": party(definition, s.party), "text": s.text}
                for s in self.ctx.state.alignment.statements.values()]

    async def _ask_to_revise(self, purpose: str, who: str, since: list[str] | None = None) -> None:
        state = self.ctx.state
        result = state.alignment.result
        context: dict[str, object] = {
            "ask": "The stakeholders' statements of the partnership's primary goal diverge too much "
            "to proceed. Please read the others' statements and revise yours, or agree one wording.",
            "due_at": state.tasks[statement_task_id(who)].due_at,
            "consequence": "Screening stays blocked until the statements converge or an approver "
            "overrides the check with a reason.",
            "statements": self._statements(),
            "action_label": "Revise my statement",
        }
        if state.rules_version >= 2 and result is not None:
            context["reference"] = f"divergence {result.divergence:.2f}, threshold {result.threshold:.2f}"
        if since:
            context["sections"] = [{"title": "Since you were last told", "lines": since}]
        await self.notifier.email(
            purpose,
            who,
            "action_request",
            f"Goal statements {'still ' if since else ''}diverge: please revise yours ({self.ctx.definition.name})",
            context,
            ActionLink(action="statement", ref=statement_task_id(who), round=self._revisions(),
                       expires_at=limits.link_expiry(workflow.now() + timedelta(days=14))),
        )

    async def _revised(self, digest: PendingDigest, who: str, lines: list[str]) -> None:
        """Rules 2: the digest of others' revisions (nothing if the check has passed meanwhile)."""
        state = self.ctx.state
        if state.alignment.passed or state.stage != Stage.screening:
            return
        await self._ask_to_revise(f"digest/{ALIGNMENT_DIGEST}/{digest.n}", who, lines)

    def _revisions(self) -> int:
        return sum(s.revision for s in self.ctx.state.alignment.statements.values())

    def submit_statement(self, submission: StatementSubmission) -> UpdateResult:
        """The ``submit_statement`` update (validated)."""
        state = self.ctx.state
        previous = state.alignment.statements.get(submission.stakeholder)
        if previous is not None and state.rules_version >= 1 and same_statement(previous.text, submission.text):
            # Rules 1: the same text is the same statement: not a revision, nobody emailed, no new score.
            return UpdateResult(message="Your statement is unchanged: it is the text you sent before, so it is not "
                                "scored again. Revise its wording to bring it closer to the others'.")
        state.alignment.statements[submission.stakeholder] = Statement(
            stakeholder=submission.stakeholder,
            party=self.ctx.definition.party_of(submission.stakeholder).id,
            text=submission.text.strip(),
            at=workflow.now(),
            revision=previous.revision + 1 if previous else 1,
        )
        task = state.tasks[statement_task_id(submission.stakeholder)]
        if task.is_open:
            task.status = TaskStatus.done
            task.completed_at = workflow.now()
            task.completed_by = submission.stakeholder
            task.channel = submission.channel
            task.completion_sent_by = submission.sent_by
        self.record.log(EventKind.statement_submitted, actor=submission.stakeholder,
                        detail="Goal statement " + ("revised" if previous else "submitted"),
                        data={"channel": submission.channel.value}, sent_by=submission.sent_by)
        self.record.publish()
        return UpdateResult(message="Your statement is recorded." if not previous else "Your revised statement is recorded.")

    def override(self, override: AlignmentOverride) -> UpdateResult:
        """The ``override_alignment`` update (validated): screening may proceed despite the divergence."""
        self.ctx.state.alignment.overridden_by = override.actor
        self.ctx.state.alignment.override_reason = override.reason
        self.record.log(EventKind.alignment_overridden, actor=override.actor, detail=override.reason,
                        data={"channel": override.channel.value}, sent_by=override.sent_by)
        self.record.publish()
        return UpdateResult(message="The alignment check is overridden; screening may proceed.")
