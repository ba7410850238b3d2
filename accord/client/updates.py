"""Reaching one workflow: its handle, the partnership's state, and sending an update once
(one update id for every attempt, retried while the server says "not now"), with a refusal
said in words."""

from __future__ import annotations

import asyncio
import uuid

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from accord.client.errors import ActionRefused, NotFound
from accord.config import Settings
from accord.models import EscalationState, PartnershipState, UpdateResult
from workflows.partnership import PartnershipWorkflow

RETRIES = 12


def _worth_retrying(exc: RPCError) -> bool:
    """Refusals that say "not now", not "no": the server has too many updates in flight for the
    workflow (it admits 10 by default), or the update was dropped, unapplied, because the run
    it reached was continuing as new (aborted, or the server refused that run's last workflow
    task because the update arrived with it): the next run takes it."""
    return (exc.status == RPCStatusCode.RESOURCE_EXHAUSTED or "update was aborted" in exc.message
            or "unexpected workflow task failure" in exc.message)


class Updates:
    """The base of :class:`accord.client.Accord`: a Temporal client and this deployment's settings."""

    def __init__(self, client: Client, settings: Settings | None = None):
        self.client = client
        self.settings = settings or Settings()

    def handle(self, workflow_id: str) -> WorkflowHandle:
        return self.client.get_workflow_handle(workflow_id)

    async def state(self, workflow_id: str) -> PartnershipState:
        return await self.handle(workflow_id).query(PartnershipWorkflow.state)

    async def send_update(self, workflow_id: str, update, arg, what: str = "partnership") -> UpdateResult:
        # One id for every attempt: if an attempt was applied after all, the workflow answers
        # the repeat from its record instead of applying it twice (see workflows/toolkit/updates.py, once).
        update_id = str(uuid.uuid4())
        for attempt in range(RETRIES + 1):
            try:
                return await self.handle(workflow_id).execute_update(update, arg, id=update_id)
            except WorkflowUpdateFailedError as exc:
                cause = exc.cause
                raise ActionRefused(cause.message if isinstance(cause, ApplicationError) else str(cause)) from None
            except RPCError as exc:
                if _worth_retrying(exc) and attempt < RETRIES:
                    await asyncio.sleep(min(0.05 * 2**attempt, 2.0))
                    continue
                raise await self.explain(workflow_id, exc, what) from None
        raise AssertionError("unreachable")

    async def explain(self, workflow_id: str, exc: RPCError, what: str = "partnership") -> ActionRefused:
        """Updates to a finished or unknown workflow fail at the RPC level: say why in words."""
        try:
            description = await self.handle(workflow_id).describe()
        except RPCError as missing:
            if missing.status != RPCStatusCode.NOT_FOUND:
                # An outage is not a missing partnership: say what is wrong, and that it may have to be redone.
                return ActionRefused(f"Temporal is not answering ({missing.message}); nothing is known to have changed. "
                                     "Try again in a minute.")
            return NotFound(f"There is no {what} workflow {workflow_id!r}.")
        if what == "escalation" and description.status == WorkflowExecutionStatus.COMPLETED:
            final = await self.client.get_workflow_handle(workflow_id, result_type=EscalationState).result()
            by = f" by {final.closed_by}" if final.closed_by else ""
            return ActionRefused(f"This escalation is already {final.status.value}{by}; nothing was changed.")
        if description.status != WorkflowExecutionStatus.RUNNING:
            ended = description.status.name.lower() if description.status else "unknown"
            return ActionRefused(f"This {what}'s workflow has ended ({ended}); nothing was changed.")
        return ActionRefused(exc.message)
