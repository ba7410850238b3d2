"""One partnership's pages: its status (/p/<workflow id>) and an MOU version (/p/<workflow id>/mou/<n>)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from accord.models import MOU
from accord.web import documents
from accord.web.problems import Problem
from accord.web.site import PAGE, Site


def router(site: Site) -> APIRouter:
    routes = APIRouter()

    # Before the status route: its {workflow_id:path} would swallow ".../mou/1".
    @routes.api_route("/p/{workflow_id:path}/mou/{version:int}", **PAGE)
    async def mou_version(request: Request, workflow_id: str, version: int) -> Response:
        state = await site.state_of(workflow_id)
        meta = documents.mou_version(state, version)
        if meta is None:
            raise Problem(404, "No such MOU version", f"{state.name} has no MOU version {version}.")
        text = await documents.load(site.storage, version, meta.hash)
        signing = state.approvals.get(MOU)
        return site.render(request, "mou.html", {
            "workflow_id": workflow_id, "s": state, "v": meta, "html": documents.as_html(text),
            "current": state.mou.current is not None and state.mou.current.version == version,
            "decisions": [d for d in (signing.decisions if signing else []) if d.document_version == version],
        })

    @routes.api_route("/p/{workflow_id:path}", **PAGE)
    async def status(request: Request, workflow_id: str) -> Response:
        state = await site.state_of(workflow_id)
        return site.render(request, "status.html", {
            "workflow_id": workflow_id, "s": state, "ui_url": site.settings.workflow_ui_url(workflow_id),
            "tasks": sorted(state.tasks.values(), key=lambda t: (not t.is_open, t.due_at)),
        })

    return routes
