"""/healthz (the process answers) and /readyz (Temporal answers too): public, for orchestrators."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from accord.web.site import Site


def router(site: Site) -> APIRouter:
    routes = APIRouter()

    @routes.api_route("/healthz", methods=["GET", "HEAD"], response_class=JSONResponse)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @routes.api_route("/readyz", methods=["GET", "HEAD"], response_class=JSONResponse)
    async def readyz() -> JSONResponse:
        """Ready when the Temporal frontend answers: every page and action needs it."""
        from accord.ops.monitor import temporal_health

        accord = site.client()
        temporal = await temporal_health(accord.client if accord else None)
        ok = temporal == "ok"
        return JSONResponse({"status": "ready" if ok else "not ready", "temporal": temporal,
                             "temporal_address": site.settings.temporal_address}, status_code=200 if ok else 503)

    return routes
