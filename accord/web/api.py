"""The HTTP JSON API (mounted at /api/v1): every action on partnerships and escalations, for programs.

    curl -H "Authorization: Bearer $KEY" http://localhost:8000/api/v1/partnerships

Every action goes through :class:`accord.client.Accord`, so it reaches the workflow by
the same update, with the same validation, as the CLI, the pages and a plain Temporal
update: one endpoint per update (tasks, statements, the alignment override, decisions and
delegations, MOU revisions, review inputs and outcomes, metrics, amendments, closing,
escalations). A refusal by the workflow is a 409 with the workflow's own message; a request
that cannot be valid is a 422; an unknown partnership or escalation is a 404. Text fields
are bounded far above the workflows' own limits, so those limits and their messages decide
(``FIELD_BOUND``). With ``Settings.api_decisions`` off, decisions and delegations are refused
(403): approvers then decide only through their signed email links (or the CLI).

Authentication: ``Authorization: Bearer <key>``, checked before anything else is read
(an ASGI middleware, so a bad body cannot get a 422 in before the 401). A key-like query
parameter (``?api_key=``, ``?token=``...) is refused with a 400 that says to use the header. Keys are
configured hashed (``Settings.api_keys``), each with a name and a role: ``ops`` may act,
``viewer`` may only read (GET). Without a key, a person signed in to the web app (the
session the sign-in guard found, accord/web/auth/) is taken with their role instead. The
caller's name (the key's, or ``ops:<person>``) is recorded as who raised an escalation;
for the other actions the workflow names a stakeholder (or ``ops``), given in the body,
and the caller's name goes to the log.

The OpenAPI schema is at /api/v1/openapi.json, interactive docs at /api/v1/docs
(Swagger UI served from this app: no CDN, and a CSP that allows only this origin).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal, TypeVar

from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    HTTPException,
    Path,
    Query,
    Request,
    Security,
)
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import WorkflowQueryFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from accord import apikeys
from accord.web.auth.policy import is_api
from accord.client import (
    Accord,
    ActionRefused,
    AmendmentInvalid,
    Listed,
    NotFound,
    workflow_id_for,
)
from accord.config import ApiKey, Settings
from accord.models import (
    Acknowledge,
    ActionInput,
    AlignmentOverride,
    AmendmentProposal,
    ApprovalState,
    CareEntry,
    CareStep,
    Channel,
    CloseRequest,
    DecisionInput,
    DecisionKind,
    DelegationInput,
    EscalationRecord,
    EscalationRequest,
    EscalationState,
    MetricObservationInput,
    MouRevision,
    PartnershipState,
    Rag,
    Resolve,
    ReviewInputSubmission,
    ReviewOutcome,
    Severity,
    Stage,
    StatementSubmission,
    TaskCompletion,
    UpdateResult,
    Withdraw,
)
from accord.web import redact
from accord.web.auth import PERSON, Person
from accord.web.problems import temporal_unreachable
from definitions import diff
from definitions.loader import MAX_TEXT, DefinitionError, Issue, decode, parse
from definitions.schema import PartnershipDefinition

log = logging.getLogger("accord.api")
T = TypeVar("T")

QUERY_TIMEOUT_SECONDS = 15
UPDATE_TIMEOUT_SECONDS = 30
MAX_DEFINITION_BYTES = MAX_TEXT  # the loader's own limit on a definition file, in bytes
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SCOPE_KEY = "accord.api_key"
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
JSON_TYPES = ("application/json",)
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")

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


# ---------------------------------------------------------------------- bodies and answers


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


def _shown(**example: Any) -> ConfigDict:
    """A body model's example, shown in the schema and the interactive docs."""
    return ConfigDict(json_schema_extra={"examples": [example]})


class DecisionBody(BaseModel):
    model_config = _shown(actor="alice", decision="request_changes", comment="Clause 4 must name the data owner.")

    actor: StakeholderId = Field(description="The approver deciding (the workflow checks it is their turn).")
    decision: DecisionKind
    comment: Text = Field("", description="The reason; required to reject or request changes.")
    round: int | None = Field(None, ge=1, le=10_000, description="The round decided on; a superseded round is refused.")
    document_hash: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the document version read; refused if another version is up for decision.")


class DelegationBody(BaseModel):
    model_config = _shown(actor="alice", to="arun", reason="Arun holds the budget while I am away.")

    actor: StakeholderId = Field(description="The approver handing over their decision.")
    to: StakeholderId = Field(description="The stakeholder who decides instead.")
    reason: Text
    round: int | None = Field(None, ge=1, le=10_000)


