"""Renewal: before each term ends, the renewal approval decides whether another term starts.

The decision opens ``renewal.notice`` before the term ends. Approved, the next term starts
when this one ends; otherwise the partnership closes at the end of its term.
"""

from __future__ import annotations

from temporalio import workflow

from workflows.partnership.approvals import Approvals
from workflows.partnership.closure import Closure
from workflows.partnership.context import PartnershipContext
from workflows.partnership.record import Record

with workflow.unsafe.imports_passed_through():
    from accord.logic.describe import when
    from accord.models import ApprovalOutcome, Stage, renewal_id


class Renewal:
    def __init__(self, ctx: PartnershipContext, record: Record, approvals: Approvals, closure: Closure) -> None:
        self.ctx = ctx
        self.record = record
        self.approvals = approvals
        self.closure = closure

    async def run(self) -> None:
        renewal = self.ctx.definition.renewal
        state = self.ctx.state
        assert renewal is not None and state.term_started_at is not None
        while True:
            term_ends = renewal.term.after(state.term_started_at)
            decide_at = renewal.notice.before(term_ends)
            if decide_at > workflow.now():
                await workflow.sleep(decide_at - workflow.now(), summary=f"renewal decision for term {state.term + 1}")
            if state.stage == Stage.active:
                self.record.enter(Stage.renewal, f"Term {state.term} ends {when(term_ends)}: renewal decision")
            outcome = await self.approvals.run(
                renewal_id(state.term), f"Renewal for term {state.term + 1}", renewal.approval,
                renewal.approval.approvers, Stage.renewal,
            )
            if outcome == ApprovalOutcome.approved:
                state.term += 1
                state.term_started_at = term_ends
                self.record.enter(Stage.active, f"Renewed: term {state.term} starts {when(term_ends)}")
                continue
            if term_ends > workflow.now():
                self.record.set_detail(f"Not renewed ({outcome.value}): the partnership closes at the end of its term, "
                                       f"{when(term_ends)}")
                await workflow.sleep(term_ends - workflow.now(), summary="end of the last term")
            self.closure.close("accord", f"Term {state.term} ended without renewal ({outcome.value})")
            return
