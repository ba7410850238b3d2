"""The ops page that answers a request for changes on the MOU: /p/<workflow id>/mou/revise.

The "Changes requested on the MOU" notice links here (accord/mail/ops_links.py). GET shows what
was asked (who, their comment, the round), the version it was asked on and, to ops, two forms:
upload a revised text (a Markdown file, or the current text edited in place) or regenerate it
from the definition. A viewer sees the page without the forms (the sign-in guard refuses them
the POST anyway).

POST sends the ``revise_mou`` update through the client, as every way in does, recorded as
sent by the signed-in person (``ops:<name>``, as the API records a session). Before it: the
guard (ops role, same origin), this form's CSRF token (bound to the session), the body read
within a bound (413 past it), the page not stale (the version it showed is still the one
changes were asked on), and the uploaded text checked by the workflow's own rule
(:func:`accord.logic.rules.decisions.check_mou_upload`: 422 with the form). The workflow's
validator decides the rest; a refusal, like a page gone stale, is a 409 page.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from accord.client import ActionRefused, NotFound
from accord.logic import limits
from accord.logic.describe import acted
from accord.logic.rules.decisions import check_mou_upload
from accord.models import (
    MOU,
    ApprovalState,
    Channel,
    DecisionKind,
    DocumentVersion,
    MouRevision,
    PartnershipState,
)
from accord.web import documents, people
from accord.web.auth import person_of, sessions
from accord.web.problems import Problem, no_answer_yet
from accord.web.reading import body_within
from accord.web.site import PAGE, QUERY_TIMEOUT_SECONDS, UPDATE_TIMEOUT_SECONDS, Site

PATH = "/p/{workflow_id:path}/mou/revise"
FORM = "mou-revise"  # this form's CSRF purpose (accord/web/auth/sessions.py)
# The longest MOU the workflow takes, each character up to 4 bytes of UTF-8 and each byte
# percent-encoded (3) in a plain form post, plus room for the note and the other fields.
MAX_FORM_BYTES = limits.MAX_UPLOAD * 4 * 3 + 64 * 1024
UPLOAD, REGENERATE = "upload", "regenerate"


@dataclass(frozen=True)
class Uploaded:
    """A file sent with the form: its name as the browser gave it, and its bytes."""

    name: str
    data: bytes


Form = dict[str, "str | Uploaded"]


@dataclass(frozen=True)
class Asked:
    """A request for changes in the round that ended: who (as the record shows them), and what."""

    who: str
    comment: str
    decision: Any  # the Decision: when, and through which channel


def router(site: Site) -> APIRouter:
    routes = APIRouter()
    settings = site.settings

    async def page(request: Request, workflow_id: str, state: PartnershipState, status: int = 200,
                   **extra: Any) -> Response:
        current, approval = awaited(state)
        definition = await people.definition(site.client(), workflow_id, QUERY_TIMEOUT_SECONDS)
        asked = [Asked(acted(definition, d.actor, d.sent_by) if definition else d.actor, d.comment, d)
                 for d in approval.decisions_in_round() if d.decision == DecisionKind.request_changes]
        person = person_of(request)
        may_act = person is not None and person.role == "ops"
        text = extra.pop("text", None)
        if text is None and may_act:  # the current text, to edit in place
            text = await documents.load(site.storage, current.version, current.hash)
        return site.render(request, "mou_revise.html", {
            "workflow_id": workflow_id, "s": state, "v": current, "approval": approval, "asked": asked,
            "max_rounds": definition.mou.max_rounds if definition and definition.mou else None,
            "may_act": may_act, "text": text or "", "max_upload": limits.MAX_UPLOAD, "max_note": limits.FORM_TEXT,
            "csrf_field": sessions.CSRF_FIELD,
            "csrf_value": sessions.csrf_token(settings, person, FORM) if may_act and person else "",
            **extra,
        }, status)

    @routes.api_route(PATH, **PAGE)
    async def show(request: Request, workflow_id: str) -> Response:
        return await page(request, workflow_id, await site.state_of(workflow_id))

    @routes.post(PATH, response_class=HTMLResponse)
    async def revise(request: Request, workflow_id: str) -> Response:
        person = person_of(request)  # the guard let only a signed-in ops person through
        form = await bounded_form(request)
        if person is None or not sessions.csrf_valid(settings, person, form.get(sessions.CSRF_FIELD), FORM):
            raise Problem(403, "This form could not be verified",
                          "Please open the revision page again (the link in the email) and submit the form there.")
        state = await site.state_of(workflow_id)
        current, _ = awaited(state)
        if form.get("version") != str(current.version):
            raise Problem(409, "This page is out of date",
                          f"Since it was opened, version {current.version} of the MOU was made and changes were "
                          "asked on it. Open the revision page again to see what is asked now.")
        action = form.get("action")
        if action not in (UPLOAD, REGENERATE):
            raise Problem(400, "Nothing to do", "Choose to upload a revised MOU or to regenerate it.")
        note = _field(form, "note").strip()
        # Browsers send a textarea's lines ending in CRLF: the MOU keeps them as typed, with LF.
        text = _field(form, "markdown").replace("\r\n", "\n")
        try:
            if limits.too_long(note, limits.FORM_TEXT):
                raise ValueError(f"Please keep the note under {limits.FORM_TEXT:,} characters.")
            markdown, default = _revised(form, action, text)
            if markdown is not None:
                check_mou_upload(markdown)  # the workflow's own rule, so a refusal keeps the form
        except ValueError as exc:
            return await page(request, workflow_id, state, 422, error=str(exc), text=text, note=note)
        revision = MouRevision(actor="ops", note=note or default, markdown=markdown, channel=Channel.web,
                               sent_by=person.actor)
        try:
            await asyncio.wait_for(site.client().revise_mou(workflow_id, revision), UPDATE_TIMEOUT_SECONDS)
        except NotFound:
            raise Problem(404, "Partnership not found", "Accord knows no partnership for this address.") from None
        except ActionRefused as exc:
            raise Problem(409, "The revision was refused", exc.message) from None
        except TimeoutError:
            raise no_answer_yet() from None
        # The partnership's page shows the new version, out for signature in a new round.
        return RedirectResponse(f"/p/{quote(workflow_id, safe='')}", 303)

    return routes


def awaited(state: PartnershipState) -> tuple[DocumentVersion, ApprovalState]:
    """The version changes were asked on, and its signature round; a 409 page if no revision is awaited."""
    current, approval = state.mou.current, state.approvals.get(MOU)
    if state.mou.awaiting_revision and current is not None and approval is not None:
        return current, approval
    if state.mou.signed_at is not None:
        now = "the MOU is signed"
    elif state.stage.value != "mou" or current is None or approval is None:
        now = f"the partnership is in its {state.stage.value} stage"
    else:
        now = f"MOU version {current.version} is out for signature (round {approval.round})"
    raise Problem(409, "No MOU revision is awaited", f"{state.name}: {now}; no request for changes waits for a revision.")


async def bounded_form(request: Request) -> Form:
    """The posted form, its body read within :data:`MAX_FORM_BYTES` (a 413 page past it); a file
    in it read, and its temporary file closed."""
    body = await body_within(request, MAX_FORM_BYTES)
    if body is None:
        raise Problem(413, "Too large", f"The form is larger than {MAX_FORM_BYTES:,} bytes; an MOU may have at most "
                                        f"{limits.MAX_UPLOAD:,} characters.")

    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        async with Request(request.scope, replay).form(max_files=1, max_fields=10, max_part_size=MAX_FORM_BYTES) as form:
            return {name: Uploaded(value.filename or "", await value.read()) if isinstance(value, UploadFile) else value
                    for name, value in form.items()}
    except HTTPException as exc:  # a malformed multipart body
        raise Problem(400, "This form could not be read", str(exc.detail)[:200]) from None


def _revised(form: Form, action: str, text: str) -> tuple[str | None, str]:
    """The revised Markdown (None: regenerate it) and the note to record if none is given: the
    chosen file, else the text edited on the page."""
    if action == REGENERATE:
        return None, "Regenerated from the definition"
    file = form.get("file")
    if not isinstance(file, Uploaded) or not file.name:
        return text, "Edited on the revision page"
    name = file.name[:200]
    try:
        return file.data.decode("utf-8"), f"Uploaded {name}"
    except UnicodeDecodeError:
        raise ValueError(f"{name} is not UTF-8 text: upload the MOU as a Markdown file.") from None


def _field(form: Form, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""