class StatementBody(BaseModel):
    model_config = _shown(stakeholder="bea", text="Residents get a permit decision online in 10 days instead of 42.")

    stakeholder: StakeholderId = Field(description="Whose goal statement this is.")
    text: Text = Field(description="Two sentences on the partnership's primary goal.")


class OverrideBody(BaseModel):
    model_config = _shown(actor="alice", reason="The wording differs; the goal is the same, agreed on the call.")

    actor: StakeholderId = Field(description="A go/no-go approver (or whom the definition names).")
    reason: Text


class ReviewInputBody(BaseModel):
    model_config = _shown(stakeholder="bo", rag="amber", note="Data migration one week late.")

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
    model_config = _shown(actor="ops", decisions=["Move the cut-over to June."],
                            actions=[{"title": "Plan the June cut-over", "owner": "arun", "due_in_days": 14}])

    actor: Actor = "ops"
    decisions: list[Text] = Field(default_factory=list, max_length=100)
    actions: list[ReviewAction] = Field(default_factory=list, max_length=100,
                                        description="Each becomes a task, checked at the next review.")


class MetricBody(BaseModel):
    model_config = _shown(actor="arun", value=31.5, note="May average")

    actor: Actor = Field(description="Who measured it (its owner, or ops on their behalf).")
    value: float = Field(allow_inf_nan=False)
    note: Text = ""


class MouRevisionBody(BaseModel):
    model_config = _shown(actor="ops", note="Clause 4 names the data owner.", markdown="# Memorandum of understanding\n...")

    actor: Actor = "ops"
    note: Text = Field("", description="What changed.")
    markdown: str | None = Field(
        None, max_length=400_000,
        description="The revised MOU (Markdown); absent or null: regenerate it from the definition.")


class CloseBody(BaseModel):
    model_config = _shown(actor="ops", reason="Both parties agreed to end it at the annual review.")

    actor: Actor = Field(description="ops, or an approver of amendments (the MOU signatories by default).")
    reason: Text


class Proposed(BaseModel):
    message: str = Field(description="What the workflow said: the amendment's id and who approves it.")
    amendment_id: str | None = Field(None, description="Also the id of its approval (decide on it like any other).")
    changes: list[str] = Field(description="What differs from the definition in force, by field path (as `accord amend` prints).")


class Answer(Exception):
    """A JSON answer other than {"detail": str}, raised from deep in a request."""

    def __init__(self, status: int, body: dict[str, Any]):
        super().__init__(status)
        self.status = status
        self.body = body


# ---------------------------------------------------------------------- authentication


@dataclass(frozen=True)
class Caller:
    """Who is calling: an API key (its name), or a signed-in person (``ops:<name>``)."""

    name: str
    role: Literal["ops", "viewer"] | None


def sent_by(caller: Caller, payload: Any) -> Any:
    """The payload with who sent it (an API key's name, or ``ops:<name>`` for a signed-in person)
    when that is not its actor: the record says "by API key X" beside whom it is for (rules 2)."""
    if "sent_by" not in type(payload).model_fields or caller.name == getattr(payload, "actor", None):
        return payload
    return payload.model_copy(update={"sent_by": caller.name})


