"""The partnership's own updates: tasks, goal statements, review inputs and outcomes, metrics,
amendments, closing, raising an escalation."""

from __future__ import annotations

import math
from typing import TypedDict

from accord.logic import limits, mutual_value, permissions
from accord.logic.describe import when
from accord.models import (
    Amendment,
    AmendmentProposal,
    AmendmentStatus,
    CloseRequest,
    EscalationRequest,
    EscalationState,
    MetricObservationInput,
    PartnershipState,
    ReviewInputSubmission,
    ReviewKind,
    ReviewOutcome,
    Stage,
    StatementSubmission,
    TaskCompletion,
    TaskKind,
)
from definitions import diff
from definitions.checks import problems
from definitions.schema import PartnershipDefinition

# What to do instead, for a task that is not marked done by hand.
_INSTEAD = {
    TaskKind.statement: " It is a goal statement: submit the statement instead.",
    TaskKind.baseline: " It is a metric baseline: record the metric's value instead.",
    TaskKind.review_input: " It is a review input: send the review input instead.",
}


def _member(actor: str, definition: PartnershipDefinition, rules: int) -> None:
    refusal = permissions.not_a_member(actor, definition, rules)
    if refusal:
        raise ValueError(refusal)


def check_sender(state: PartnershipState | EscalationState, sent_by: str | None) -> None:
    """Rules 2: who sent an action for its actor is recorded, so it must be a short line."""
    if state.rules_version >= 2:
        limits.check_sender(sent_by)


# --- tasks and statements ------------------------------------------------------------


def check_completion(state: PartnershipState, definition: PartnershipDefinition, completion: TaskCompletion) -> None:
    task = state.tasks.get(completion.task_id)
    if task is None or task.kind not in permissions.COMPLETABLE:
        hint = _INSTEAD.get(task.kind, "") if task else ""
        raise ValueError(f"There is no task {completion.task_id!r} to complete in this partnership.{hint}")
    if not permissions.may_complete(task, completion.actor, completion.channel, state.rules_version):
        raise ValueError("This task belongs to someone else.")
    _member(completion.actor, definition, state.rules_version)
    check_sender(state, completion.sent_by)
    if not task.is_open:
        raise ValueError(
            f"This task was already completed by {task.completed_by} on {when(task.completed_at)}."
        )
    limits.check_text(("The result", completion.result), ("The task id", completion.task_id))


def statement_text(text: str) -> str | None:
    """Why a goal statement's text cannot be taken (None: it can)."""
    if not text.strip():
        return "The statement is empty."
    if limits.too_long(text, limits.MAX_STATEMENT):
        return f"Two sentences, please: the statement is longer than {limits.MAX_STATEMENT:,} characters."
    return None


def same_statement(before: str, now: str) -> bool:
    """Rules 1: the same words, whatever the spacing and line breaks, are the same statement (not a revision)."""
    return before.split() == now.split()


def check_statement(state: PartnershipState, definition: PartnershipDefinition, submission: StatementSubmission) -> None:
    check = definition.screening.alignment
    if check is None or submission.stakeholder not in check.participants:
        raise ValueError(f"{submission.stakeholder!r} is not asked for a goal statement in this partnership.")
    if state.stage != Stage.screening or state.alignment.passed:
        raise ValueError("The goal-alignment check is closed.")
    refusal = statement_text(submission.text)
    if refusal:
        raise ValueError(refusal)
    previous = state.alignment.statements.get(submission.stakeholder)
    blocked = state.alignment.result is not None and state.alignment.result.blocked
    if previous is not None and not blocked:
        raise ValueError("Your statement is already recorded; revisions open only if the statements diverge.")
    check_sender(state, submission.sent_by)


# --- the operating years -------------------------------------------------------------


def _reviews_known(state: PartnershipState) -> str:
    """The reviews a person can name (open or closed), for a message about one that is not there."""
    opened = [r.id for r in sorted(state.reviews.values(), key=lambda r: (r.kind.value, r.n)) if r.opened_at]
    return f" (reviews: {', '.join(opened[-10:])})" if opened else " (no review has opened yet)"


def check_review_input(state: PartnershipState, submission: ReviewInputSubmission) -> None:
    review = state.reviews.get(submission.review_id)
    if review is None:
        raise ValueError(f"There is no review {submission.review_id!r} in this partnership{_reviews_known(state)}.")
    if review.opened_at is None:
        raise ValueError(f"{review.kind.title} #{review.n} opens on {when(review.scheduled_for)}.")
    if review.closed_at is not None:
        raise ValueError(f"{review.kind.title} #{review.n} closed on {when(review.closed_at)}.")
    if submission.stakeholder not in review.participants:
        raise ValueError(f"{submission.stakeholder!r} is not asked for input to {review.kind.title} #{review.n}.")
    limits.check_text(("The note", submission.note))
    check_sender(state, submission.sent_by)
    if review.kind == ReviewKind.weekly_status and submission.rag is None:
        raise ValueError("Say how it is going: green, amber or red.")
    if review.kind == ReviewKind.annual_mutual_value:
        low, high = mutual_value.SCALE_MIN, mutual_value.SCALE_MAX
        for name, value in (("contribution", submission.contribution), ("benefit", submission.benefit)):
            if value is None or not low <= value <= high:
                raise ValueError(f"Rate your party's {name} from {low} to {high}.")


