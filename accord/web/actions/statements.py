"""A statement link: one stakeholder's goal statement for the screening alignment check."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from accord import tokens
from accord.client import Accord
from accord.logic.rules.partnership import statement_text
from accord.models import (
    Channel,
    PartnershipState,
    Stage,
    StatementSubmission,
    UpdateResult,
    statement_task_id,
)
from accord.web.actions.common import FormError, Page, form_text, when
from accord.web.problems import Problem


def statement_page(claim: tokens.Claim, state: PartnershipState) -> Page:
    if claim.ref != statement_task_id(claim.recipient):
        raise Problem(403, "This statement is someone else's", "This link is for another person's statement.")
    task = state.tasks.get(claim.ref)
    if task is None:
        raise Problem(404, "No statement is asked of you", f"{state.name} asks no goal statement of {claim.recipient}.")
    alignment = state.alignment
    if state.stage != Stage.screening or alignment.passed:
        if alignment.overridden_by:
            how = f"it was overridden by {alignment.overridden_by}: {alignment.override_reason}"
        elif alignment.result is not None and not alignment.result.blocked:
            how = f"the statements agree closely enough (divergence {alignment.result.divergence:.2f})"
        else:
            how = f"the partnership has moved on to {state.stage.value}"
        raise Problem(409, "The goal-alignment check is closed", f"No more statements are needed: {how}.")
    previous = alignment.statements.get(claim.recipient)
    blocked = alignment.result is not None and alignment.result.blocked
    if previous is not None and not blocked:
        raise Problem(
            409,
            "Your statement is already recorded",
            f"You submitted it on {when(previous.at)}. Revisions open only if the statements diverge.",
        )
    others = [s for s in alignment.statements.values() if s.stakeholder != claim.recipient] if blocked else []
    return Page(
        "action_statement.html",
        {"task": task, "prompt": task.description, "previous": previous, "blocked": blocked,
         "result": alignment.result, "others": others},
    )



async def send_statement(accord: Accord, claim: tokens.Claim, form: Mapping[str, Any]) -> UpdateResult:
    if claim.ref != statement_task_id(claim.recipient):
        raise Problem(403, "This statement is someone else's", "This link is for another person's statement.")
    text = form_text(form, "text")
    if not text:
        raise FormError("Please write your statement.")
    refusal = statement_text(text)  # the workflow's own rule, in its own words
    if refusal:
        raise FormError(refusal)
    return await accord.submit_statement(
        claim.workflow_id, StatementSubmission(stakeholder=claim.recipient, text=text, channel=Channel.email_link)
    )
