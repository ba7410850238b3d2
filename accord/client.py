"""The Python client ops scripts import: start, inspect, list and act on partnerships.

    from accord.client import Accord
    accord = await Accord.connect()
    wf_id = await accord.start(definitions.load("definitions/samples/....yaml"))
    state = await accord.state(wf_id)

The CLI and the web app use this module too, so every interface reaches the workflow
through the same updates and the same validation.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
import re
from typing import TYPE_CHECKING, Literal

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from accord import amendment
from accord.codec import data_converter
from accord import search_attributes as sa
from accord.config import ConfigError, Settings
from accord.models import (
    Acknowledge,
    Agenda,
    AlignmentOverride,
    AmendmentProposal,
    CareEntry,
    CloseRequest,
    ConfirmClearing,
    DecisionInput,
    DelegationInput,
    EmailEvent,
    MouRevision,
    EscalationRecord,
    EscalationRequest,
    EscalationState,
    MetricObservationInput,
    PartnershipInput,
    PartnershipState,
    Resolve,
    ReviewInputSubmission,
    ReviewOutcome,
    StatementSubmission,
    TaskCompletion,
    UpdateResult,
    Withdraw,
)
from definitions.checks import Problem
from definitions.loader import Issue, check
from definitions.schema import PartnershipDefinition
from workflows.escalation import EscalationWorkflow
from workflows.partnership import PartnershipWorkflow

if TYPE_CHECKING:
    from accord.ops.stuck import StuckPartnership

EscalationAction = Literal["acknowledge", "record_care", "resolve", "withdraw", "confirm_clearing"]
_ESCALATION_UPDATES = {
    "acknowledge": EscalationWorkflow.acknowledge,
    "record_care": EscalationWorkflow.record_care,
    "resolve": EscalationWorkflow.resolve,
    "withdraw": EscalationWorkflow.withdraw,
    "confirm_clearing": EscalationWorkflow.confirm_clearing,
}
_RAISED = re.compile(r"\bEscalation (esc-\d+)\b")


RETRIES = 12


def _worth_retrying(exc: RPCError) -> bool:
    """Refusals that say "not now", not "no": the server has too many updates in flight for the
    workflow (it admits 10 by default), or the update was dropped, unapplied, because the run
    it reached was continuing as new (aborted, or the server refused that run's last workflow
    task because the update arrived with it): the next run takes it."""
    return (exc.status == RPCStatusCode.RESOURCE_EXHAUSTED or "update was aborted" in exc.message
            or "unexpected workflow task failure" in exc.message)


def workflow_id_for(partnership_id: str) -> str:
    return f"partnership-{partnership_id}"


def partnership_id_of(workflow_id: str) -> str:
    """The definition id of a partnership workflow id (the inverse of :func:`workflow_id_for`)."""
    return workflow_id.removeprefix("partnership-")


class ActionRefused(Exception):
    """The workflow refused an action (wrong person, already decided, stale round...)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(ActionRefused):
    """There is no such partnership or escalation (an HTTP 404, where the others are 409)."""


class DefinitionInvalid(ActionRefused):
    """A definition this deployment does not start: it fails the checks `accord validate` makes here."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"The definition has {len(problems)} problem(s): "
                         + "; ".join(f"{p.dotted}: {p.message}" for p in problems))
        self.problems = problems


class AmendmentInvalid(ActionRefused):
    """A resolution's proposed amendment is not a valid definition of this partnership."""

    def __init__(self, issues: list[Issue]):
        super().__init__(f"The proposed amendment has {len(issues)} problem(s): "
                         + "; ".join(f"line {i.line}: {i.path}: {i.message}" for i in issues))
        self.issues = issues


@dataclass(frozen=True)
class Listed:
    workflow_id: str
    name: str
    stage: str
    status: str
    next_deadline: datetime | None
    running: bool


def _pem(path: Path | None, what: str) -> bytes | None:
    if path is None:
        return None
    try:
        data = Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise ConfigError(f"{what} {path}: {exc.strerror or exc}") from None
    if b"-----BEGIN" not in data:
        raise ConfigError(f"{what} {path}: not a PEM file (no -----BEGIN line)")
    return data


def tls_config(settings: Settings) -> TLSConfig | bool:
    """What ``Client.connect(tls=...)`` gets: a TLSConfig built from the configured files,
    True for TLS with the system's roots (``temporal_tls``, or an API key), else False."""
    if bool(settings.temporal_tls_cert) != bool(settings.temporal_tls_key):
        have, need = ("temporal_tls_cert", "temporal_tls_key") if settings.temporal_tls_cert else (
            "temporal_tls_key", "temporal_tls_cert")
        raise ConfigError(f"{have} is set but {need} is not: mTLS needs both the client certificate and its key")
    if settings.temporal_tls_cert or settings.temporal_tls_ca or settings.temporal_tls_server_name:
        return TLSConfig(
            server_root_ca_cert=_pem(settings.temporal_tls_ca, "temporal_tls_ca"),
            domain=settings.temporal_tls_server_name or None,
            client_cert=_pem(settings.temporal_tls_cert, "temporal_tls_cert"),
            client_private_key=_pem(settings.temporal_tls_key, "temporal_tls_key"),
        )
    return settings.temporal_tls_enabled


