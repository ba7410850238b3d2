"""Escalations: raise one (the caller's name is recorded as who raised it), read them, and act
on one: acknowledge, a CARE step, resolve (optionally with an amendment), withdraw.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from accord.models import (
    Acknowledge,
    CareEntry,
    Channel,
    EscalationRecord,
    EscalationRequest,
    EscalationState,
    Resolve,
    Withdraw,
)
from accord.web.api.bodies import (
    ACTING,
    AcknowledgeBody,
    ActionResult,
    CareBody,
    Escalate,
    EscalationId,
    PartnershipId,
    Raised,
    ResolveBody,
    WithdrawBody,
)
from accord.web.api.calls import UPDATE_TIMEOUT_SECONDS, Api, workflow_id
from accord.web.api.calls import router as router_base
from accord.web.api.guards import Caller, ops_key


def router(api: Api) -> APIRouter:
    routes = router_base()

    @routes.post("/partnerships/{partnership}/escalations", tags=["escalations"], status_code=201, response_model=Raised, responses=ACTING,
                 summary="Raise an escalation (the key's name is recorded as who raised it)")
    async def escalate(partnership: PartnershipId, body: Escalate, key: Caller = Depends(ops_key)) -> Raised:
        wf = workflow_id(partnership)
        api.acting(key, "escalate", wf)
        request = EscalationRequest(reason=body.reason, subject=body.subject, level=body.level, severity=body.severity,
                                    raised_by=key.name, channel=Channel.api)
        result, record = await api.ask(api.accord().raise_escalation(wf, request), UPDATE_TIMEOUT_SECONDS)
        ui = api.settings.workflow_ui_url(record.workflow_id) if record.workflow_id else None
        return Raised(message=result.message, escalation=record, ui_url=ui)

    @routes.get("/partnerships/{partnership}/escalations", tags=["escalations"], response_model=list[EscalationRecord],
                summary="A partnership's escalations")
    async def list_escalations(partnership: PartnershipId) -> list[EscalationRecord]:
        return await api.ask(api.accord().escalations(workflow_id(partnership)))

    @routes.get("/partnerships/{partnership}/escalations/{escalation}", tags=["escalations"], response_model=EscalationState,
                summary="One escalation's record: levels, acknowledgements, CARE, resolution")
    async def get_escalation(partnership: PartnershipId, escalation: EscalationId) -> EscalationState:
        return await api.ask(api.accord().escalation(workflow_id(partnership), escalation))

    @routes.post("/partnerships/{partnership}/escalations/{escalation}/acknowledge", tags=["escalations"], response_model=ActionResult,
                 responses=ACTING, summary="Acknowledge an escalation (it stops climbing)")
    async def acknowledge(partnership: PartnershipId, escalation: EscalationId, body: AcknowledgeBody,
                          key: Caller = Depends(ops_key)) -> ActionResult:
        return await api.act(key, f"acknowledge {escalation} as {body.actor}", partnership,
                             lambda wf, p: api.accord().acknowledge(wf, escalation, p),
                             Acknowledge(actor=body.actor, note=body.note, channel=Channel.api))

    @routes.post("/partnerships/{partnership}/escalations/{escalation}/care", tags=["escalations"], response_model=ActionResult,
                 responses=ACTING, summary="Record a CARE step (clarify, acknowledge, reframe, explore)")
    async def record_care(partnership: PartnershipId, escalation: EscalationId, body: CareBody,
                          key: Caller = Depends(ops_key)) -> ActionResult:
        return await api.act(key, f"record {body.step} on {escalation} as {body.actor}", partnership,
                             lambda wf, p: api.accord().record_care(wf, escalation, p),
                             CareEntry(actor=body.actor, step=body.step, text=body.text, party=body.party, channel=Channel.api))

    @routes.post("/partnerships/{partnership}/escalations/{escalation}/resolve", tags=["escalations"], response_model=ActionResult,
                 responses={**ACTING, 422: {"description": "The amendment's problems (`problems`), or a body that "
                                             "cannot be valid", "content": {"application/json": {"schema": {"anyOf": [
                                                 {"$ref": "#/components/schemas/DefinitionProblems"},
                                                 {"$ref": "#/components/schemas/HTTPValidationError"}]}}}}},
                 summary="Resolve an escalation, optionally proposing an amended definition")
    async def resolve(partnership: PartnershipId, escalation: EscalationId, body: ResolveBody,
                      key: Caller = Depends(ops_key)) -> ActionResult:
        amendment = body.amendment if body.amendment and body.amendment.strip() else None
        return await api.act(key, f"resolve {escalation} as {body.actor}", partnership,
                             lambda wf, p: api.accord().resolve(wf, escalation, p),
                             Resolve(actor=body.actor, resolution=body.resolution, amendment=amendment, channel=Channel.api))

    @routes.post("/partnerships/{partnership}/escalations/{escalation}/withdraw", tags=["escalations"], response_model=ActionResult,
                 responses=ACTING, summary="Withdraw an escalation, with a reason")
    async def withdraw(partnership: PartnershipId, escalation: EscalationId, body: WithdrawBody,
                       key: Caller = Depends(ops_key)) -> ActionResult:
        return await api.act(key, f"withdraw {escalation} as {body.actor}", partnership,
                             lambda wf, p: api.accord().withdraw(wf, escalation, p),
                             Withdraw(actor=body.actor, reason=body.reason, channel=Channel.api))

    return routes
