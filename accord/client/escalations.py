"""Escalations: each runs as its own workflow, a child of the partnership; people act on it
through that workflow's updates (workflows/escalation/), addressed by partnership and
escalation id, or by the child's workflow id (what escalation links carry)."""

from __future__ import annotations

from typing import Literal

from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from accord import amendment
from accord.client.errors import ActionRefused, AmendmentInvalid, NotFound
from accord.client.ids import partnership_id_of
from accord.client.updates import Updates
from accord.models import (
    Acknowledge,
    CareEntry,
    ConfirmClearing,
    EscalationRecord,
    EscalationState,
    PartnershipState,
    Resolve,
    UpdateResult,
    Withdraw,
)
from workflows.escalation import EscalationWorkflow

EscalationAction = Literal["acknowledge", "record_care", "resolve", "withdraw", "confirm_clearing"]
_ESCALATION_UPDATES = {
    "acknowledge": EscalationWorkflow.acknowledge,
    "record_care": EscalationWorkflow.record_care,
    "resolve": EscalationWorkflow.resolve,
    "withdraw": EscalationWorkflow.withdraw,
    "confirm_clearing": EscalationWorkflow.confirm_clearing,
}


class Escalations(Updates):
    async def _partnership_state(self, workflow_id: str) -> PartnershipState:
        try:
            return await self.state(workflow_id)
        except RPCError as exc:
            if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
                raise NotFound(f"There is no partnership workflow {workflow_id!r}.") from None
            raise

    async def escalations(self, workflow_id: str) -> list[EscalationRecord]:
        """The partnership's escalations, as the partnership knows them (oldest first)."""
        return (await self._partnership_state(workflow_id)).escalations

    async def escalation_workflow(self, workflow_id: str, escalation_id: str) -> str:
        """The workflow id of a partnership's escalation (``partnership-x.esc-1.1a2b3c4d``)."""
        state = await self._partnership_state(workflow_id)
        record = next((e for e in state.escalations if e.id == escalation_id), None)
        if record is None:
            known = ", ".join(e.id for e in state.escalations) or "none"
            raise NotFound(f"{state.name} has no escalation {escalation_id!r} (escalations: {known}).")
        if record.workflow_id is None:
            raise ActionRefused(f"Escalation {escalation_id} was raised before escalations ran as their own "
                                "workflows: it has no record of its own to show or act on.")
        return record.workflow_id

    async def escalation(self, workflow_id: str, escalation_id: str) -> EscalationState:
        """An escalation's full record: levels, acknowledgements, CARE, resolution."""
        return await self.escalation_state(await self.escalation_workflow(workflow_id, escalation_id))

    async def escalation_state(self, escalation_workflow_id: str) -> EscalationState:
        """The record of the escalation workflow ``escalation_workflow_id``, running or ended."""
        handle = self.client.get_workflow_handle(escalation_workflow_id, result_type=EscalationState)
        try:
            description = await handle.describe()
        except RPCError as exc:
            if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
                raise NotFound(f"There is no escalation workflow {escalation_workflow_id!r}.") from None
            raise
        if description.workflow_type != EscalationWorkflow.__name__:
            raise NotFound(f"{escalation_workflow_id!r} is not an escalation workflow.")
        if description.status == WorkflowExecutionStatus.COMPLETED:
            # Resolved or withdrawn: its result is the final record (no worker needed to read it).
            return await handle.result()
        return await handle.query(EscalationWorkflow.state)

    async def acknowledge(self, workflow_id: str, escalation_id: str, ack: Acknowledge) -> UpdateResult:
        return await self.on_escalation(await self.escalation_workflow(workflow_id, escalation_id), "acknowledge", ack)

    async def record_care(self, workflow_id: str, escalation_id: str, entry: CareEntry) -> UpdateResult:
        return await self.on_escalation(await self.escalation_workflow(workflow_id, escalation_id), "record_care", entry)

    async def resolve(self, workflow_id: str, escalation_id: str, resolve: Resolve) -> UpdateResult:
        return await self.on_escalation(await self.escalation_workflow(workflow_id, escalation_id), "resolve", resolve)

    async def withdraw(self, workflow_id: str, escalation_id: str, withdraw: Withdraw) -> UpdateResult:
        return await self.on_escalation(await self.escalation_workflow(workflow_id, escalation_id), "withdraw", withdraw)

    async def confirm_clearing(self, workflow_id: str, escalation_id: str, answer: ConfirmClearing) -> UpdateResult:
        """Rules 2: its cause is gone and its level was asked: close it now, or keep it open."""
        return await self.on_escalation(await self.escalation_workflow(workflow_id, escalation_id), "confirm_clearing",
                                        answer)

    async def on_escalation(self, escalation_workflow_id: str, action: EscalationAction,
                            payload: Acknowledge | CareEntry | Resolve | Withdraw | ConfirmClearing) -> UpdateResult:
        """Send one of the escalation workflow's updates. A proposed amendment is checked
        first (the definitions loader, and the partnership's id): an invalid one is refused
        with every problem (:class:`AmendmentInvalid`) and nothing is sent."""
        if isinstance(payload, Resolve) and payload.amendment and payload.amendment.strip():
            state = await self.escalation_state(escalation_workflow_id)
            issues = amendment.problems(payload.amendment, partnership_id_of(state.partnership_workflow_id))
            if issues:
                raise AmendmentInvalid(issues)
        return await self.send_update(escalation_workflow_id, _ESCALATION_UPDATES[action], payload, what="escalation")
