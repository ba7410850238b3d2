"""How an endpoint reaches a workflow: through the shared client, with what Temporal says
turned into the matching HTTP answer (404, 409 with the workflow's own message, 422, 503).

Every router of the API is made by ``router(api)`` with one :class:`Api`: the settings, the
client, and the reader of definitions in request bodies (accord/web/api/__init__.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from accord.client import (
    Accord,
    ActionRefused,
    AmendmentInvalid,
    NotFound,
    workflow_id_for,
)
from accord.config import Settings
from accord.models import UpdateResult
from accord.web.api.bodies import ERRORS, ActionResult, problems_of
from accord.web.api.guards import Caller, api_key, sent_by
from definitions.schema import PartnershipDefinition

log = logging.getLogger("accord.api")
T = TypeVar("T")

QUERY_TIMEOUT_SECONDS = 15
UPDATE_TIMEOUT_SECONDS = 30

ReadDefinition = Callable[[Request], Awaitable[PartnershipDefinition | JSONResponse]]


class Answer(Exception):
    """A JSON answer other than {"detail": str}, raised from deep in a request."""

    def __init__(self, status: int, body: dict[str, Any]):
        super().__init__(status)
        self.status = status
        self.body = body


def workflow_id(partnership: str) -> str:
    """The workflow id from a path: a partnership id, or already a workflow id."""
    return partnership if partnership.startswith("partnership-") else workflow_id_for(partnership)


def router() -> APIRouter:
    """A router of the API: every endpoint needs a key (or a signed-in person), documents the
    common error answers, and has its function's name as its operation id (what generated
    clients call their methods)."""
    return APIRouter(dependencies=[Depends(api_key)], responses=ERRORS,
                     generate_unique_id_function=lambda route: route.name)


@dataclass(frozen=True)
class Api:
    settings: Settings
    accord: Callable[[], Accord]  # the shared client
    read_definition: ReadDefinition  # the definition a request carries, or the 4xx answer listing its problems

    async def ask(self, call: Awaitable[T], timeout: float = QUERY_TIMEOUT_SECONDS) -> T:
        """Run a client call; turn what Temporal says into the matching HTTP answer."""
        try:
            return await asyncio.wait_for(call, timeout)
        except NotFound as exc:
            raise HTTPException(404, exc.message) from None
        except AmendmentInvalid as exc:
            raise Answer(422, {"detail": exc.message, "problems": problems_of(exc.issues)}) from None
        except ActionRefused as exc:
            raise HTTPException(409, exc.message) from None
        except RPCError as exc:
            if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
                raise HTTPException(404, "There is no such partnership.") from None
            log.warning("Temporal said %s: %s", exc.status, exc.message)
            raise HTTPException(503, "Temporal is not answering; please try again in a minute.") from None
        except (TimeoutError, WorkflowQueryFailedError) as exc:
            log.warning("no answer in time: %s", type(exc).__name__)
            raise HTTPException(503, "The workflow did not answer in time; please try again in a minute.") from None

    @staticmethod
    def acting(key: Caller, what: str, workflow_id: str) -> None:
        log.info("API caller %s: %s on %s", key.name, what, workflow_id)

    async def act(self, key: Caller, what: str, partnership: str, method: Callable[..., Awaitable[UpdateResult]],
                  payload: Any) -> ActionResult:
        """One update, by the client method every way in uses: the workflow's own validation,
        its refusal as a 409 with its message."""
        wf = workflow_id(partnership)
        self.acting(key, what, wf)
        result = await self.ask(method(wf, sent_by(key, payload)), UPDATE_TIMEOUT_SECONDS)
        return ActionResult(message=result.message)