def connect_options(settings: Settings) -> dict:
    """Client.connect's keyword arguments for these settings (tested without a server)."""
    api_key = settings.temporal_api_key.get_secret_value().strip() if settings.temporal_api_key else ""
    options: dict = {
        "namespace": settings.temporal_namespace,
        # pydantic, plus the encrypting codec when codec_keys are set (accord/codec.py).
        "data_converter": data_converter(settings),
        "tls": tls_config(settings),
        "api_key": api_key or None,
    }
    if settings.worker_identity:
        options["identity"] = settings.worker_identity
    return options


async def connect(settings: Settings, *, runtime: Runtime | None = None, interceptors: Sequence = (),
                  lazy: bool = False) -> Client:
    """Connect to Temporal as configured: address, namespace, TLS/mTLS or API key.

    ``runtime`` carries the telemetry (Prometheus) for a worker; ``interceptors`` that are
    also worker interceptors (tracing) apply to workers built on this client too. ``lazy``
    connects on the first call instead (a web app that starts before the server).
    """
    return await Client.connect(
        settings.temporal_address,
        **connect_options(settings),
        runtime=runtime,
        interceptors=list(interceptors),
        lazy=lazy,
    )


class Accord:
    def __init__(self, client: Client, settings: Settings | None = None):
        self.client = client
        self.settings = settings or Settings()

    @classmethod
    async def connect(cls, settings: Settings | None = None, *, lazy: bool = False) -> "Accord":
        settings = settings or Settings()
        return cls(await connect(settings, lazy=lazy), settings)

    def handle(self, workflow_id: str) -> WorkflowHandle:
        return self.client.get_workflow_handle(workflow_id)

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
        await self.client.start_workflow(
            PartnershipWorkflow.run,
            PartnershipInput(definition=definition, allow_short_durations=self.settings.allow_short_durations,
                             **({"history_limit": history_limit} if history_limit else {})),
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

    async def state(self, workflow_id: str) -> PartnershipState:
        return await self.handle(workflow_id).query(PartnershipWorkflow.state)

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

    async def _update(self, workflow_id: str, update, arg, what: str = "partnership") -> UpdateResult:
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
                raise await self._explain(workflow_id, exc, what) from None
        raise AssertionError("unreachable")

    async def _explain(self, workflow_id: str, exc: RPCError, what: str = "partnership") -> ActionRefused:
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
            return ActionRefused(f"This {what}'s workflow has ended ({description.status.name.lower()}); nothing was changed.")
        return ActionRefused(exc.message)

    async def complete_task(self, workflow_id: str, completion: TaskCompletion) -> UpdateResult:
        return await self._update(workflow_id, PartnershipWorkflow.complete_task, completion)

    async def submit_statement(self, workflow_id: str, statement: StatementSubmission) -> UpdateResult:
        return await self._update(workflow_id, PartnershipWorkflow.submit_statement, statement)

    async def decide(self, workflow_id: str, decision: DecisionInput) -> UpdateResult:
        return await self._update(workflow_id, PartnershipWorkflow.decide, decision)

    async def override_alignment(self, workflow_id: str, override: AlignmentOverride) -> UpdateResult:
        return await self._update(workflow_id, PartnershipWorkflow.override_alignment, override)

    async def escalate(self, workflow_id: str, request: EscalationRequest) -> UpdateResult:
        return await self._update(workflow_id, PartnershipWorkflow.escalate, request)

    async def raise_escalation(self, workflow_id: str, request: EscalationRequest) -> tuple[UpdateResult, EscalationRecord]:
        """Escalate, and return the escalation it opened (or the open one it joined: an
        escalation on the same subject that is still open is not raised twice)."""
        result = await self.escalate(workflow_id, request)
        state = await self.state(workflow_id)
        match = _RAISED.search(result.message)
        record = next((e for e in state.escalations if match and e.id == match.group(1)), None)
        return result, record or state.escalations[-1]

    # ------------------------------------------------------------------ escalations
    # An escalation runs as its own workflow, a child of the partnership; people act on it
    # through that workflow's updates (workflows/escalation/), addressed by partnership
    # and escalation id here, or by the child's workflow id (what escalation links carry).

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
        return await self._update(escalation_workflow_id, _ESCALATION_UPDATES[action], payload, what="escalation")

    async def delegate(self, workflow_id: str, delegation: DelegationInput) -> UpdateResult:
        return await self._update(workflow_id, PartnershipWorkflow.delegate, delegation)

    async def revise_mou(self, workflow_id: str, revision: MouRevision) -> UpdateResult:
        return await self._update(workflow_id, PartnershipWorkflow.revise_mou, revision)

    async def submit_review_input(self, workflow_id: str, submission: ReviewInputSubmission) -> UpdateResult:
        return await self._update(workflow_id, PartnershipWorkflow.submit_review_input, submission)

    async def record_metric(self, workflow_id: str, observation: MetricObservationInput) -> UpdateResult:
        return await self._update(workflow_id, PartnershipWorkflow.record_metric, observation)

    async def record_review_outcome(self, workflow_id: str, outcome: ReviewOutcome) -> UpdateResult:
        return await self._update(workflow_id, PartnershipWorkflow.record_review_outcome, outcome)

    async def propose_amendment(self, workflow_id: str, proposal: AmendmentProposal) -> UpdateResult:
        return await self._update(workflow_id, PartnershipWorkflow.propose_amendment, proposal)

    async def close(self, workflow_id: str, request: CloseRequest) -> UpdateResult:
        return await self._update(workflow_id, PartnershipWorkflow.close, request)

    async def report_email_event(self, workflow_id: str, event: EmailEvent) -> None:
        """Pass on what the mail provider said about an email (a signal: fire and forget)."""
        await self.handle(workflow_id).signal(PartnershipWorkflow.email_event, event)


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")
