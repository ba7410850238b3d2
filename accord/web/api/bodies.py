"""What the API reads and answers: path and field types, request bodies, answers, and the
error answers each kind of endpoint documents.

Ids are checked against what definitions allow (a 422 before Temporal is asked); texts are
bounded far above the workflows' own limits, so those limits and their messages decide.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from accord.models import (
    CareStep,
    DecisionKind,
    EscalationRecord,
    PartnershipState,
    Rag,
    Severity,
)
from definitions.loader import Issue

# Paths (ids) as the definitions allow them; anything else is a 422 before Temporal is asked.
PartnershipId = Annotated[str, Path(
    pattern=r"^[a-z0-9][a-z0-9_-]{0,74}$", examples=["county-permits-modernisation"],
    description="The partnership's id (from its definition), or its workflow id `partnership-<id>`.")]
EscalationId = Annotated[str, Path(pattern=r"^esc-[0-9]{1,9}$", examples=["esc-1"], description="The escalation's id.")]
TaskId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", examples=["legal-review"])]
Actor = Annotated[str, Field(
    pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$",
    description="Stakeholder id of the person acting (the workflow checks it), or `ops`.")]
ReviewId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", examples=["weekly_status-3"],
                                description="The review's id (`<kind>-<n>`, as `accord review list` shows it).")]
ApprovalId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", examples=["mou"],
                                  description="The approval's id: `go-no-go`, `mou`, `renewal-<n>`, `amendment-<n>` (`GET .../approvals` lists them).")]
MetricId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", examples=["permit-turnaround-days"])]
StakeholderId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", examples=["alice"])]
# A bound on what is read from one text field, far above every limit the workflows set (5,000
# characters for most texts, 2,000 for a goal statement): those limits, and their messages,
# decide, exactly as for the CLI, the email links and a plain Temporal update. Empty texts reach
# the workflow too, which says what is missing ("Please give a reason.").
FIELD_BOUND = 50_000
Text = Annotated[str, Field(max_length=FIELD_BOUND)]
# Every API request body is read up to this many bytes (an uploaded MOU may be 200,000
# characters); larger ones get a 413 before anything is parsed.
MAX_REQUEST_BYTES = 2 * 1024 * 1024


class Problem(BaseModel):
    detail: str


class DefinitionProblem(BaseModel):
    file: str
    line: int
    path: str
    message: str


class DefinitionProblems(BaseModel):
    detail: str
    problems: list[DefinitionProblem]


class Started(BaseModel):
    workflow_id: str
    partnership_id: str
    ui_url: str


class Status(BaseModel):
    workflow_id: str
    ui_url: str
    state: PartnershipState


class ActionResult(BaseModel):
    message: str = Field(description="What the workflow said.")


class Escalate(BaseModel):
    reason: Text
    level: int = Field(1, ge=1, le=100, description="Ladder level (1-based) it starts at; the workflow checks the ladder.")
    severity: Severity = Severity.normal
    subject: Text = Field("partnership", description="What it is about.")


class Raised(BaseModel):
    message: str
    escalation: EscalationRecord
    ui_url: str | None = Field(None, description="The escalation's own workflow in the Temporal UI.")


class AcknowledgeBody(BaseModel):
    actor: Actor = "ops"
    note: Text = ""


class CareBody(BaseModel):
    actor: Actor = "ops"
    step: CareStep
    text: Text
    party: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")] | None = Field(
        None, description="For `acknowledge`: whose perspective (party id). Default: the actor's party; ops must name it.")


class ResolveBody(BaseModel):
    actor: Actor = "ops"
    resolution: Text
    amendment: str | None = Field(
        None, max_length=FIELD_BOUND,
        description="Optional proposed amendment: the full amended definition (YAML), checked like `accord validate`.")


class WithdrawBody(BaseModel):
    actor: Actor = "ops"
    reason: Text


class TaskResult(BaseModel):
    actor: Actor = Field(description="Stakeholder id of the person on whose behalf the task is marked done.")
    result: Text = Field("", description="Outcome or notes.")


def shown(**example: Any) -> ConfigDict:
    """A body model's example, shown in the schema and the interactive docs."""
    return ConfigDict(json_schema_extra={"examples": [example]})


class DecisionBody(BaseModel):
    model_config = shown(actor="alice", decision="request_changes", comment="Clause 4 must name the data owner.")

    actor: StakeholderId = Field(description="The approver deciding (the workflow checks it is their turn).")
    decision: DecisionKind
    comment: Text = Field("", description="The reason; required to reject or request changes.")
    round: int | None = Field(None, ge=1, le=10_000, description="The round decided on; a superseded round is refused.")
    document_hash: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the document version read; refused if another version is up for decision.")


