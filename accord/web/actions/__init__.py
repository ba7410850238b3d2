"""What an action link shows and does.

``claim_for`` turns a token into a claim (or a problem page), ``page_for`` decides from
the claim and the workflow's current state what the person sees, and ``perform`` turns
the submitted form into the matching client update. The page checks are for clarity
only: the workflow's update validators decide, so a stale page can never act wrongly.

One module per action (tasks and baselines, statements, decisions, reviews, escalations),
sharing ``common``; this package re-exports what the routes use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from accord import tokens
from accord.client import Accord, ActionRefused
from accord.models import PartnershipState, UpdateResult
from accord.storage import Storage
from accord.web.actions.common import FormError, Page, check_open, when
from accord.web.actions.decisions import DELEGATE, Signer, decision_page, send_decision
from accord.web.actions.escalations import (
    CARE_STEPS,
    ESCALATION_ACTIONS,
    PartyRow,
    escalation_page,
    perform_escalation,
)
from accord.web.actions.reviews import review_page, send_review
from accord.web.actions.statements import send_statement, statement_page
from accord.web.actions.tasks import (
    asks_baseline,
    baseline_page,
    send_baseline,
    send_task,
    task_page,
)
from accord.web.people import Person
from accord.web.problems import Problem
from definitions.schema import PartnershipDefinition

__all__ = [
    "CARE_STEPS", "DELEGATE", "ESCALATION_ACTIONS", "FormError", "Page", "PartyRow", "Signer", "asks_baseline",
    "claim_for", "escalation_page", "page_for", "perform", "perform_escalation",
]


def claim_for(token: str, keys: list[str]) -> tokens.Claim:
    try:
        return tokens.verify(token, keys)
    except tokens.TokenError as exc:
        if exc.claim is not None:
            raise Problem(
                410,
                "This link has expired",
                f"It stopped working on {when(exc.claim.expires_at)}. "
                "Please ask the partnership's ops contact for a new one.",
            ) from None
        raise Problem(400, "This link does not work", exc.reason) from None


async def page_for(claim: tokens.Claim, state: PartnershipState, *, documents: Storage | None = None,
                   people: Mapping[str, Person] | None = None, definition: PartnershipDefinition | None = None) -> Page:
    """``documents`` is where a decision's document is read from; ``people`` names the
    stakeholders (None when the definition could not be read: ids are shown, and no delegation);
    ``definition`` (the one in force) names a review's metrics."""
    if asks_baseline(claim) is not None:
        page = baseline_page(claim, state, definition)
    elif claim.action == "task":
        page = task_page(claim, state)
    elif claim.action == "statement":
        page = statement_page(claim, state)
    elif claim.action == "decision":
        page = await decision_page(claim, state, documents, people, definition)
    elif claim.action == "review":
        page = review_page(claim, state, definition)
    else:
        raise Problem(400, "This link does not work", "This link asks for an action Accord does not know.")
    check_open(state)
    return page


async def perform(accord: Accord, claim: tokens.Claim, form: Mapping[str, Any], page: Page | None = None) -> UpdateResult:
    """Send the form to the workflow; raise FormError (nothing sent) or Problem (refused).

    ``page`` is the page the form belongs to, as it would be shown now: a decision on a
    document is sent only if the form names the very version that page shows.
    """
    try:
        return await _send(accord, claim, form, page)
    except ActionRefused as exc:
        raise Problem(409, "This could not be done", exc.message) from None


async def _send(accord: Accord, claim: tokens.Claim, form: Mapping[str, Any], page: Page | None) -> UpdateResult:
    metric_id = asks_baseline(claim)
    if metric_id is not None:
        return await send_baseline(accord, claim, form, metric_id)
    if claim.action == "task":
        return await send_task(accord, claim, form)
    if claim.action == "statement":
        return await send_statement(accord, claim, form)
    if claim.action == "decision":
        return await send_decision(accord, claim, form, page)
    if claim.action == "review":
        return await send_review(accord, claim, form, page)
    raise Problem(400, "This link does not work", "This link asks for an action Accord does not know.")
