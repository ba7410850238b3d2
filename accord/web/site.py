"""What every page router shares: the settings, Accord's store, the Temporal client, how a page
is drawn, and how a partnership's state is read for a page.

``create_app`` (accord/web/app.py) makes one Site and hands it to each router of
accord/web/routes/; a router never reaches into another's functions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi.responses import HTMLResponse, Response
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from accord.client import Accord
from accord.config import Settings
from accord.models import PartnershipState
from accord.storage import SharedStorage
from accord.web.problems import Problem, unavailable

log = logging.getLogger("accord.web")

QUERY_TIMEOUT_SECONDS = 15
# An update waits for a worker; past this the person is told to reload and look.
UPDATE_TIMEOUT_SECONDS = 30
# The methods of a page: GET and HEAD only show, whoever fetches (link scanners included).
PAGE: dict[str, Any] = {"methods": ["GET", "HEAD"], "response_class": HTMLResponse}

Render = Callable[..., Response]  # (request, template name, context=None, status=200) -> the page


@dataclass(frozen=True)
class Site:
    settings: Settings
    storage: SharedStorage
    client: Callable[[], Accord]  # the app's client (connected lazily at startup, or shared)
    render: Render

    @property
    def outbox_enabled(self) -> bool:
        return self.settings.mail_backend == "outbox"

    async def state_of(self, workflow_id: str) -> PartnershipState:
        """A partnership's state for a page: 404 if Accord knows none, 503 if Temporal does not answer."""
        try:
            return await asyncio.wait_for(self.client().state(workflow_id), QUERY_TIMEOUT_SECONDS)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise Problem(404, "Partnership not found", "Accord knows no partnership for this link or address.") from None
            log.warning("state query for %s failed: %s", workflow_id, exc.message)
            raise unavailable() from None
        except (TimeoutError, WorkflowQueryFailedError) as exc:
            log.warning("state query for %s failed: %s", workflow_id, type(exc).__name__)
            raise unavailable() from None
