"""The Python client ops scripts import: start, inspect, list and act on partnerships.

    from accord.client import Accord
    accord = await Accord.connect()
    wf_id = await accord.start(definitions.load("definitions/samples/....yaml"))
    state = await accord.state(wf_id)

The CLI and the web app use this module too, so every interface reaches the workflow
through the same updates and the same validation.

The parts: connection.py (connecting as configured), updates.py (sending an update once, a
refusal in words), escalations.py (acting on an escalation's own workflow), errors.py, ids.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from accord import search_attributes as sa
from accord.client.connection import connect, connect_options, tls_config
from accord.client.errors import (
    ActionRefused,
    AmendmentInvalid,
    DefinitionInvalid,
    NotFound,
)
from accord.client.escalations import EscalationAction, Escalations
from accord.client.ids import partnership_id_of, workflow_id_for
from accord.client.updates import RETRIES
from accord.config import Settings
from accord.models import (
    Agenda,
    AlignmentOverride,
    AmendmentProposal,
    CloseRequest,
    DecisionInput,
    DelegationInput,
    EmailEvent,
    EscalationRecord,
    EscalationRequest,
    MetricObservationInput,
    MouRevision,
    PartnershipInput,
    ReviewInputSubmission,
    ReviewOutcome,
    StatementSubmission,
    TaskCompletion,
    UpdateResult,
)
from definitions.loader import check
from definitions.schema import PartnershipDefinition
from workflows.partnership import PartnershipWorkflow

if TYPE_CHECKING:
    from accord.ops.stuck import StuckPartnership

__all__ = [
    "RETRIES", "Accord", "ActionRefused", "AmendmentInvalid", "Client", "DefinitionInvalid", "EscalationAction",
    "Listed", "NotFound", "connect", "connect_options", "partnership_id_of", "tls_config", "workflow_id_for",
]

_RAISED = re.compile(r"\bEscalation (esc-\d+)\b")


@dataclass(frozen=True)
class Listed:
    workflow_id: str
    name: str
    stage: str
    status: str
    next_deadline: datetime | None
    running: bool


class Accord(Escalations):
    """Start, inspect, list and act on partnerships (their escalations: :class:`Escalations`)."""

    @classmethod
    async def connect(cls, settings: Settings | None = None, *, lazy: bool = False) -> Accord:
        settings = settings or Settings()
        return cls(await connect(settings, lazy=lazy), settings)

    async def start(self, definition: PartnershipDefinition, *, reuse_running: bool = False,
                    history_limit: int | None = None) -> str:
        """Start the partnership's lifecycle workflow and return its id.

        With ``reuse_running`` an already running workflow for the same partnership is
        returned instead of an error (what `accord up` wants on a re-run).
        """
        # The CLI and the API checked the text already; a definition built in code is checked here.
        found = check(definition, **self.settings.definition_checks())
        if found:
            raise DefinitionInvalid(found)
        workflow_id = workflow_id_for(definition.id)
        limit: dict[str, Any] = {"history_limit": history_limit} if history_limit else {}  # else the model's default
        await self.client.start_workflow(
            PartnershipWorkflow.run,
            PartnershipInput(definition=definition, allow_short_durations=self.settings.allow_short_durations,
                             **limit),
            id=workflow_id,
            task_queue=self.settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING if reuse_running else WorkflowIDConflictPolicy.FAIL,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            search_attributes=sa.initial(definition),
            static_summary=f"Partnership: {definition.name}",
            static_details=(
                f"**{definition.name}** ({definition.formality.value})\n\n"
                f"Parties: {', '.join(p.name for p in definition.parties)}\n\n{definition.description}"
            ),
        )
        return workflow_id

    async def agenda(self, workflow_id: str) -> Agenda:
        return await self.handle(workflow_id).query(PartnershipWorkflow.agenda)

    async def definition(self, workflow_id: str) -> PartnershipDefinition:
        return await self.handle(workflow_id).query(PartnershipWorkflow.definition)

    async def stuck(self, listed: list[Listed]) -> dict[str, StuckPartnership]:
        """The stuck ones among ``listed`` (accord/ops/stuck.py), by workflow id, judged by this
        deployment's settings: what `accord list` and the dashboard mark."""
        from accord.ops import stuck

        found = await stuck.find(self.client, workflow_ids=[p.workflow_id for p in listed if p.running],
                                 stuck_activity_after=timedelta(seconds=self.settings.stuck_activity_after),
                                 task_attempts=self.settings.stuck_task_attempts)
        return {p.workflow_id: p for p in found}

    async def list(self, stage: str | None = None, query: str | None = None, limit: int = 100) -> list[Listed]:
        clauses = ["WorkflowType = 'PartnershipWorkflow'"]
        if stage:
            clauses.append(f"{sa.STAGE.name} = '{_quote(stage)}'")
        if query:
            clauses.append(f"({query})")
        out: list[Listed] = []
        async for wf in self.client.list_workflows(" AND ".join(clauses), limit=limit):
            attrs = wf.typed_search_attributes
            out.append(
                Listed(
                    workflow_id=wf.id,
                    name=attrs.get(sa.PARTNERSHIP) or wf.id,
                    stage=attrs.get(sa.STAGE) or "?",
                    status=attrs.get(sa.STATUS) or "?",
                    next_deadline=attrs.get(sa.NEXT_DEADLINE),
                    running=wf.status == WorkflowExecutionStatus.RUNNING,
                )
            )
        return out

    async def complete_task(self, workflow_id: str, completion: TaskCompletion) -> UpdateResult:
        return await self.send_update(workflow_id, PartnershipWorkflow.complete_task, completion)

    async def submit_statement(self, workflow_id: str, statement: StatementSubmission) -> UpdateResult:
        return await self.send_update(workflow_id, PartnershipWorkflow.submit_statement, statement)

    async def decide(self, workflow_id: str, decision: DecisionInput) -> UpdateResult:
        return await self.send_update(workflow_id, PartnershipWorkflow.decide, decision)

    async def override_alignment(self, workflow_id: str, override: AlignmentOverride) -> UpdateResult:
        return await self.send_update(workflow_id, PartnershipWorkflow.override_alignment, override)

    async def escalate(self, workflow_id: str, request: EscalationRequest) -> UpdateResult:
        return await self.send_update(workflow_id, PartnershipWorkflow.escalate, request)

    async def raise_escalation(self, workflow_id: str, request: EscalationRequest) -> tuple[UpdateResult, EscalationRecord]:
        """Escalate, and return the escalation it opened (or the open one it joined: an
        escalation on the same subject that is still open is not raised twice)."""
        result = await self.escalate(workflow_id, request)
        state = await self.state(workflow_id)
        match = _RAISED.search(result.message)
        record = next((e for e in state.escalations if match and e.id == match.group(1)), None)
        return result, record or state.escalations[-1]

    async def delegate(self, workflow_id: str, delegation: DelegationInput) -> UpdateResult:
        return await self.send_update(workflow_id, PartnershipWorkflow.delegate, delegation)

    async def revise_mou(self, workflow_id: str, revision: MouRevision) -> UpdateResult:
        return await self.send_update(workflow_id, PartnershipWorkflow.revise_mou, revision)

    async def submit_review_input(self, workflow_id: str, submission: ReviewInputSubmission) -> UpdateResult:
        return await self.send_update(workflow_id, PartnershipWorkflow.submit_review_input, submission)

    async def record_metric(self, workflow_id: str, observation: MetricObservationInput) -> UpdateResult:
        return await self.send_update(workflow_id, PartnershipWorkflow.record_metric, observation)

    async def record_review_outcome(self, workflow_id: str, outcome: ReviewOutcome) -> UpdateResult:
        return await self.send_update(workflow_id, PartnershipWorkflow.record_review_outcome, outcome)

    async def propose_amendment(self, workflow_id: str, proposal: AmendmentProposal) -> UpdateResult:
        return await self.send_update(workflow_id, PartnershipWorkflow.propose_amendment, proposal)

    async def close(self, workflow_id: str, request: CloseRequest) -> UpdateResult:
        return await self.send_update(workflow_id, PartnershipWorkflow.close, request)

    async def report_email_event(self, workflow_id: str, event: EmailEvent) -> None:
        """Pass on what the mail provider said about an email (a signal: fire and forget)."""
        await self.handle(workflow_id).signal(PartnershipWorkflow.email_event, event)


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")