def check_metric(state: PartnershipState, definition: PartnershipDefinition, observation: MetricObservationInput) -> None:
    metric = next((m for m in definition.metrics if m.id == observation.metric_id), None)
    if metric is None:
        known = ", ".join(m.id for m in definition.metrics) or "none"
        raise ValueError(f"There is no metric {observation.metric_id!r} (metrics: {known}).")
    if not permissions.may_record_metric(metric, observation.actor, observation.channel, state.rules_version):
        raise ValueError(f"{metric.name} is recorded by its owner, {metric.owner}.")
    _member(observation.actor, definition, state.rules_version)
    check_sender(state, observation.sent_by)
    if not math.isfinite(observation.value):
        raise ValueError("The value must be a number.")
    if not state.stage.is_operating:
        raise ValueError(f"Metrics are recorded from launch on (the partnership is in {state.stage.value}).")
    limits.check_text(("The note", observation.note))


def check_review_outcome(state: PartnershipState, definition: PartnershipDefinition, outcome: ReviewOutcome) -> None:
    review = state.reviews.get(outcome.review_id)
    if review is None or review.opened_at is None:
        raise ValueError(f"There is no review {outcome.review_id!r} to record in this partnership{_reviews_known(state)}.")
    newer = [r for r in state.reviews.values() if r.kind == review.kind and r.n > review.n and r.opened_at]
    if newer:
        raise ValueError(f"{review.kind.title} #{review.n} was followed by #{newer[0].n}: record it there.")
    _member(outcome.actor, definition, state.rules_version)
    check_sender(state, outcome.sent_by)
    if not any(d.strip() for d in outcome.decisions) and not outcome.actions:
        raise ValueError("Nothing to record: give at least one decision or action.")
    for action in outcome.actions:
        if not action.title.strip():
            raise ValueError("Every action needs a title.")
        if action.owner not in definition.stakeholders():
            raise ValueError(f"The action owner {action.owner!r} is not a stakeholder of this partnership.")
    limits.check_text(*(("A decision", d) for d in outcome.decisions), *(("An action", a.title) for a in outcome.actions))


# --- changes to the partnership ------------------------------------------------------


def pending_amendment(state: PartnershipState) -> Amendment | None:
    """The amendment in approval (one at a time)."""
    return next((a for a in state.amendments if a.status == AmendmentStatus.pending), None)


class AmendmentChecks(TypedDict):
    """The keyword arguments of ``definitions.checks.problems`` and ``definitions.loader.parse``."""

    rules: int
    allow_short: bool


def amendment_checks(state: PartnershipState | EscalationState) -> AmendmentChecks:
    """How a partnership judges an amended definition (``definitions.checks.problems`` and the
    loader): by the rules it runs under (a partnership started before v0.5 keeps the old checks)
    and its deployment's durations."""
    return {"rules": state.rules_version, "allow_short": state.allow_short_durations}


def check_amendment(state: PartnershipState, definition: PartnershipDefinition, proposal: AmendmentProposal) -> None:
    _member(proposal.actor, definition, state.rules_version)
    check_sender(state, proposal.sent_by)
    if not proposal.reason.strip():
        raise ValueError("An amendment needs a reason.")
    if state.stage.is_final:
        raise ValueError(f"The partnership is {state.stage.value}.")
    if proposal.definition.id != definition.id:
        raise ValueError(f"The amended definition is for {proposal.definition.id!r}, not {definition.id!r}.")
    pending = pending_amendment(state)
    if pending is not None:
        raise ValueError(f"{pending.id} is still in approval; one amendment at a time.")
    found = problems(proposal.definition, **amendment_checks(state))
    if found:
        raise ValueError("The amended definition is not valid: " + "; ".join(f"{p.dotted}: {p.message}" for p in found[:5]))
    if not diff.changes(definition, proposal.definition):
        raise ValueError("The amended definition is the same as the one in force.")
    limits.check_text(("The reason", proposal.reason))


def check_close(state: PartnershipState, definition: PartnershipDefinition, request: CloseRequest) -> None:
    if not permissions.may_close(request.actor, definition, state.rules_version):
        _, approvers = permissions.amendment_approvers(definition)
        raise ValueError(f"Only ops or {', '.join(approvers)} may close the partnership.")
    if not request.reason.strip():
        raise ValueError("Closing needs a reason.")
    check_sender(state, request.sent_by)
    if not state.stage.is_operating:
        raise ValueError(f"A partnership closes once launched (it is in {state.stage.value}).")
    limits.check_text(("The reason", request.reason))


def check_escalation_request(state: PartnershipState, definition: PartnershipDefinition,
                             request: EscalationRequest) -> None:
    if not request.reason.strip():
        raise ValueError("An escalation needs a reason.")
    levels = len(definition.escalation.ladder)
    if not 1 <= request.level <= levels:
        raise ValueError(f"Level must be between 1 and {levels}.")
    if state.stage.is_final:
        raise ValueError(f"The partnership is {state.stage.value}.")
    limits.check_text(("The reason", request.reason), ("The subject", request.subject))
    check_sender(state, request.sent_by)
