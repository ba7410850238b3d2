"""Amendments: a changed definition goes through approval, then applies in place.

An amendment is proposed by a person (the ``propose_amendment`` update) or by an
escalation's resolution (the ``escalation_changed`` signal, status ``awaiting_amendment``).
One at a time: it goes to the MOU's signatories (or, without an MOU, the go/no-go
approvers) under their rules, and, under rules 1, to every party whose people or
addresses it changes. Approved, its definition is in force from then on; the escalation
that proposed it is told either way (``amendment_decided``).
"""

from __future__ import annotations

from temporalio import workflow

from workflows.partnership.approvals import Approvals
from workflows.partnership.context import PartnershipContext
from workflows.partnership.escalations import Escalations
from workflows.partnership.record import Record

with workflow.unsafe.imports_passed_through():
    from accord.logic import approvals, permissions
    from accord.logic.rules.partnership import amendment_checks, pending_amendment
    from accord.models import (
        Amendment,
        AmendmentDecided,
        AmendmentProposal,
        AmendmentStatus,
        ApprovalOutcome,
        Channel,
        EscalationRecord,
        EventKind,
        UpdateResult,
        amendment_id,
    )
    from definitions import diff, loader
    from definitions.schema import PartnershipDefinition


class Amendments:
    def __init__(self, ctx: PartnershipContext, record: Record, approvals: Approvals, escalations: Escalations) -> None:
        self.ctx = ctx
        self.record = record
        self.approvals = approvals
        self.escalations = escalations
        # Escalations whose proposed amendment could not go to approval: answered by run().
        self._refusals: list[EscalationRecord] = []

    def party_approvals(self, amended: PartnershipDefinition, approvers: list[str]) -> approvals.PartyApprovals | None:
        """Rules 1: the parties whose people the amendment changes must approve it themselves."""
        if self.ctx.state.rules_version < 1:
            return None
        return approvals.party_approvals(self.ctx.definition, amended, approvers)

    def pending(self) -> Amendment | None:
        return pending_amendment(self.ctx.state)

    async def run(self) -> None:
        """Each proposed amendment goes through the approval mechanism, then applies in place."""
        while True:
            await workflow.wait_condition(lambda: self.pending() is not None or bool(self._refusals))
            while self._refusals:
                record = self._refusals.pop(0)
                await self.escalations.answer(record, AmendmentDecided(amendment_id="", applied=False, outcome="refused"))
            amendment = self.pending()
            if amendment is None:
                continue
            rules, approvers = permissions.amendment_approvers(self.ctx.definition)
            outcome = await self.approvals.run(
                amendment.id, f"Amendment {amendment.id.split('-')[-1]}: {amendment.reason[:80]}", rules, approvers,
                self.ctx.state.stage, parties=self.party_approvals(amendment.definition, approvers),
                changes=amendment.changes)
            amendment.decided_at = workflow.now()
            if outcome == ApprovalOutcome.approved:
                amendment.status = AmendmentStatus.applied
                self.ctx.amend(amendment.definition)
                self.record.log(EventKind.amendment_applied, detail=f"{amendment.id}: {'; '.join(amendment.changes)[:400]}",
                                data={"amendment": amendment.id})
            else:
                amendment.status = AmendmentStatus.rejected
                self.record.log(EventKind.amendment_rejected, detail=f"{amendment.id}: {outcome.value}",
                                data={"amendment": amendment.id})
            self.record.publish()
            proposer = next((e for e in self.ctx.state.escalations if e.id == amendment.escalation_id), None)
            if proposer is not None:
                await self.escalations.answer(proposer, AmendmentDecided(
                    amendment_id=amendment.id, applied=amendment.status == AmendmentStatus.applied, outcome=outcome.value))

    def from_escalation(self, record: EscalationRecord, text: str) -> None:
        """A resolution proposed an amendment: it goes to approval like any other (the escalation
        validated it; if it no longer fits, refuse it back to the escalation)."""
        try:
            amended = loader.parse(text, "amendment", **amendment_checks(self.ctx.state))
            if self.pending() is not None:
                raise ValueError("another amendment is in approval")
            if not diff.changes(self.ctx.definition, amended):
                raise ValueError("it is the same as the definition in force")
        except (loader.DefinitionError, ValueError) as exc:
            workflow.logger.warning("amendment from %s refused: %s", record.id, exc)
            self.record.log(EventKind.amendment_refused, detail=f"{record.id}: {exc}"[:500])
            self._refusals.append(record)
            return
        self._add(amended, f"escalation {record.id}", f"Resolution of {record.id}", Channel.temporal, record.id)

    def _add(self, definition: PartnershipDefinition, actor: str, reason: str, channel: Channel,
             escalation_id: str | None = None, sent_by: str | None = None) -> Amendment:
        state = self.ctx.state
        amendment = Amendment(
            id=amendment_id(len(state.amendments) + 1), proposed_by=actor, reason=reason, channel=channel,
            proposed_at=workflow.now(), definition=definition, changes=diff.changes(self.ctx.definition, definition),
            escalation_id=escalation_id, sent_by=sent_by,
        )
        state.amendments.append(amendment)
        self.record.log(EventKind.amendment_proposed, actor=actor, detail=f"{amendment.id}: {reason}",
                        data={"amendment": amendment.id}, sent_by=sent_by)
        self.record.publish()
        return amendment

    def propose(self, proposal: AmendmentProposal) -> UpdateResult:
        """The ``propose_amendment`` update (validated): the amendment waits for its approval."""
        amendment = self._add(proposal.definition, proposal.actor, proposal.reason.strip(), proposal.channel,
                              sent_by=proposal.sent_by)
        rules, approvers = permissions.amendment_approvers(self.ctx.definition)
        message = (f"{amendment.id} ({len(amendment.changes)} changes) goes to {', '.join(approvers)} for approval "
                   f"({rules.policy.value}).")
        parties = self.party_approvals(amendment.definition, approvers)
        if parties is not None and parties.parties:
            names = self.record.party_names(list(parties.parties))
            who = names if len(parties.parties) == 1 else "each of them"
            message += f" It changes the people of {names}, so {who} must approve it too" + (
                f" ({', '.join(parties.added)} asked as well)." if parties.added else ".")
        return UpdateResult(message=message)
