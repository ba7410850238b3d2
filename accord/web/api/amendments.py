"""Amendments: an amended definition (JSON or YAML) proposed, with what differs; it applies once approved."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from accord.models import AmendmentProposal, Channel
from accord.web.api.bodies import (
    ACTING,
    FIELD_BOUND,
    DefinitionProblems,
    PartnershipId,
    Problem,
    Proposed,
)
from accord.web.api.calls import Api, workflow_id
from accord.web.api.calls import router as router_base
from accord.web.api.docs import example
from accord.web.api.guards import Caller, ops_key
from definitions import diff


def router(api: Api) -> APIRouter:
    routes = router_base()

    @routes.post(
        "/partnerships/{partnership}/amendments", tags=["amendments"], status_code=201, response_model=Proposed,
        summary="Propose an amended definition: it goes to approval, and applies once approved",
        responses={**ACTING, 413: {"model": Problem, "description": "The definition is too large."},
                   415: {"model": Problem, "description": "Send JSON or YAML."},
                   422: {"model": DefinitionProblems, "description": "Every problem in the amended definition, as "
                         "`accord validate` reports them (or a query parameter that cannot be valid)."}},
        openapi_extra={"requestBody": {"required": True, "description": (
            "The full amended definition: JSON (`application/json`), or the YAML file's text (`application/yaml`)."),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PartnershipDefinition"},
                                             **example("json")},
                        "application/yaml": {"schema": {"type": "string"}, **example("yaml")}}}},
    )
    async def propose_amendment(
        partnership: PartnershipId, request: Request,
        reason: Annotated[str, Query(max_length=FIELD_BOUND, description="Why it changes.", examples=["Weekly calls instead of monthly."])],
        actor: Annotated[str, Query(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="Who proposes it (a stakeholder id, or ops).")] = "ops",
        key: Caller = Depends(ops_key),
    ) -> Proposed | JSONResponse:
        amended = await api.read_definition(request)
        if isinstance(amended, JSONResponse):
            return amended
        wf = workflow_id(partnership)
        changes = diff.changes(await api.ask(api.accord().definition(wf)), amended)
        result = await api.act(key, f"propose an amendment as {actor}", partnership, api.accord().propose_amendment,
                               AmendmentProposal(definition=amended, actor=actor, reason=reason, channel=Channel.api))
        amendments = (await api.ask(api.accord().state(wf))).amendments
        # One amendment is in approval at a time (the workflow refuses a second): the last one is this one.
        return Proposed(message=result.message, amendment_id=amendments[-1].id if amendments else None, changes=changes)

    return routes
