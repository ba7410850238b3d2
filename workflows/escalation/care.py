"""What people do with an escalation: acknowledge it, record its CARE steps (Clarify,
Acknowledge each party's perspective, Reframe, Explore), resolve it (perhaps subject to an
amendment the partnership must approve first) or withdraw it.

Each method here is the body of an update or signal of ``EscalationWorkflow``, applied after
its validator (``accord.logic`` rules) accepted it.
"""

from __future__ import annotations

from temporalio import workflow

from workflows.escalation.context import EscalationContext
from workflows.escalation.reporting import Reporting
from workflows.versions import PATCH_AMENDMENT_APPROVAL

with workflow.unsafe.imports_passed_through():
    from accord.logic import permissions
    from accord.models import (
        Acknowledge,
        AcknowledgementRecord,
        AmendmentDecided,
        CareEntry,
        CareNote,
        Channel,
        EscalationStatus,
        Resolve,
        SupersededCareNote,
        UpdateResult,
        Withdraw,
    )


class Care:
    def __init__(self, ctx: EscalationContext, reporting: Reporting) -> None:
        self.ctx = ctx
        self.reporting = reporting

    def acknowledge(self, ack: Acknowledge) -> UpdateResult:
        state = self.ctx.state
        state.acknowledgements.append(
            AcknowledgementRecord(actor=ack.actor, note=ack.note.strip(), at=workflow.now(), level=state.level,
                                  channel=ack.channel, sent_by=ack.sent_by)
        )
        first = state.status == EscalationStatus.open
        state.status = EscalationStatus.acknowledged
        self.reporting.publish()
        if first:
            return UpdateResult(message="Acknowledged: the escalation stops climbing. Next, record the CARE steps.")
        return UpdateResult(message="Your acknowledgement is recorded.")

    def record(self, entry: CareEntry) -> UpdateResult:
        care = self.ctx.state.care
        note = CareNote(text=entry.text.strip(), by=entry.actor, at=workflow.now(), channel=entry.channel,
                        sent_by=entry.sent_by)
        party = permissions.care_party(entry, self.ctx.definition)
        previous = care.acknowledge.get(party) if party else getattr(care, entry.step)
        if previous is not None:
            care.superseded.append(SupersededCareNote(step=entry.step, party=party, note=previous))
        if party:
            care.acknowledge[party] = note
        else:
            setattr(care, entry.step, note)
        self.reporting.publish()
        missing = care.missing(self.ctx.parties)
        return UpdateResult(
            message=f"{entry.step.capitalize()} is recorded. "
            + (f"Still to record: {', '.join(missing)}." if missing else "The CARE record is complete; it can be resolved.")
        )

    def resolve(self, resolve: Resolve) -> UpdateResult:
        state = self.ctx.state
        amendment = (resolve.amendment or "").strip()
        state.resolution = resolve.resolution.strip()
        state.proposed_amendment = amendment or None
        if amendment and workflow.patched(PATCH_AMENDMENT_APPROVAL):
            # Resolved subject to the amendment: the partnership runs it through approval
            # and answers by signal (amendment_decided); only then does this close.
            state.status = EscalationStatus.awaiting_amendment
            state.resolved_by = resolve.actor
            state.resolved_channel = resolve.channel
            state.closed_sent_by = resolve.sent_by
            self.reporting.publish()
            return UpdateResult(message="The resolution is recorded; its amendment goes to approval, and the "
                                "escalation closes once it is approved.")
        self.close(EscalationStatus.resolved, resolve.actor, resolve.channel, sent_by=resolve.sent_by)
        return UpdateResult(message="The escalation is resolved."
                            + (" The proposed amendment is recorded." if amendment else ""))

    def withdraw(self, withdraw: Withdraw) -> None:
        self.ctx.state.withdrawn_reason = withdraw.reason.strip()
        self.close(EscalationStatus.withdrawn, withdraw.actor, withdraw.channel, sent_by=withdraw.sent_by)

    def close(self, status: EscalationStatus, actor: str, channel: Channel | None, *, sent_by: str | None = None,
              cause: str = "") -> None:
        state = self.ctx.state
        state.status = status
        state.closed_by = actor
        state.closed_at = workflow.now()
        state.closed_channel = channel
        if sent_by is not None:
            state.closed_sent_by = sent_by
        state.closed_cause = cause
        self.reporting.publish()

    def amendment_decided(self, decided: AmendmentDecided | None) -> None:
        """The partnership's approval of the amendment this resolution proposed has ended."""
        state = self.ctx.state
        if not isinstance(decided, AmendmentDecided) or state.status != EscalationStatus.awaiting_amendment:
            workflow.logger.warning("amendment_decided for %s ignored: it is %s", state.id, state.status.value)
            return
        state.amendment_outcome = decided.outcome
        if decided.applied:
            self.close(EscalationStatus.resolved, state.resolved_by or "accord", state.resolved_channel)
            return
        # Not approved: the resolution depended on it, so the escalation is back in CARE.
        state.status = EscalationStatus.acknowledged
        state.resolution = ""
        state.proposed_amendment = None
        self.reporting.publish()
