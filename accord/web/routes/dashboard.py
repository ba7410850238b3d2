"""The dashboard (/): every partnership, the stuck ones first, then by next deadline."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from temporalio.service import RPCError

from accord.web.site import PAGE, QUERY_TIMEOUT_SECONDS, Site

log = logging.getLogger("accord.web")

_NEVER = datetime.max.replace(tzinfo=UTC)


def router(site: Site) -> APIRouter:
    routes = APIRouter()

    @routes.api_route("/", **PAGE)
    async def dashboard(request: Request) -> Response:
        error, stuck_by_id = None, {}
        try:
            partnerships = await asyncio.wait_for(site.client().list(), QUERY_TIMEOUT_SECONDS)
            stuck_by_id = await asyncio.wait_for(site.client().stuck(partnerships), QUERY_TIMEOUT_SECONDS)
        except (RPCError, TimeoutError) as exc:
            log.warning("listing partnerships failed: %s", exc)
            partnerships, error = [], "Temporal is not answering; the list is empty until it does."
        partnerships.sort(key=lambda p: (p.workflow_id not in stuck_by_id, not p.running, p.next_deadline or _NEVER, p.name))
        return site.render(request, "dashboard.html", {
            "partnerships": partnerships, "error": error, "ui_url": site.settings.workflow_ui_url, "stuck": stuck_by_id,
        }, 503 if error else 200)

    return routes
