"""The web app's routes: dashboard, status page, MOU versions, local outbox, and action links.

    app = create_app(settings)            # connects to Temporal at startup
    app = create_app(settings, accord)    # or shares an existing client (tests, `accord up`)

Accord's own state (documents, provider events, sign-in sessions) comes from one store per
app (accord/storage/: PostgreSQL shared by every instance, or SQLite and files in the data
folder), opened at startup: a PostgreSQL schema behind the code stops the start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from accord import tokens
from accord.client import Accord, ActionRefused, AmendmentInvalid, NotFound
from accord.config import Settings
from accord.models import MOU, DecisionKind, EscalationState, PartnershipState
from accord.storage import SharedStorage, StorageUnavailable, describe_storage
from accord.web import (
    actions,
    api,
    auth,
    codec,
    csrf,
    documents,
    headers,
    mailbox,
    people,
    webhooks,
)
from accord.web.problems import Problem, temporal_unreachable
from accord.web.redact import redact
from accord.web.templating import templates

log = logging.getLogger("accord.web")

QUERY_TIMEOUT_SECONDS = 15
# An update waits for a worker; past this the person is told to reload and look.
UPDATE_TIMEOUT_SECONDS = 30
# The framed email keeps its own inline styles but gets no scripts, forms or remote loads.
EMAIL_FRAME_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'",
    "X-Frame-Options": "SAMEORIGIN",
}
_NEVER = datetime.max.replace(tzinfo=UTC)
PAGE = {"methods": ["GET", "HEAD"], "response_class": HTMLResponse}


def create_app(settings: Settings, accord: Accord | None = None, shared: SharedStorage | None = None) -> FastAPI:
    """``shared``: the store to use (``serve`` opens it first); by default the configured one."""
    # Documents, provider events, sessions and sign-in tickets: opened at startup (or on first
    # use); SQLite and files in data_dir, or PostgreSQL when database_url is set.
    storage = shared or SharedStorage(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await open_storage_at_start(storage, settings)
        if app.state.accord is None:
            # Lazy: the app starts (and /readyz says "not ready") while Temporal is not up yet.
            app.state.accord = await Accord.connect(settings, lazy=True)
        yield
        await storage.close()

    app = FastAPI(title="Accord", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.accord = accord
    # Sign-in required everywhere but the public routes (accord/web/auth/policy.py), API included;
    # inside SecurityHeaders (added last, so outermost), which then covers its answers too.
    app.add_middleware(auth.SignInRequired, settings=settings, store=storage,
                       render=lambda *args: render(*args))
    app.add_middleware(api.RefuseKeysInUrl)
    app.add_middleware(headers.SecurityHeaders)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.include_router(webhooks.router(settings, storage))
    # The JSON API: its own app (schema, docs, API-key auth, JSON errors), sharing the client.
    app.mount("/api/v1", api.create(settings, lambda: app.state.accord))
    pages = templates()
    outbox_enabled = settings.mail_backend == "outbox"

    def client() -> Accord:
        return app.state.accord

    def render(request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200) -> Response:
        return pages.TemplateResponse(request, name, {
            "outbox_enabled": outbox_enabled, **auth.page_context(settings, request), **(context or {}),
        }, status_code=status)

    app.include_router(auth.router(settings, storage, render))
    app.include_router(codec.router(settings))

    async def state_of(workflow_id: str) -> PartnershipState:
        try:
            return await asyncio.wait_for(client().state(workflow_id), QUERY_TIMEOUT_SECONDS)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise Problem(404, "Partnership not found", "Accord knows no partnership for this link or address.") from None
            log.warning("state query for %s failed: %s", workflow_id, exc.message)
            raise _unavailable() from None
        except (TimeoutError, WorkflowQueryFailedError) as exc:
            log.warning("state query for %s failed: %s", workflow_id, type(exc).__name__)
            raise _unavailable() from None

    # ------------------------------------------------------------------ errors

    @app.exception_handler(Problem)
    async def problem_page(request: Request, exc: Problem) -> Response:
        return render(request, "problem.html", _problem_context(request, exc), exc.status)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        # Runs outside the middleware stack, so the security headers are set here.
        if temporal_unreachable(exc):
            log.warning("Temporal unreachable on %s %s: %s", request.method, redact(request.url.path), exc)
            problem = _temporal_down()
        elif isinstance(exc, StorageUnavailable):
            log.warning("storage unreachable on %s %s: %s", request.method, redact(request.url.path), exc)
            problem = _storage_down()
        else:
            log.error("unhandled %s on %s %s", type(exc).__name__, request.method, redact(request.url.path))
            problem = Problem(500, "Something went wrong", "Please try again in a minute.")
        response = render(request, "problem.html", _problem_context(request, problem), problem.status)
        headers.apply(MutableHeaders(raw=response.raw_headers))
        return response

    # ------------------------------------------------------------------ overview pages

    @app.api_route("/healthz", methods=["GET", "HEAD"], response_class=JSONResponse)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.api_route("/readyz", methods=["GET", "HEAD"], response_class=JSONResponse)
    async def readyz() -> JSONResponse:
        """Ready when the Temporal frontend answers: every page and action needs it."""
        from accord.ops.monitor import temporal_health

        temporal = await temporal_health(app.state.accord.client if app.state.accord else None)
        ok = temporal == "ok"
        return JSONResponse({"status": "ready" if ok else "not ready", "temporal": temporal,
                             "temporal_address": settings.temporal_address}, status_code=200 if ok else 503)

    @app.api_route("/", **PAGE)
    async def dashboard(request: Request) -> Response:
        error, stuck_by_id = None, {}
        try:
            partnerships = await asyncio.wait_for(client().list(), QUERY_TIMEOUT_SECONDS)
            stuck_by_id = await asyncio.wait_for(client().stuck(partnerships), QUERY_TIMEOUT_SECONDS)
        except (RPCError, TimeoutError) as exc:
            log.warning("listing partnerships failed: %s", exc)
            partnerships, error = [], "Temporal is not answering; the list is empty until it does."
        partnerships.sort(key=lambda p: (p.workflow_id not in stuck_by_id, not p.running, p.next_deadline or _NEVER, p.name))
        return render(request, "dashboard.html", {
            "partnerships": partnerships, "error": error, "ui_url": settings.workflow_ui_url, "stuck": stuck_by_id,
        }, 503 if error else 200)

    # Before the status route: its {workflow_id:path} would swallow ".../mou/1".
    @app.api_route("/p/{workflow_id:path}/mou/{version:int}", **PAGE)
    async def mou_version(request: Request, workflow_id: str, version: int) -> Response:
        state = await state_of(workflow_id)
        meta = documents.mou_version(state, version)
        if meta is None:
            raise Problem(404, "No such MOU version", f"{state.name} has no MOU version {version}.")
        text = await documents.load(storage, version, meta.hash)
        signing = state.approvals.get(MOU)
        return render(request, "mou.html", {
            "workflow_id": workflow_id, "s": state, "v": meta, "html": documents.as_html(text),
            "current": state.mou.current is not None and state.mou.current.version == version,
            "decisions": [d for d in (signing.decisions if signing else []) if d.document_version == version],
        })

    @app.api_route("/p/{workflow_id:path}", **PAGE)
    async def status(request: Request, workflow_id: str) -> Response:
        state = await state_of(workflow_id)
        return render(request, "status.html", {
            "workflow_id": workflow_id, "s": state, "ui_url": settings.workflow_ui_url(workflow_id),
            "tasks": sorted(state.tasks.values(), key=lambda t: (not t.is_open, t.due_at)),
        })

    # ------------------------------------------------------------------ local outbox

    def outbox_mail(name: str) -> EmailMessage:
        if not outbox_enabled:
            raise Problem(404, "No outbox", "Mail is delivered by a provider here; there is no local outbox.")
        if not mailbox.valid_name(name):
            raise Problem(400, "Not an email name", "Email names are hexadecimal file names from the outbox list.")
        mail = mailbox.find(settings.outbox_dir, name)
        if mail is None:
            raise Problem(404, "No such email", "The outbox has no email by that name.")
        return mail

    @app.api_route("/outbox", **PAGE)
    async def outbox_list(request: Request) -> Response:
        if not outbox_enabled:
            raise Problem(404, "No outbox", "Mail is delivered by a provider here; there is no local outbox.")
        return render(request, "outbox.html", {"mails": mailbox.summaries(settings.outbox_dir)})

    @app.api_route("/outbox/{name}", **PAGE)
    async def outbox_show(request: Request, name: str) -> Response:
        mail = outbox_mail(name)
        return render(request, "email.html", {
            "name": name, "subject": str(mail["Subject"] or ""), "headers": mailbox.headers(mail),
            "text": mailbox.linkified_text(mail),
        })

    @app.api_route("/outbox/{name}/html", **PAGE)
    async def outbox_html(name: str) -> Response:
        return HTMLResponse(mailbox.framed_html(outbox_mail(name)), headers=EMAIL_FRAME_HEADERS)

    # ------------------------------------------------------------------ action links

    def action_page(request: Request, token: str, page: actions.Page, partnership: str,
                    extra: dict[str, Any] | None = None, status: int = 200) -> Response:
        nonce = csrf.nonce(request.cookies.get(csrf.COOKIE))
        response = render(request, page.template, {
            **page.context, "partnership": partnership, "csrf_field": csrf.FIELD,
            "csrf_value": csrf.field(settings.keys, nonce, token), **(extra or {}),
        }, status)
        response.set_cookie(
            csrf.COOKIE, nonce, max_age=csrf.MAX_AGE_SECONDS, path="/a/", httponly=True, samesite="lax",
            secure=settings.web_base_url.startswith("https://"),
        )
        return response

    async def page_of(claim: tokens.Claim, state: PartnershipState) -> actions.Page:
        # Decision pages name the people (from the definition) and may offer delegation.
        known = definition = None
        if claim.action == "decision":
            known = await people.lookup(client(), claim.workflow_id, QUERY_TIMEOUT_SECONDS)
        # Reviews and baselines name the metrics; decisions show what there is to decide on.
        if claim.action in ("review", "decision") or actions.asks_baseline(claim) is not None:
            definition = await people.definition(client(), claim.workflow_id, QUERY_TIMEOUT_SECONDS)
        return await actions.page_for(claim, state, documents=storage, people=known, definition=definition)

    async def escalation_of(workflow_id: str) -> EscalationState:
        try:
            return await asyncio.wait_for(client().escalation_state(workflow_id), QUERY_TIMEOUT_SECONDS)
        except NotFound:
            raise Problem(404, "Escalation not found", "Accord knows no escalation for this link.") from None
        except (RPCError, TimeoutError, WorkflowQueryFailedError) as exc:
            log.warning("escalation query for %s failed: %s", workflow_id, type(exc).__name__)
            raise _unavailable() from None

    async def escalation_page(claim: tokens.Claim, esc: EscalationState) -> actions.Page:
        definition = await people.definition(client(), esc.partnership_workflow_id, QUERY_TIMEOUT_SECONDS)
        known = people.of(definition) if definition is not None else None
        parties = [(p.id, p.name) for p in definition.parties] if definition is not None else None
        you_party = None
        if definition is not None and claim.recipient in definition.stakeholders():
            you_party = definition.party_of(claim.recipient).id
        return actions.escalation_page(claim, esc, people=known, parties=parties, you_party=you_party)

    @app.api_route("/a/{token}", **PAGE)
    async def action_show(request: Request, token: str) -> Response:
        # Mail scanners fetch this: read only, whatever the method.
        claim = actions.claim_for(token, settings.keys)
        if claim.action == "escalation":
            esc = await escalation_of(claim.workflow_id)
            return action_page(request, token, await escalation_page(claim, esc), esc.partnership)
        state = await state_of(claim.workflow_id)
        return action_page(request, token, await page_of(claim, state), state.name)

    async def escalation_submit(request: Request, token: str, claim: tokens.Claim, form: Any) -> Response:
        esc = await escalation_of(claim.workflow_id)
        page = await escalation_page(claim, esc)  # a closed or foreign escalation gets its clear page
        sent = {k: v for k, v in form.items() if isinstance(v, str) and k != csrf.FIELD}
        try:
            result = await asyncio.wait_for(actions.perform_escalation(client(), claim, form), UPDATE_TIMEOUT_SECONDS)
        except actions.FormError as exc:
            return action_page(request, token, page, esc.partnership, {"error": str(exc), "form": sent}, 422)
        except AmendmentInvalid as exc:
            return action_page(request, token, page, esc.partnership, {
                "error": "The proposed amendment is not a valid definition of this partnership; nothing was sent.",
                "amendment_issues": exc.issues, "form": sent}, 422)
        except NotFound:
            raise Problem(404, "Escalation not found", "Accord knows no escalation for this link.") from None
        except ActionRefused as exc:
            esc = await escalation_of(claim.workflow_id)
            page = await escalation_page(claim, esc)
            return action_page(request, token, page, esc.partnership, {"error": exc.message, "form": sent}, 409)
        except TimeoutError:
            raise _no_answer_yet() from None
        esc = await escalation_of(claim.workflow_id)
        if esc.status.is_final:
            return render(request, "action_done.html", {"partnership": esc.partnership, "message": result.message})
        # Still open: the same page, up to date, with what was just recorded.
        return action_page(request, token, await escalation_page(claim, esc), esc.partnership, {"done": result.message})

    @app.post("/a/{token}", response_class=HTMLResponse)
    async def action_submit(request: Request, token: str) -> Response:
        claim = actions.claim_for(token, settings.keys)
        form = await request.form()
        if not csrf.valid(settings.keys, request.cookies.get(csrf.COOKIE), form.get(csrf.FIELD), token):
            raise Problem(403, "This form could not be verified",
                          "Please open the link from your email again and submit the form there.")
        if claim.action == "escalation":
            return await escalation_submit(request, token, claim, form)
        if claim.action == "review" or "document_hash" in form:
            return await submit_with_page(request, token, claim, form)
        # Tasks, statements and decisions on no document go straight to the workflow, whose
        # validators decide: one round trip. Only a refusal or an incomplete form costs the
        # queries that draw the page as it is now (closed, superseded, already decided...).
        try:
            result = await asyncio.wait_for(actions.perform(client(), claim, form), UPDATE_TIMEOUT_SECONDS)
        except (actions.FormError, Problem) as exc:
            state = await state_of(claim.workflow_id)
            page = await page_of(claim, state)  # raises the page's own clear Problem, as on GET
            if isinstance(exc, Problem):
                raise
            return action_page(request, token, page, state.name, {"error": str(exc), "form": dict(form)}, 422)
        except TimeoutError:
            raise _no_answer_yet() from None
        return render(request, "action_done.html", {"partnership": result.partnership, "message": result.message})

    async def submit_with_page(request: Request, token: str, claim: tokens.Claim, form: Any) -> Response:
        # A review form follows the definition in force, and a decision on a document is sent
        # only for the very version the page shows: both need the page first.
        state = await state_of(claim.workflow_id)
        page = await page_of(claim, state)
        try:
            result = await asyncio.wait_for(actions.perform(client(), claim, form, page), UPDATE_TIMEOUT_SECONDS)
        except actions.FormError as exc:
            return action_page(request, token, page, state.name, {"error": str(exc), "form": dict(form)}, 422)
        except TimeoutError:
            raise _no_answer_yet() from None
        document = page.context.get("document")
        signed = document is not None and form.get("decision") in {k.value for k in DecisionKind}
        return render(request, "action_done.html", {
            "partnership": state.name, "message": result.message, "document": document if signed else None,
        })

    return app


def _problem_context(request: Request, problem: Problem) -> dict[str, Any]:
    return {"problem": problem, "personal": request.url.path.startswith("/a/"), "posted": request.method == "POST"}


def _no_answer_yet() -> Problem:
    return Problem(503, "No answer yet", "Accord did not confirm in time. Open the link again in a minute "
                   "to see whether it was recorded.", changed_nothing=False)


def _temporal_down() -> Problem:
    return Problem(503, "Accord cannot reach Temporal", "The workflow service is not reachable right now, so "
                   "nothing can be shown or recorded. Please try again in a few minutes.")


def _storage_down() -> Problem:
    return Problem(503, "Accord cannot reach its database", "Accord's records cannot be read right now, so nothing "
                   "can be shown or recorded. Please try again in a few minutes.")


async def open_storage_at_start(storage: SharedStorage, settings: Settings) -> None:
    """Open the store before serving: a PostgreSQL schema behind the code (SchemaNotCurrent, a
    ConfigError) stops the start; an unreachable database is logged and opened on first use
    (the pages that need it answer 503 meanwhile, as for Temporal)."""
    try:
        await storage.open()
    except StorageUnavailable as exc:
        log.warning("Accord's storage (%s) is not reachable yet: %s", describe_storage(settings), exc)


def _unavailable() -> Problem:
    return Problem(503, "Accord is not answering", "Please try again in a minute.")
