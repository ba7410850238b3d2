"""When an automatic escalation's cause is gone, and when one raised again may page people (rules 2).

An escalation that outlives its cause teaches people to ignore escalations. Each trigger kind
has its clearing condition, read from the partnership's state (:func:`cause_gone`):

- ``overdue``: the task was done or waived; the approval was decided, or a new round gave it a
  new deadline;
- ``alignment``: the goal statements now diverge less than the threshold, or the check was
  overridden;
- ``red_status`` and ``repeated_amber``: a later weekly status is green (for ``red_status``, also
  amber if the trigger's ``clear_status`` says so);
- ``missed_updates``: the silent party sent a weekly status since; or, for reviews without
  inputs, a later review of that kind received some;
- ``missed_target``: the latest review since shows the metric on target;
- ``imbalance``: the latest mutual-value review since is within tolerance.

A condition that comes back after it cleared (red, green, red again) is the same cause again:
raised within the trigger's ``quiet_period`` after the last clearing, the new escalation pages
nobody until the period is over (:func:`quiet_until`), so a flapping condition does not page
the same people again and again. Escalations raised by people (``manual``) never clear by themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from accord.logic.describe import acted, party, when
from accord.models import (
    ApprovalOutcome,
    EscalationRecord,
    PartnershipState,
    Rag,
    ReviewKind,
    TaskStatus,
    TriggerKind,
)
from definitions.schema import ClearStatus, PartnershipDefinition, Trigger


def trigger_of(record: EscalationRecord, definition: PartnershipDefinition) -> Trigger | None:
    """The definition's trigger that raised it (None: raised by a person)."""
    if record.trigger == TriggerKind.manual:
        return None
    return getattr(definition.escalation.triggers, record.trigger.value)


def cause_gone(record: EscalationRecord, state: PartnershipState, definition: PartnershipDefinition) -> str | None:
    """Why the cause of ``record`` is gone, in words; None while it is still there (or it never
    clears by itself)."""
    trigger = trigger_of(record, definition)
    if trigger is None:
        return None
    check = _CHECKS.get(record.trigger)
    return check(record, state, definition, trigger) if check else None


def _overdue(record: EscalationRecord, state: PartnershipState, definition: PartnershipDefinition, _: Trigger) -> str | None:
    task = state.tasks.get(record.subject)
    if task is not None:
        if task.status == TaskStatus.done and task.completed_at is not None:
            by = acted(definition, task.completed_by or "", task.completion_sent_by)
            return f"'{task.title}' was done by {by} on {when(task.completed_at)}"
        if task.status == TaskStatus.waived:
            return f"'{task.title}' was waived"
        return None
    approval = state.approvals.get(record.subject)
    if approval is None:
        return None
    if approval.outcome != ApprovalOutcome.pending:
        return f"'{approval.title}' was decided ({approval.outcome.value.replace('_', ' ')})"
    if approval.deadline_at > record.opened_at:
        return f"'{approval.title}' has a new deadline in round {approval.round}, {when(approval.deadline_at)}"
    return None


def _alignment(_: EscalationRecord, state: PartnershipState, definition: PartnershipDefinition, __: Trigger) -> str | None:
    alignment = state.alignment
    if alignment.overridden_by is not None:
        return f"the alignment check was overridden by {acted(definition, alignment.overridden_by)}: {alignment.override_reason}"
    result = alignment.result
    if result is not None and not result.blocked:
        return f"the goal statements now diverge by {result.divergence:.2f}, within the threshold {result.threshold:.2f}"
    return None


def _status(record: EscalationRecord, state: PartnershipState, _: PartnershipDefinition, trigger: Trigger) -> str | None:
    later = [p for p in state.rag_history if p.at > record.opened_at and p.overall is not None]
    if not later:
        return None
    latest = later[-1]
    ends = {Rag.green}
    if record.trigger == TriggerKind.red_status and trigger.clear_status == ClearStatus.amber:
        ends.add(Rag.amber)
    if latest.overall in ends:
        return f"the weekly status of {latest.review_id} is {latest.overall.value if latest.overall else ''}"
    return None


def _missed_updates(record: EscalationRecord, state: PartnershipState, definition: PartnershipDefinition,
                    _: Trigger) -> str | None:
    by_party = any(p.id == record.subject for p in definition.parties)
    for review in sorted(state.reviews.values(), key=lambda r: (r.kind.value, r.n)):
        if by_party:
            if review.kind != ReviewKind.weekly_status:
                continue
            sent = [i for i in review.inputs.values() if i.party == record.subject and i.at > record.opened_at]
            if sent:
                return f"{party(definition, record.subject)} sent its weekly status ({review.kind.title} #{review.n})"
        elif review.kind.value == record.subject and any(i.at > record.opened_at for i in review.inputs.values()):
            return f"{review.kind.title} #{review.n} received inputs"
    return None


def _later_reviews(record: EscalationRecord, state: PartnershipState) -> list:
    return sorted((r for r in state.reviews.values() if r.closed_at is not None and r.closed_at > record.opened_at),
                  key=lambda r: r.closed_at)


def _missed_target(record: EscalationRecord, state: PartnershipState, _: PartnershipDefinition, __: Trigger) -> str | None:
    lines = [(review, line) for review in _later_reviews(record, state) for line in review.metrics
             if line.metric_id == record.subject]
    if lines and lines[-1][1].on_target:
        review, line = lines[-1]
        return f"{line.name} was on target at {review.kind.title} #{review.n}"
    return None


def _imbalance(record: EscalationRecord, state: PartnershipState, _: PartnershipDefinition, __: Trigger) -> str | None:
    balanced = [r for r in _later_reviews(record, state) if r.balance is not None]
    if balanced and balanced[-1].balance is not None and not balanced[-1].balance.imbalanced:
        review = balanced[-1]
        return f"{review.kind.title} #{review.n} found the parties within tolerance ({review.balance.summary})"
    return None


_CHECKS = {
    TriggerKind.overdue: _overdue,
    TriggerKind.alignment: _alignment,
    TriggerKind.red_status: _status,
    TriggerKind.repeated_amber: _status,
    TriggerKind.missed_updates: _missed_updates,
    TriggerKind.missed_target: _missed_target,
    TriggerKind.imbalance: _imbalance,
}


def quiet_until(earlier: Iterable[EscalationRecord], trigger: TriggerKind, subject: str, definition: PartnershipDefinition,
                now: datetime) -> datetime | None:
    """When a new escalation of ``trigger`` about ``subject`` may first page people: the end of the
    trigger's quiet period after the same cause last cleared, if that is still ahead (else None)."""
    if trigger == TriggerKind.manual:
        return None
    quiet = getattr(definition.escalation.triggers, trigger.value).quiet_period
    cleared = [e.cause_gone_at for e in earlier if e.trigger == trigger and e.subject == subject and e.cause_gone_at]
    if not cleared:
        return None
    until = quiet.after(max(cleared))
    return until if until > now else None