class RefuseKeysInUrl:
    """A key-like query parameter (``?api_key=``, ``?token=``...) is refused before anything else,
    even beside a valid header and before sign-in is asked for: URLs end up in logs, proxies
    and browser histories, so a key sent there must be replaced, and the answer says so."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        secrets = redact.secret_parameters(scope.get("query_string", b"")) if scope["type"] == "http" else []
        if secrets and is_api(scope["path"]):
            detail = (f"Do not send API keys in the URL (query parameter {secrets[0]!r}): send the key as "
                      "`Authorization: Bearer <key>`. If it was a real key, replace it (`accord apikey create`).")
            await JSONResponse({"detail": detail}, 400)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class RequireKey:
    """Every API request needs a configured key (or a signed-in person with a role); only ops
    may use other methods than GET.

    Checked before routing, body parsing or validation, so nothing a request carries is
    looked at without a key. The schema and the docs are public (they hold no data).
    """

    def __init__(self, app: ASGIApp, keys: list[ApiKey], public: Callable[[str], bool]):
        self.app = app
        self.keys = keys
        self.public = public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = _route_path(scope)
        method = scope["method"]
        if method in READ_METHODS and self.public(path):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        presented = _bearer(headers.get("authorization"))
        person: Person | None = scope.get(PERSON)
        key: ApiKey | Caller | None = apikeys.find(self.keys, presented) if presented else None
        if key is None and person is not None and "authorization" not in headers:
            key = Caller(person.actor, person.role)  # the guard has checked the role and the origin
        if key is None:
            detail = ("This API key is not valid." if presented else
                      "An API key is required: send it as `Authorization: Bearer <key>`.")
            response: Response = JSONResponse({"detail": detail}, 401, headers={"WWW-Authenticate": "Bearer"})
        elif key.role is None:  # a signed-in person Accord gives no role (the guard refuses them first)
            response = JSONResponse({"detail": f"{key.name} has no role here."}, 403)
        elif method not in READ_METHODS and key.role != "ops":
            response = JSONResponse({"detail": f"The key {key.name!r} has the role {key.role!r}: it may only read."}, 403)
        else:
            scope[SCOPE_KEY] = Caller(key.name, key.role)
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)


class BoundedBody:
    """Every request body is read up to ``limit`` bytes: it is counted as it arrives, and past
    the limit the read fails with a 413, so no endpoint ever holds or parses more. (Counted
    rather than judged by its declared length: the endpoints that take a definition refuse a
    larger declared length themselves, with their own smaller limit and message.)"""

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        detail = f"The request body is larger than {self.limit:,} bytes, the most this API reads."
        size = 0

        async def counted() -> Message:
            nonlocal size
            message = await receive()
            size += len(message.get("body", b""))
            if size > self.limit:
                raise HTTPException(413, detail)  # FastAPI answers it, wherever the body is being read
            return message

        await self.app(scope, counted, send)


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None


def _route_path(scope: Scope) -> str:
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


bearer = HTTPBearer(auto_error=False, description="An API key made by `accord apikey create NAME --role ops|viewer`.")


def api_key(request: Request, _: HTTPAuthorizationCredentials | None = Security(bearer)) -> Caller:
    """The caller the middleware accepted (declared here so the schema documents the scheme)."""
    key = request.scope.get(SCOPE_KEY)
    if key is None:  # only if the app was assembled without the middleware
        raise HTTPException(401, "An API key is required.", headers={"WWW-Authenticate": "Bearer"})
    return key


def ops_key(key: Caller = Depends(api_key)) -> Caller:
    if key.role != "ops":
        raise HTTPException(403, f"The key {key.name!r} has the role {key.role!r}: it may only read.")
    return key


# ---------------------------------------------------------------------- the app

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The body could not be read (not JSON, not UTF-8), or an API key was sent in the URL."},
    401: {"model": Problem, "description": "No API key, or not a valid one."},
    404: {"model": Problem, "description": "No such partnership (or escalation, or page)."},
    503: {"model": Problem, "description": "Temporal or the workers did not answer in time."},
}
_ACTING: dict[int | str, dict[str, Any]] = {
    403: {"model": Problem, "description": "The key may only read (role viewer)."},
    409: {"model": Problem, "description": "The workflow refused the action; `detail` is its message."},
    413: {"model": Problem, "description": f"The request body is larger than {MAX_REQUEST_BYTES:,} bytes, the most this API reads."},
}
_DECIDING: dict[int | str, dict[str, Any]] = {
    **_ACTING,
    403: {"model": Problem, "description": "The key may only read (role viewer), or this organisation takes decisions and "
          "delegations only through the signed links in their emails (setting `api_decisions`)."},
}

DESCRIPTION = """Partnerships and escalations, for programs. Authenticate with an API key:
`Authorization: Bearer <key>` (`accord apikey create NAME --role ops|viewer`). `ops` keys may
act; `viewer` keys may only read. Every action reaches the partnership's workflow through the
same update, with the same validation, as the CLI and the email links."""


def create(settings: Settings, accord: Callable[[], Accord]) -> FastAPI:
    """The API as an app of its own, to mount at /api/v1; ``accord`` returns the shared client."""
    api = FastAPI(
        title="Accord API", version="1", description=DESCRIPTION,
        openapi_url="/openapi.json", docs_url=None, redoc_url=None,
    )
    public_paths = {"/openapi.json", "/docs", "/docs/init.js"}
    api.add_middleware(BoundedBody, limit=MAX_REQUEST_BYTES)  # inside RequireKey: nothing is read without a key
    api.add_middleware(
        RequireKey, keys=settings.api_keys,
        public=lambda path: path in public_paths or path.startswith("/docs/assets/"),
    )

    @api.exception_handler(Answer)
    async def answer(request: Request, exc: Answer) -> Response:
        return JSONResponse(exc.body, exc.status)

    @api.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        if temporal_unreachable(exc):
            log.warning("Temporal unreachable on %s %s: %s", request.method, request.url.path, exc)
            return JSONResponse({"detail": "Accord cannot reach Temporal right now; nothing was read or changed. "
                                 "Please try again in a few minutes."}, 503)
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": "Something went wrong; please try again in a minute."}, 500)

    api.include_router(_routes(settings, accord))
    _docs(api)

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            schema = get_openapi(title=api.title, version=api.version, description=api.description, routes=api.routes)
            _add_definition_schema(schema)
            api.openapi_schema = schema
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
    return api


def _routes(settings: Settings, accord: Callable[[], Accord]) -> APIRouter:
    # Operation ids are the function names: what generated clients call their methods.
    router = APIRouter(dependencies=[Depends(api_key)], responses=_ERRORS,
                       generate_unique_id_function=lambda route: route.name)

    async def ask(call: Awaitable[T], timeout: float = QUERY_TIMEOUT_SECONDS) -> T:
        """Run a client call; turn what Temporal says into the matching HTTP answer."""
        try:
            return await asyncio.wait_for(call, timeout)
        except NotFound as exc:
            raise HTTPException(404, exc.message) from None
        except AmendmentInvalid as exc:
            raise Answer(422, {"detail": exc.message, "problems": [_problem(i) for i in exc.issues]}) from None
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

    def acting(key: Caller, what: str, workflow_id: str) -> None:
        log.info("API caller %s: %s on %s", key.name, what, workflow_id)

    async def act(key: Caller, what: str, partnership: str, method: Callable[..., Awaitable[UpdateResult]],
                  payload: Any) -> ActionResult:
        """One update, by the client method every way in uses: the workflow's own validation,
        its refusal as a 409 with its message."""
        wf = _workflow_id(partnership)
        acting(key, what, wf)
        result = await ask(method(wf, sent_by(key, payload)), UPDATE_TIMEOUT_SECONDS)
        return ActionResult(message=result.message)

    # ------------------------------------------------------------------ partnerships

    @router.get("/partnerships", tags=["partnerships"], response_model=list[Listed], summary="List partnerships")
    async def list_partnerships(
        stage: Annotated[Stage | None, Query(description="Only partnerships in this stage.")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[Listed]:
        rows = await ask(accord().list(stage=stage.value if stage else None, limit=limit))
        return rows

    @router.post(
        "/partnerships", tags=["partnerships"], status_code=201, response_model=Started, summary="Start a partnership from its definition",
        responses={**_ACTING, 409: {"model": Problem, "description": "It is already running."},
                   413: {"model": Problem, "description": "The definition is too large."},
                   415: {"model": Problem, "description": "Send JSON or YAML."},
                   422: {"model": DefinitionProblems, "description": "Every problem in the definition, as `accord validate` reports them."}},
        openapi_extra={"requestBody": {"required": True, "description": (
            "The definition: JSON (`application/json`), or the YAML file's text (`application/yaml`)."), "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/PartnershipDefinition"},
                                 **_example("json")},
            "application/yaml": {"schema": {"type": "string"}, **_example("yaml")},
        }}},
    )
    async def start_partnership(request: Request, key: Caller = Depends(ops_key)) -> Started | JSONResponse:
        definition = await _definition_from(request, settings.definition_checks())
        if isinstance(definition, JSONResponse):
            return definition
        try:
            workflow_id = await ask(accord().start(definition))
        except WorkflowAlreadyStartedError:
            raise HTTPException(409, f"{workflow_id_for(definition.id)} is already running.") from None
        acting(key, "start", workflow_id)
        return Started(workflow_id=workflow_id, partnership_id=definition.id, ui_url=settings.workflow_ui_url(workflow_id))

    @router.get("/partnerships/{partnership}", tags=["partnerships"], response_model=Status, summary="A partnership's state")
    async def get_partnership(partnership: PartnershipId) -> Status:
        wf = _workflow_id(partnership)
        state = await ask(accord().state(wf))
        return Status(workflow_id=wf, ui_url=settings.workflow_ui_url(wf), state=state)

    @router.post("/partnerships/{partnership}/tasks/{task}/complete", tags=["tasks"], response_model=ActionResult, responses=_ACTING,
                 summary="Record a task's result on behalf of its owner")
    async def complete_task(partnership: PartnershipId, task: TaskId, body: TaskResult,
                            key: Caller = Depends(ops_key)) -> ActionResult:
        return await act(key, f"complete {task} as {body.actor}", partnership, accord().complete_task,
                         TaskCompletion(task_id=task, actor=body.actor, result=body.result, channel=Channel.api))

    # ------------------------------------------------------------------ approvals

    def decisions_allowed(key: Caller = Depends(ops_key)) -> Caller:
        if not settings.api_decisions:
            raise HTTPException(403, "This organisation takes decisions and delegations only from the person "
                                     "deciding (setting api_decisions is off): use the signed link in your email.")
        return key

    @router.get("/partnerships/{partnership}/approvals", tags=["approvals"], response_model=list[ApprovalState],
                summary="A partnership's approvals (their ids are what decisions name)")
    async def list_approvals(partnership: PartnershipId) -> list[ApprovalState]:
        return list((await ask(accord().state(_workflow_id(partnership)))).approvals.values())

    @router.post("/partnerships/{partnership}/approvals/{approval}/decisions", tags=["approvals"], response_model=ActionResult,
                 responses=_DECIDING, summary="Record an approver's decision (approve, reject, request changes)")
    async def decide(partnership: PartnershipId, approval: ApprovalId, body: DecisionBody,
                     key: Caller = Depends(decisions_allowed)) -> ActionResult:
        return await act(key, f"decide {approval} as {body.actor}", partnership, accord().decide, DecisionInput(
            approval_id=approval, actor=body.actor, decision=body.decision, comment=body.comment, round=body.round,
            document_hash=body.document_hash, channel=Channel.api))

    @router.post("/partnerships/{partnership}/approvals/{approval}/delegations", tags=["approvals"],
                 response_model=ActionResult, responses=_DECIDING,
                 summary="Hand an approver's decision to another stakeholder, with a reason")
    async def delegate(partnership: PartnershipId, approval: ApprovalId, body: DelegationBody,
                       key: Caller = Depends(decisions_allowed)) -> ActionResult:
        return await act(key, f"delegate {approval} as {body.actor}", partnership, accord().delegate, DelegationInput(
            approval_id=approval, actor=body.actor, to=body.to, reason=body.reason, round=body.round, channel=Channel.api))

    # ------------------------------------------------------------------ screening

    @router.post("/partnerships/{partnership}/statements", tags=["screening"], response_model=ActionResult,
                 responses=_ACTING, summary="Record a stakeholder's goal-alignment statement")
    async def submit_statement(partnership: PartnershipId, body: StatementBody,
                               key: Caller = Depends(ops_key)) -> ActionResult:
        return await act(key, f"statement of {body.stakeholder}", partnership, accord().submit_statement,
                         StatementSubmission(stakeholder=body.stakeholder, text=body.text, channel=Channel.api))

    @router.post("/partnerships/{partnership}/alignment/override", tags=["screening"], response_model=ActionResult,
                 responses=_ACTING, summary="Let screening proceed despite diverging goal statements (with a reason)")
    async def override_alignment(partnership: PartnershipId, body: OverrideBody,
                                 key: Caller = Depends(ops_key)) -> ActionResult:
        return await act(key, f"override alignment as {body.actor}", partnership, accord().override_alignment,
                         AlignmentOverride(actor=body.actor, reason=body.reason, channel=Channel.api))

    # ------------------------------------------------------------------ the MOU

    @router.post("/partnerships/{partnership}/mou/revisions", tags=["mou"], response_model=ActionResult, responses=_ACTING,
                 summary="Upload a revised MOU (Markdown), or regenerate it from the definition: a new round starts")
    async def revise_mou(partnership: PartnershipId, body: MouRevisionBody,
                         key: Caller = Depends(ops_key)) -> ActionResult:
        return await act(key, f"revise the MOU as {body.actor}", partnership, accord().revise_mou,
                         MouRevision(actor=body.actor, note=body.note, markdown=body.markdown, channel=Channel.api))

    # ------------------------------------------------------------------ operating

    @router.post("/partnerships/{partnership}/reviews/{review}/inputs", tags=["reviews"], response_model=ActionResult,
                 responses=_ACTING, summary="Send a participant's input to an open review")
    async def submit_review_input(partnership: PartnershipId, review: ReviewId, body: ReviewInputBody,
                                  key: Caller = Depends(ops_key)) -> ActionResult:
        return await act(key, f"input to {review} of {body.stakeholder}", partnership, accord().submit_review_input,
                         ReviewInputSubmission(review_id=review, stakeholder=body.stakeholder, rag=body.rag, note=body.note,
                                               contribution=body.contribution, benefit=body.benefit, channel=Channel.api))

    @router.post("/partnerships/{partnership}/reviews/{review}/outcome", tags=["reviews"], response_model=ActionResult,
                 responses=_ACTING, summary="Record what a review decided: decisions, and actions (which become tasks)")
    async def record_review_outcome(partnership: PartnershipId, review: ReviewId, body: ReviewOutcomeBody,
                                    key: Caller = Depends(ops_key)) -> ActionResult:
        actions = [ActionInput(title=a.title, owner=a.owner, due_in_days=a.due_in_days) for a in body.actions]
        return await act(key, f"outcome of {review} as {body.actor}", partnership, accord().record_review_outcome,
                         ReviewOutcome(review_id=review, actor=body.actor, decisions=body.decisions, actions=actions,
                                       channel=Channel.api))

    @router.post("/partnerships/{partnership}/metrics/{metric}/observations", tags=["metrics"], response_model=ActionResult,
                 responses=_ACTING, summary="Record a metric's value now (before launch: its baseline)")
    async def record_metric(partnership: PartnershipId, metric: MetricId, body: MetricBody,
                            key: Caller = Depends(ops_key)) -> ActionResult:
        return await act(key, f"metric {metric} as {body.actor}", partnership, accord().record_metric,
                         MetricObservationInput(metric_id=metric, value=body.value, actor=body.actor, note=body.note,
                                                channel=Channel.api))

    @router.post(
        "/partnerships/{partnership}/amendments", tags=["amendments"], status_code=201, response_model=Proposed,
        summary="Propose an amended definition: it goes to approval, and applies once approved",
        responses={**_ACTING, 413: {"model": Problem, "description": "The definition is too large."},
                   415: {"model": Problem, "description": "Send JSON or YAML."},
                   422: {"model": DefinitionProblems, "description": "Every problem in the amended definition, as "
                         "`accord validate` reports them (or a query parameter that cannot be valid)."}},
        openapi_extra={"requestBody": {"required": True, "description": (
            "The full amended definition: JSON (`application/json`), or the YAML file's text (`application/yaml`)."),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PartnershipDefinition"},
                                             **_example("json")},
                        "application/yaml": {"schema": {"type": "string"}, **_example("yaml")}}}},
    )
    async def propose_amendment(
        partnership: PartnershipId, request: Request,
        reason: Annotated[str, Query(max_length=FIELD_BOUND, description="Why it changes.", examples=["Weekly calls instead of monthly."])],
        actor: Annotated[str, Query(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="Who proposes it (a stakeholder id, or ops).")] = "ops",
        key: Caller = Depends(ops_key),
    ) -> Proposed | JSONResponse:
        amended = await _definition_from(request, settings.definition_checks())
        if isinstance(amended, JSONResponse):
            return amended
        wf = _workflow_id(partnership)
        changes = diff.changes(await ask(accord().definition(wf)), amended)
        result = await act(key, f"propose an amendment as {actor}", partnership, accord().propose_amendment,
                           AmendmentProposal(definition=amended, actor=actor, reason=reason, channel=Channel.api))
        amendments = (await ask(accord().state(wf))).amendments
        # One amendment is in approval at a time (the workflow refuses a second): the last one is this one.
        return Proposed(message=result.message, amendment_id=amendments[-1].id if amendments else None, changes=changes)

    @router.post("/partnerships/{partnership}/close", tags=["partnerships"], response_model=ActionResult, responses=_ACTING,
                 summary="Close a launched partnership: open tasks are waived, escalations withdrawn, the record archived")
    async def close(partnership: PartnershipId, body: CloseBody, key: Caller = Depends(ops_key)) -> ActionResult:
        return await act(key, f"close as {body.actor}", partnership, accord().close,
                         CloseRequest(actor=body.actor, reason=body.reason, channel=Channel.api))

    # ------------------------------------------------------------------ escalations

    @router.post("/partnerships/{partnership}/escalations", tags=["escalations"], status_code=201, response_model=Raised, responses=_ACTING,
                 summary="Raise an escalation (the key's name is recorded as who raised it)")
    async def escalate(partnership: PartnershipId, body: Escalate, key: Caller = Depends(ops_key)) -> Raised:
        wf = _workflow_id(partnership)
        acting(key, "escalate", wf)
        request = EscalationRequest(reason=body.reason, subject=body.subject, level=body.level, severity=body.severity,
                                    raised_by=key.name, channel=Channel.api)
        result, record = await ask(accord().raise_escalation(wf, request), UPDATE_TIMEOUT_SECONDS)
        ui = settings.workflow_ui_url(record.workflow_id) if record.workflow_id else None
        return Raised(message=result.message, escalation=record, ui_url=ui)

    @router.get("/partnerships/{partnership}/escalations", tags=["escalations"], response_model=list[EscalationRecord],
                summary="A partnership's escalations")
    async def list_escalations(partnership: PartnershipId) -> list[EscalationRecord]:
        return await ask(accord().escalations(_workflow_id(partnership)))

    @router.get("/partnerships/{partnership}/escalations/{escalation}", tags=["escalations"], response_model=EscalationState,
                summary="One escalation's record: levels, acknowledgements, CARE, resolution")
    async def get_escalation(partnership: PartnershipId, escalation: EscalationId) -> EscalationState:
        return await ask(accord().escalation(_workflow_id(partnership), escalation))

    @router.post("/partnerships/{partnership}/escalations/{escalation}/acknowledge", tags=["escalations"], response_model=ActionResult,
                 responses=_ACTING, summary="Acknowledge an escalation (it stops climbing)")
    async def acknowledge(partnership: PartnershipId, escalation: EscalationId, body: AcknowledgeBody,
                          key: Caller = Depends(ops_key)) -> ActionResult:
        wf = _workflow_id(partnership)
        acting(key, f"acknowledge {escalation} as {body.actor}", wf)
        result = await ask(accord().acknowledge(
            wf, escalation, sent_by(key, Acknowledge(actor=body.actor, note=body.note, channel=Channel.api))), UPDATE_TIMEOUT_SECONDS)
        return ActionResult(message=result.message)

    @router.post("/partnerships/{partnership}/escalations/{escalation}/care", tags=["escalations"], response_model=ActionResult,
                 responses=_ACTING, summary="Record a CARE step (clarify, acknowledge, reframe, explore)")
    async def record_care(partnership: PartnershipId, escalation: EscalationId, body: CareBody,
                          key: Caller = Depends(ops_key)) -> ActionResult:
        wf = _workflow_id(partnership)
        acting(key, f"record {body.step} on {escalation} as {body.actor}", wf)
        entry = sent_by(key, CareEntry(actor=body.actor, step=body.step, text=body.text, party=body.party, channel=Channel.api))
        result = await ask(accord().record_care(wf, escalation, entry), UPDATE_TIMEOUT_SECONDS)
        return ActionResult(message=result.message)

    @router.post("/partnerships/{partnership}/escalations/{escalation}/resolve", tags=["escalations"], response_model=ActionResult,
                 responses={**_ACTING, 422: {"description": "The amendment's problems (`problems`), or a body that "
                                             "cannot be valid", "content": {"application/json": {"schema": {"anyOf": [
                                                 {"$ref": "#/components/schemas/DefinitionProblems"},
                                                 {"$ref": "#/components/schemas/HTTPValidationError"}]}}}}},
                 summary="Resolve an escalation, optionally proposing an amended definition")
    async def resolve(partnership: PartnershipId, escalation: EscalationId, body: ResolveBody,
                      key: Caller = Depends(ops_key)) -> ActionResult:
        wf = _workflow_id(partnership)
        acting(key, f"resolve {escalation} as {body.actor}", wf)
        amendment = body.amendment if body.amendment and body.amendment.strip() else None
        result = await ask(accord().resolve(
            wf, escalation, sent_by(key, Resolve(actor=body.actor, resolution=body.resolution, amendment=amendment,
                                 channel=Channel.api))),
            UPDATE_TIMEOUT_SECONDS)
        return ActionResult(message=result.message)

    @router.post("/partnerships/{partnership}/escalations/{escalation}/withdraw", tags=["escalations"], response_model=ActionResult,
                 responses=_ACTING, summary="Withdraw an escalation, with a reason")
    async def withdraw(partnership: PartnershipId, escalation: EscalationId, body: WithdrawBody,
                       key: Caller = Depends(ops_key)) -> ActionResult:
        wf = _workflow_id(partnership)
        acting(key, f"withdraw {escalation} as {body.actor}", wf)
        result = await ask(accord().withdraw(
            wf, escalation, sent_by(key, Withdraw(actor=body.actor, reason=body.reason, channel=Channel.api))), UPDATE_TIMEOUT_SECONDS)
        return ActionResult(message=result.message)

    return router


def _workflow_id(partnership: str) -> str:
    return partnership if partnership.startswith("partnership-") else workflow_id_for(partnership)


# ---------------------------------------------------------------------- definitions in requests

BODY_FILE = "request body"


async def _definition_from(request: Request, checks: dict[str, Any]) -> PartnershipDefinition | JSONResponse:
    """The definition a request carries (JSON or YAML), or a 4xx answer listing every problem
    (``checks``: the deployment's options for the loader, ``Settings.definition_checks()``)."""
    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    is_json = media in JSON_TYPES or media.endswith("+json")
    if not is_json and media not in YAML_TYPES:
        return JSONResponse({"detail": f"Send the definition as application/json or application/yaml (not {media or 'nothing'})."}, 415)
    raw = await _body_within(request, MAX_DEFINITION_BYTES)
    if raw is None:
        return JSONResponse({"detail": f"The definition is larger than {MAX_DEFINITION_BYTES:,} bytes, "
                                       "the most a definition may be."}, 413)
    # Parsing is bounded (definitions.loader's limits) but can take a few hundred milliseconds:
    # in a worker thread, so the event loop goes on serving everyone else meanwhile.
    return await run_in_threadpool(_definition_in, raw, is_json, checks)


async def _body_within(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to be larger than ``limit`` bytes: the declared
    length is checked before anything is read, and a body without one (chunked) is counted as it
    arrives, so nothing larger is ever held in memory."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _definition_in(raw: bytes, is_json: bool, checks: dict[str, Any]) -> PartnershipDefinition | JSONResponse:
    checks = {**checks, "all_problems": True}  # every problem in one answer, as `accord validate` reports them
    try:
        text = decode(raw, BODY_FILE)
        if not is_json:
            return parse(text, BODY_FILE, **checks)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            return _problems([Issue(BODY_FILE, exc.lineno, "(json)", f"not valid JSON: {exc.msg}")])
        except ValueError:  # Python refuses to read an integer of more than 4,300 digits
            return _problems([Issue(BODY_FILE, 1, "(json)", "a number has too many digits")])
        except RecursionError:
            return _problems([Issue(BODY_FILE, 1, "(json)", "nested too deeply")])
        try:
            # JSON is YAML: the loader then reports problems at the body's own lines.
            return parse(text, BODY_FILE, **checks)
        except DefinitionError as exc:
            if "\t" not in text or not any(i.path == "(yaml)" for i in exc.issues):
                raise
            # The rare JSON that YAML reads differently (tabs between tokens): re-indent it.
            return parse(json.dumps(data, indent=2, ensure_ascii=False), BODY_FILE, **checks)
    except DefinitionError as exc:
        return _problems(exc.issues)
    except RecursionError:  # only if json.dumps meets what json.loads could just read
        return _problems([Issue(BODY_FILE, 1, "(json)", "nested too deeply")])


def _problem(issue: Issue) -> dict[str, Any]:
    return {"file": issue.file, "line": issue.line, "path": issue.path, "message": issue.message}


def _problems(issues: list[Issue]) -> JSONResponse:
    return JSONResponse({"detail": f"The definition has {len(issues)} problem(s).",
                         "problems": [_problem(i) for i in issues]}, 422)


SAMPLE = FilePath(__file__).resolve().parents[2] / "definitions" / "samples" / "public-sector-it-modernisation.yaml"


def _example(kind: Literal["json", "yaml"]) -> dict[str, Any]:
    """The sample definition as the request body's example (shown in the docs), if it is there."""
    try:
        text = SAMPLE.read_text(encoding="utf-8")
        value: Any = text if kind == "yaml" else parse(text, str(SAMPLE)).model_dump(mode="json", exclude_none=True)
    except (OSError, DefinitionError):
        return {}
    return {"example": value}


def _add_definition_schema(schema: dict[str, Any]) -> None:
    """The start endpoint reads its body itself (JSON or YAML): put the definition's JSON
    Schema into the components its request body refers to."""
    definition = PartnershipDefinition.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, sub in definition.pop("$defs", {}).items():
        components.setdefault(name, sub)
    components["PartnershipDefinition"] = definition


# ---------------------------------------------------------------------- interactive docs

_DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Accord API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{root}/docs/assets/swagger-ui.css">
</head><body><div id="swagger-ui"></div>
<script src="{root}/docs/assets/swagger-ui-bundle.js"></script>
<script src="{root}/docs/init.js"></script>
</body></html>
"""
_DOCS_INIT = """window.ui = SwaggerUIBundle({url: %s, dom_id: "#swagger-ui", deepLinking: true,
  persistAuthorization: false, tryItOutEnabled: false});
"""


def _docs(api: FastAPI) -> None:
    """Swagger UI from the files fastapi-offline ships (no CDN: this page loads nothing from elsewhere)."""
    spec = find_spec("fastapi_offline")
    assets = FilePath(spec.origin).parent / "static" if spec and spec.origin else None
    if assets is None or not (assets / "swagger-ui-bundle.js").exists():
        log.warning("fastapi-offline is not installed: no interactive API docs (the schema is still served)")
        return
    api.mount("/docs/assets", StaticFiles(directory=assets), name="docs-assets")

    @api.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return HTMLResponse(_DOCS_PAGE.format(root=root), headers={"Content-Security-Policy": DOCS_CSP})

    @api.get("/docs/init.js", include_in_schema=False)
    async def docs_init(request: Request) -> Response:
        url = json.dumps(f"{request.scope.get('root_path', '')}/openapi.json")
        return Response(_DOCS_INIT % url, media_type="text/javascript")

