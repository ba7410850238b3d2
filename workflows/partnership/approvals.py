"""The approval engine: rounds, asking, chasing, deciding, delegating.

One approval (go/no-go, the MOU signature, an amendment, a renewal) runs to its outcome in
:meth:`Approvals.run`: each round asks whoever the policy waits on (``accord.logic.approvals``),
follows every decision or delegation (someone new may be due: the next signer, a delegate),
reminds, and at the deadline escalates or fails as the definition says. A revision of the
document starts a new round (:meth:`Approvals.start_round`): the round in progress is
abandoned and old links stop working.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow

from workflows.partnership.context import PartnershipContext
from workflows.partnership.escalations import Escalations
from workflows.partnership.record import Record
from workflows.toolkit.chase import chase
from workflows.toolkit.notifier import Notifier
from workflows.versions import PATCH_FOLLOW_EARLY_DECISIONS

with workflow.unsafe.imports_passed_through():
    from accord.logic import approvals, chasing, evidence, limits
    from accord.logic.describe import approval_kind, person, when
    from accord.models import (
        GO_NO_GO,
        ActionLink,
        ApprovalOutcome,
        ApprovalState,
        Decision,
        DecisionInput,
        Delegation,
        DelegationInput,
        DocumentVersion,
        EventKind,
        Stage,
        TriggerKind,
        UpdateResult,
    )
    from definitions.durations import Duration
    from definitions.schema import ApprovalRules


class Approvals:
    def __init__(self, ctx: PartnershipContext, record: Record, notifier: Notifier, escalations: Escalations) -> None:
        self.ctx = ctx
        self.record = record
        self.notifier = notifier
        self.escalations = escalations

    async def run(
        self, approval_id: str, title: str, spec: ApprovalRules, approvers: list[str], stage: Stage,
        document: DocumentVersion | None = None, parties: approvals.PartyApprovals | None = None,
        changes: list[str] | None = None,
    ) -> ApprovalOutcome:
        """Run one approval to its outcome: ask, remind, and escalate or fail at the deadline.

        A revision of the document starts a new round (see :meth:`start_round`): the round
        in progress is abandoned and the new one runs, with new links for everyone.
        ``parties``: parties whose own approval is needed besides the policy (amendments);
        ``changes``: what an amendment changes. A go/no-go or renewal carries its evidence
        (``accord.logic.evidence``); every email shows what there is to decide on.
        """
        approval = self.ctx.state.approvals.get(approval_id)
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
                policy=spec.policy,
                quorum=spec.quorum,
                opened_at=now,
                deadline_at=self.ctx.schedule.joint_due([*approvers, *parties.added], now, spec.deadline),
                allow_delegation=spec.allow_delegation,
                document_version=document.version if document else None,
                document_hash=document.hash if document else None,
            )
            # Rules 2: the emails and the decision page show what there is to decide on.
            shows = self.ctx.state.rules_version >= 2
            if shows:
                approval.changes = list(changes or [])
            if shows and approval_kind(approval_id) in (GO_NO_GO, "renewal"):
                approval.evidence = evidence.gather(approval_id, self.ctx.state, self.ctx.definition, now)
            self.ctx.state.approvals[approval_id] = approval
            self.record.log(EventKind.approval_opened, detail=f"{title} [{approval_id}]: "
                            f"{', '.join(person(self.ctx.definition, a) for a in approval.approvers)} by "
                            f"{when(approval.deadline_at)}"
                            + (f"; {self.record.party_names(list(approval.parties))} must approve too (their people change)"
                               if approval.parties else ""))
        while True:
            round_no = approval.round
            await self._round(approval, spec, round_no)
            if approval.round == round_no:
                break
        self.record.log(EventKind.approval_closed, detail=f"{title}: {approval.outcome.value}", data={"approval": approval.id})
        return approval.outcome

    async def _round(self, approval: ApprovalState, spec: ApprovalRules, round_no: int) -> None:
        asked: set[str] = set()

        def evaluation() -> approvals.Evaluation:
            return approvals.of(approval)

        def superseded() -> bool:
            return approval.round != round_no

        async def ask_new() -> None:
            waiting = [w for w in evaluation().waiting_on if w not in asked]
            asked.update(waiting)
            await asyncio.gather(*(self._email(approval, who, "request") for who in waiting))

        async def nudge(n: chasing.Nudge) -> None:
            if n.kind == chasing.NudgeKind.overdue and spec.on_timeout.value == "fail":
                approval.outcome = ApprovalOutcome.timed_out
                return
            if n.kind == chasing.NudgeKind.escalate:
                await self.escalations.open(TriggerKind.overdue, approval.id, f"'{approval.title}' is past its deadline",
                                            self.ctx.definition.escalation.triggers.overdue.level)
                return
            approval.reminders_sent.append(workflow.now())
            await asyncio.gather(
                *(self._email(approval, who, n.kind.value, len(approval.reminders_sent)) for who in evaluation().waiting_on)
            )

        def done() -> bool:
            return superseded() or approval.outcome != ApprovalOutcome.pending or evaluation().outcome != ApprovalOutcome.pending

        def seen() -> tuple[int, tuple[str, ...]]:
            return len(approval.decisions), tuple(approval.approvers)

        self.record.set_detail(f"{approval.title}: waiting on {', '.join(evaluation().waiting_on)}")
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
                # (The condition is awaited within this pass, so it reads this pass's `last`.)
                await workflow.wait_condition(lambda: seen() != last or done())  # noqa: B023
                last = seen()
                if not done():
                    self.record.set_detail(f"{approval.title}: waiting on {', '.join(evaluation().waiting_on)}")
                    await ask_new()

        follower = asyncio.create_task(follow_decisions())
        await chase(approval.opened_at, approval.deadline_at, self.ctx.definition.reminders_for(spec.reminders), done,
                    nudge, approval.title)
        await follower
        if not superseded() and approval.outcome == ApprovalOutcome.pending:
            approval.outcome = evaluation().outcome

    def start_round(self, approval: ApprovalState, deadline: Duration, document: DocumentVersion | None) -> None:
        """A new round over a new document version: old links stop working (their round is stale)."""
        now = workflow.now()
        approval.round += 1
        approval.opened_at = now
        approval.deadline_at = self.ctx.schedule.joint_due(approval.approvers, now, deadline)
        approval.outcome = ApprovalOutcome.pending
        approval.reminders_sent = []
        if document is not None:
            approval.document_version, approval.document_hash = document.version, document.hash
        self.record.log(EventKind.round_started, detail=f"{approval.title}: round {approval.round}"
                        + (f" on version {document.version}" if document else ""), data={"approval": approval.id})

    async def _email(self, approval: ApprovalState, who: str, why: str, n: int = 0) -> None:
        definition = self.ctx.definition
        await self.notifier.email(
            f"approval/{approval.id}/{approval.round}/{why}/{n}",
            who,
            "action_request",
            f"{'Decision needed' if why == 'request' else why.capitalize()}: {approval.title} ({definition.name})",
            {
                "heading": "Your decision is needed" if why == "request" else f"{why.capitalize()}: your decision",
                "ask": f"{approval.title}: approve or reject." if approval.document_hash is None
                and self.ctx.state.rules_version >= 1
                else f"{approval.title}: approve, reject, or request changes.",
                "due_at": approval.deadline_at,
                "overdue": why == "overdue",
                "consequence": "If no decision arrives by the deadline, it is escalated."
                if approval.outcome == ApprovalOutcome.pending
                else "",
                "action_label": "Review and decide",
                "approvers": [person(definition, a) for a in approval.approvers],
                "reference": f"approval {approval.id}, round {approval.round}"
                + (f", version {approval.document_version}" if approval.document_version else ""),
                "sections": evidence.sections(approval, self.ctx.state, definition),
            },
            ActionLink(action="decision", ref=approval.id, round=approval.round,
                       expires_at=limits.link_expiry(approval.deadline_at)),
        )

    def decide(self, decision: DecisionInput) -> UpdateResult:
        """The ``decide`` update (validated): the decision counts in the current round."""
        approval = self.ctx.state.approvals[decision.approval_id]
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
                sent_by=decision.sent_by,
            )
        )
        self.record.log(EventKind.decision, actor=decision.actor, detail=f"{approval.title}: {decision.decision.value}"
                        + (f" — {decision.comment.strip()}" if decision.comment.strip() else ""),
                        data={"approval": approval.id, "round": approval.round, "channel": decision.channel.value},
                        sent_by=decision.sent_by)
        self.record.publish()
        return UpdateResult(message=f"Your decision ({decision.decision.value.replace('_', ' ')}) is recorded.")

    def delegate(self, delegation: DelegationInput) -> UpdateResult:
        """The ``delegate`` update (validated): the delegate takes the approver's place."""
        approval = self.ctx.state.approvals[delegation.approval_id]
        approval.approvers[approval.approvers.index(delegation.actor)] = delegation.to
        if delegation.actor in approval.party_approvers:
            approval.party_approvers[approval.party_approvers.index(delegation.actor)] = delegation.to
        approval.delegations.append(
            Delegation(round=approval.round, delegator=delegation.actor, delegate=delegation.to,
                       reason=delegation.reason.strip(), at=workflow.now(), channel=delegation.channel,
                       sent_by=delegation.sent_by)
        )
        self.record.log(EventKind.delegated, actor=delegation.actor,
                        detail=f"{approval.title}: delegated to {delegation.to} — {delegation.reason.strip()}",
                        data={"approval": approval.id, "channel": delegation.channel.value}, sent_by=delegation.sent_by)
        self.record.publish()
        return UpdateResult(message=f"Delegated to {self.ctx.people[delegation.to].name}; they will receive the request.")
