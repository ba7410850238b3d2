"""A review link: the participant's input (RAG, note, mutual value) and their metrics' values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from accord import tokens
from accord.client import Accord
from accord.models import (
    Channel,
    MetricObservationInput,
    PartnershipState,
    Rag,
    ReviewInputSubmission,
    ReviewKind,
    UpdateResult,
)
from accord.web.actions.common import (
    FormError,
    Page,
    check_length,
    form_number,
    form_text,
    when,
)
from accord.web.problems import Problem
from definitions.schema import PartnershipDefinition


def review_page(claim: tokens.Claim, state: PartnershipState, definition: PartnershipDefinition | None) -> Page:
    review = state.reviews.get(claim.ref)
    if review is None or review.opened_at is None:
        raise Problem(404, "No such review", f"{state.name} has no open review {claim.ref!r}.")
    if claim.recipient not in review.participants:
        raise Problem(403, "This review asks someone else", f"{review.kind.title} #{review.n} asks {', '.join(review.participants)}.")
    if review.closed_at is not None:
        raise Problem(409, "This review is closed", f"{review.kind.title} #{review.n} closed on {when(review.closed_at)}; "
                      "inputs are no longer taken.")
    metrics = []
    if definition is not None and review.kind != ReviewKind.weekly_status:
        metrics = [m for m in definition.metrics if m.owner == claim.recipient]
    prompt = ""
    if definition is not None and definition.reviews.weekly_status is not None:
        prompt = definition.reviews.weekly_status.prompt
    earlier = review.inputs.get(claim.recipient)
    open_actions = [state.tasks[t] for t in review.actions_checked if t in state.tasks and state.tasks[t].is_open]
    return Page("action_review.html", {
        "review": review, "metrics": metrics, "prompt": prompt, "earlier": earlier, "open_actions": open_actions,
        "weekly": review.kind == ReviewKind.weekly_status, "annual": review.kind == ReviewKind.annual_mutual_value,
    })


async def send_review(accord: Accord, claim: tokens.Claim, form: Mapping[str, Any], page: Page | None) -> UpdateResult:
    """The input first (the workflow checks it); then each metric value given, as its owner."""
    note = form_text(form, "note")
    check_length(note, "note")
    rag = None
    if form_text(form, "rag"):
        try:
            rag = Rag(form_text(form, "rag"))
        except ValueError:
            raise FormError("Please choose green, amber or red.") from None
    values = {m.id: form_number(form, f"metric-{m.id}") for m in (page.context.get("metrics", []) if page else [])}
    result = await accord.submit_review_input(claim.workflow_id, ReviewInputSubmission(
        review_id=claim.ref, stakeholder=claim.recipient, rag=rag, note=note, channel=Channel.email_link,
        contribution=form_number(form, "contribution"), benefit=form_number(form, "benefit"),
    ))
    for metric_id, value in values.items():
        if value is not None:
            await accord.record_metric(claim.workflow_id, MetricObservationInput(
                metric_id=metric_id, value=value, actor=claim.recipient, channel=Channel.email_link))
    return result

