"""Screening: goal-alignment statements and the override of diverging ones."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from accord.models import AlignmentOverride, Channel, StatementSubmission
from accord.web.api.bodies import (
    ACTING,
    ActionResult,
    OverrideBody,
    PartnershipId,
    StatementBody,
)
from accord.web.api.calls import Api
from accord.web.api.calls import router as router_base
from accord.web.api.guards import Caller, ops_key


def router(api: Api) -> APIRouter:
    routes = router_base()

    @routes.post("/partnerships/{partnership}/statements", tags=["screening"], response_model=ActionResult,
                 responses=ACTING, summary="Record a stakeholder's goal-alignment statement")
    async def submit_statement(partnership: PartnershipId, body: StatementBody,
                               key: Caller = Depends(ops_key)) -> ActionResult:
        return await api.act(key, f"statement of {body.stakeholder}", partnership, api.accord().submit_statement,
                             StatementSubmission(stakeholder=body.stakeholder, text=body.text, channel=Channel.api))

    @routes.post("/partnerships/{partnership}/alignment/override", tags=["screening"], response_model=ActionResult,
                 responses=ACTING, summary="Let screening proceed despite diverging goal statements (with a reason)")
    async def override_alignment(partnership: PartnershipId, body: OverrideBody,
                                 key: Caller = Depends(ops_key)) -> ActionResult:
        return await api.act(key, f"override alignment as {body.actor}", partnership, api.accord().override_alignment,
                             AlignmentOverride(actor=body.actor, reason=body.reason, channel=Channel.api))

    return routes
