"""The signed action links in emails (/a/<token>): GET shows the page (read only, whatever
fetches it: mail scanners do), POST from the page's button acts, with its CSRF field.

A task, a statement, a decision, a review and an escalation each have their page and their
form (accord/web/actions/); here is only how a request reaches them and how each outcome
is answered: done, the same page with what is wrong (422) or what the workflow refused
(409), or a clear problem page.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError

from accord import tokens
from accord.client import ActionRefused, AmendmentInvalid, NotFound
from accord.models import DecisionKind, EscalationState, PartnershipState
from accord.web import actions, csrf, people
from accord.web.problems import Problem, no_answer_yet, unavailable
from accord.web.site import PAGE, QUERY_TIMEOUT_SECONDS, UPDATE_TIMEOUT_SECONDS, Site
from definitions.schema import PartnershipDefinition

log = logging.getLogger("accord.web")


def in_zone_of(page: actions.Page, definition: PartnershipDefinition | None, recipient: str) -> actions.Page:
    """A page reached by a person's link shows times in that person's zone (their own, else
    their party's: the definition says), as their emails do; otherwise in UTC."""
    if definition is not None and recipient in definition.stakeholders():
        page.context["reader_zone"] = definition.timezone_of(recipient)
    return page


def router(site: Site) -> APIRouter:
    routes = APIRouter()
    settings = site.settings

    def action_page(request: Request, token: str, page: actions.Page, partnership: str,
                    extra: dict[str, Any] | None = None, status: int = 200) -> Response:
        nonce = csrf.nonce(request.cookies.get(csrf.COOKIE))
        response = site.render(request, page.template, {
            **page.context, "partnership": partnership, "csrf_field": csrf.FIELD,
            "csrf_value": csrf.field(settings.keys, nonce, token), **(extra or {}),
        }, status)
        response.set_cookie(
            csrf.COOKIE, nonce, max_age=csrf.MAX_AGE_SECONDS, path="/a/", httponly=True, samesite="lax",
            secure=settings.web_base_url.startswith("https://"),
        )
        return response

    async def page_of(claim: tokens.Claim, state: PartnershipState) -> actions.Page:
        # The definition names the people (decision pages may offer delegation), the metrics
        # (reviews, baselines), what there is to decide on, and the recipient's time zone.
        definition = await people.definition(site.client(), claim.workflow_id, QUERY_TIMEOUT_SECONDS)
        known = people.of(definition) if claim.action == "decision" and definition is not None else None
        page = await actions.page_for(claim, state, documents=site.storage, people=known, definition=definition)
        return in_zone_of(page, definition, claim.recipient)

    async def escalation_of(workflow_id: str) -> EscalationState:
        try:
            return await asyncio.wait_for(site.client().escalation_state(workflow_id), QUERY_TIMEOUT_SECONDS)
        except NotFound:
            raise Problem(404, "Escalation not found", "Accord knows no escalation for this link.") from None
        except (RPCError, TimeoutError, WorkflowQueryFailedError) as exc:
            log.warning("escalation query for %s failed: %s", workflow_id, type(exc).__name__)
            raise unavailable() from None

    async def escalation_page(claim: tokens.Claim, esc: EscalationState) -> actions.Page:
        definition = await people.definition(site.client(), esc.partnership_workflow_id, QUERY_TIMEOUT_SECONDS)
        known = people.of(definition) if definition is not None else None
        parties = [(p.id, p.name) for p in definition.parties] if definition is not None else None
        you_party = None
        if definition is not None and claim.recipient in definition.stakeholders():
            you_party = definition.party_of(claim.recipient).id
        page = actions.escalation_page(claim, esc, people=known, parties=parties, you_party=you_party)
        return in_zone_of(page, definition, claim.recipient)

    @routes.api_route("/a/{token}", **PAGE)
    async def action_show(request: Request, token: str) -> Response:
        # Mail scanners fetch this: read only, whatever the method.
        claim = actions.claim_for(token, settings.keys)
        if claim.action == "escalation":
            esc = await escalation_of(claim.workflow_id)
            return action_page(request, token, await escalation_page(claim, esc), esc.partnership)
        state = await site.state_of(claim.workflow_id)
        return action_page(request, token, await page_of(claim, state), state.name)

    async def escalation_submit(request: Request, token: str, claim: tokens.Claim, form: Any) -> Response:
        esc = await escalation_of(claim.workflow_id)
        page = await escalation_page(claim, esc)  # a closed or foreign escalation gets its clear page
        sent = {k: v for k, v in form.items() if isinstance(v, str) and k != csrf.FIELD}
        try:
            result = await asyncio.wait_for(actions.perform_escalation(site.client(), claim, form), UPDATE_TIMEOUT_SECONDS)
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
            raise no_answer_yet() from None
        esc = await escalation_of(claim.workflow_id)
        if esc.status.is_final:
            return site.render(request, "action_done.html", {"partnership": esc.partnership, "message": result.message})
        # Still open: the same page, up to date, with what was just recorded.
        return action_page(request, token, await escalation_page(claim, esc), esc.partnership, {"done": result.message})

    @routes.post("/a/{token}", response_class=HTMLResponse)
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
            result = await asyncio.wait_for(actions.perform(site.client(), claim, form), UPDATE_TIMEOUT_SECONDS)
        except (actions.FormError, Problem) as exc:
            state = await site.state_of(claim.workflow_id)
            page = await page_of(claim, state)  # raises the page's own clear Problem, as on GET
            if isinstance(exc, Problem):
                raise
            return action_page(request, token, page, state.name, {"error": str(exc), "form": dict(form)}, 422)
        except TimeoutError:
            raise no_answer_yet() from None
        return site.render(request, "action_done.html", {"partnership": result.partnership, "message": result.message})

    async def submit_with_page(request: Request, token: str, claim: tokens.Claim, form: Any) -> Response:
        # A review form follows the definition in force, and a decision on a document is sent
        # only for the very version the page shows: both need the page first.
        state = await site.state_of(claim.workflow_id)
        page = await page_of(claim, state)
        try:
            result = await asyncio.wait_for(actions.perform(site.client(), claim, form, page), UPDATE_TIMEOUT_SECONDS)
        except actions.FormError as exc:
            return action_page(request, token, page, state.name, {"error": str(exc), "form": dict(form)}, 422)
        except TimeoutError:
            raise no_answer_yet() from None
        document = page.context.get("document")
        signed = document is not None and form.get("decision") in {k.value for k in DecisionKind}
        return site.render(request, "action_done.html", {
            "partnership": state.name, "message": result.message, "document": document if signed else None,
        })

    return routes
