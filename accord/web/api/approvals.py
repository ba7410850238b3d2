"""Approvals: list a partnership's, decide on one, hand a decision to someone else.

With ``Settings.api_decisions`` off, decisions and delegations are refused (403): approvers
then decide only through their signed email links (or the CLI).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from accord.models import ApprovalState, Channel, DecisionInput, DelegationInput
from accord.web.api.bodies import (
    DECIDING,
    ActionResult,
    ApprovalId,
    DecisionBody,
    DelegationBody,
    PartnershipId,
)
from accord.web.api.calls import Api, workflow_id
from accord.web.api.calls import router as router_base
from accord.web.api.guards import Caller, ops_key


def router(api: Api) -> APIRouter:
    routes = router_base()

    def decisions_allowed(key: Caller = Depends(ops_key)) -> Caller:
        if not api.settings.api_decisions:
            raise HTTPException(403, "This organisation takes decisions and delegations only from the person "
                                     "deciding (setting api_decisions is off): use the signed link in your email.")
        return key

    @routes.get("/partnerships/{partnership}/approvals", tags=["approvals"], response_model=list[ApprovalState],
                summary="A partnership's approvals (their ids are what decisions name)")
    async def list_approvals(partnership: PartnershipId) -> list[ApprovalState]:
        return list((await api.ask(api.accord().state(workflow_id(partnership)))).approvals.values())

    @routes.post("/partnerships/{partnership}/approvals/{approval}/decisions", tags=["approvals"], response_model=ActionResult,
                 responses=DECIDING, summary="Record an approver's decision (approve, reject, request changes)")
    async def decide(partnership: PartnershipId, approval: ApprovalId, body: DecisionBody,
                     key: Caller = Depends(decisions_allowed)) -> ActionResult:
        return await api.act(key, f"decide {approval} as {body.actor}", partnership, api.accord().decide, DecisionInput(
            approval_id=approval, actor=body.actor, decision=body.decision, comment=body.comment, round=body.round,
            document_hash=body.document_hash, channel=Channel.api))

    @routes.post("/partnerships/{partnership}/approvals/{approval}/delegations", tags=["approvals"],
                 response_model=ActionResult, responses=DECIDING,
                 summary="Hand an approver's decision to another stakeholder, with a reason")
    async def delegate(partnership: PartnershipId, approval: ApprovalId, body: DelegationBody,
                       key: Caller = Depends(decisions_allowed)) -> ActionResult:
        return await api.act(key, f"delegate {approval} as {body.actor}", partnership, api.accord().delegate, DelegationInput(
            approval_id=approval, actor=body.actor, to=body.to, reason=body.reason, round=body.round, channel=Channel.api))

    return routes