class DelegationBody(BaseModel):
    model_config = shown(actor="alice", to="arun", reason="Arun holds the budget while I am away.")

    actor: StakeholderId = Field(description="The approver handing over their decision.")
    to: StakeholderId = Field(description="The stakeholder who decides instead.")
    reason: Text
    round: int | None = Field(None, ge=1, le=10_000)


class StatementBody(BaseModel):
    model_config = shown(stakeholder="bea", text="Residents get a permit decision online in 10 days instead of 42.")

    stakeholder: StakeholderId = Field(description="Whose goal statement this is.")
    text: Text = Field(description="Two sentences on the partnership's primary goal.")


class OverrideBody(BaseModel):
    model_config = shown(actor="alice", reason="The wording differs; the goal is the same, agreed on the call.")

    actor: StakeholderId = Field(description="A go/no-go approver (or whom the definition names).")
    reason: Text


class ReviewInputBody(BaseModel):
    model_config = shown(stakeholder="bo", rag="amber", note="Data migration one week late.")

    stakeholder: StakeholderId = Field(description="The participant whose input this is.")
    rag: Rag | None = Field(None, description="Weekly status: green, amber or red.")
    note: Text = ""
    contribution: float | None = Field(None, allow_inf_nan=False, description="Annual review: this party's contribution, 1-10.")
    benefit: float | None = Field(None, allow_inf_nan=False, description="Annual review: this party's benefit, 1-10.")


class ReviewAction(BaseModel):
    title: Text
    owner: StakeholderId
    due_in_days: int = Field(14, ge=1, le=366)


class ReviewOutcomeBody(BaseModel):
    model_config = shown(actor="ops", decisions=["Move the cut-over to June."],
                            actions=[{"title": "Plan the June cut-over", "owner": "arun", "due_in_days": 14}])

    actor: Actor = "ops"
    decisions: list[Text] = Field(default_factory=list, max_length=100)
    actions: list[ReviewAction] = Field(default_factory=list, max_length=100,
                                        description="Each becomes a task, checked at the next review.")


class MetricBody(BaseModel):
    model_config = shown(actor="arun", value=31.5, note="May average")

    actor: Actor = Field(description="Who measured it (its owner, or ops on their behalf).")
    value: float = Field(allow_inf_nan=False)
    note: Text = ""


class MouRevisionBody(BaseModel):
    model_config = shown(actor="ops", note="Clause 4 names the data owner.", markdown="# Memorandum of understanding\n...")

    actor: Actor = "ops"
    note: Text = Field("", description="What changed.")
    markdown: str | None = Field(
        None, max_length=400_000,
        description="The revised MOU (Markdown); absent or null: regenerate it from the definition.")


class CloseBody(BaseModel):
    model_config = shown(actor="ops", reason="Both parties agreed to end it at the annual review.")

    actor: Actor = Field(description="ops, or an approver of amendments (the MOU signatories by default).")
    reason: Text


class Proposed(BaseModel):
    message: str = Field(description="What the workflow said: the amendment's id and who approves it.")
    amendment_id: str | None = Field(None, description="Also the id of its approval (decide on it like any other).")
    changes: list[str] = Field(description="What differs from the definition in force, by field path (as `accord amend` prints).")


def problems_of(issues: list[Issue]) -> list[dict[str, Any]]:
    """A definition's problems as the API answers them (a list of DefinitionProblem)."""
    return [{"file": i.file, "line": i.line, "path": i.path, "message": i.message} for i in issues]


# ---------------------------------------------------------------------- documented error answers

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The body could not be read (not JSON, not UTF-8), or an API key was sent in the URL."},
    401: {"model": Problem, "description": "No API key, or not a valid one."},
    404: {"model": Problem, "description": "No such partnership (or escalation, or page)."},
    503: {"model": Problem, "description": "Temporal or the workers did not answer in time."},
}
ACTING: dict[int | str, dict[str, Any]] = {
    403: {"model": Problem, "description": "The key may only read (role viewer)."},
    409: {"model": Problem, "description": "The workflow refused the action; `detail` is its message."},
    413: {"model": Problem, "description": f"The request body is larger than {MAX_REQUEST_BYTES:,} bytes, the most this API reads."},
}
DECIDING: dict[int | str, dict[str, Any]] = {
    **ACTING,
    403: {"model": Problem, "description": "The key may only read (role viewer), or this organisation takes decisions and "
          "delegations only through the signed links in their emails (setting `api_decisions`)."},
}
