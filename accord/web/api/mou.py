"""The MOU: a revised version uploaded (or regenerated from the definition) starts a new round."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from accord.models import Channel, MouRevision
from accord.web.api.bodies import ACTING, ActionResult, MouRevisionBody, PartnershipId
from accord.web.api.calls import Api
from accord.web.api.calls import router as router_base
from accord.web.api.guards import Caller, ops_key


def router(api: Api) -> APIRouter:
    routes = router_base()

    @routes.post("/partnerships/{partnership}/mou/revisions", tags=["mou"], response_model=ActionResult, responses=ACTING,
                 summary="Upload a revised MOU (Markdown), or regenerate it from the definition: a new round starts")
    async def revise_mou(partnership: PartnershipId, body: MouRevisionBody,
                         key: Caller = Depends(ops_key)) -> ActionResult:
        return await api.act(key, f"revise the MOU as {body.actor}", partnership, api.accord().revise_mou,
                             MouRevision(actor=body.actor, note=body.note, markdown=body.markdown, channel=Channel.api))

    return routes
