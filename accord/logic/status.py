"""The partnership's status line and health, derived from its state whenever it changes (rules 2).

One line says what the partnership is doing now and what it waits on: it is ``state.detail``,
which ``accord status``, the pages, ``accord watch``, the report and the Temporal UI's current
details show, beside ``state.health`` (the ``AccordStatus`` search attribute). Nothing writes it
but :func:`derive`, which the partnership's record calls on every change
(``workflows/partnership/record.py``), so it can never be left over from an earlier step: a
score the statements have since moved away from, a signer who has since signed.

The line is the stage's own clause first, then what concerns the whole partnership: an
amendment in approval, overdue work, open escalations (at the level everyone shows, see
:func:`accord.logic.ladder.position`), emails the mail provider keeps failing. Approvals carry
their ids (``[mou]``), which the CLI and the API take.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from accord.logic import approvals, health, ladder
from accord.logic.describe import approval_title, people, person, when
from accord.models import (
    GO_NO_GO,
    MOU,
    ApprovalOutcome,
    ApprovalState,
    Health,
    PartnershipState,
    Stage,
    TaskKind,
    renewal_id,
)
from definitions.schema import PartnershipDefinition

# How many items a clause names before it says "and N more".
SHOWN = 3


@dataclass(frozen=True)
class Status:
    line: str
    health: Health


def derive(state: PartnershipState, definition: PartnershipDefinition, stage_available: bool = True) -> Status:
    """The status line and health of ``state`` under ``definition`` (the one in force)."""
    level = health.assess(state, stage_available, rules=2)
    if state.stage.is_final:
        return Status(_ended(state, definition), level)
    if not stage_available:
        main = f"The {state.stage.value} stage is not available in this version of Accord; waiting here"
    else:
        main = _STAGES[state.stage](state, definition)
    return Status("; ".join([main, *_across(state, definition)]), level)


def some(items: Sequence[str], shown: int = SHOWN) -> str:
    """``"a, b, c and 2 more"``."""
    head = ", ".join(items[:shown])
    return head + (f" and {len(items) - shown} more" if len(items) > shown else "")


def approval_line(approval: ApprovalState, definition: PartnershipDefinition) -> str:
    """``"MOU signature [mou], round 2 on version 2: waiting on Bea Beta until Monday 2 March 2026, 10:00 UTC"``."""
    name = approval_title(approval.id, approval.title)
    where = f", round {approval.round}" if approval.round > 1 or approval.document_version else ""
    if approval.document_version:
        where += f" on version {approval.document_version}"
    evaluation = approvals.of(approval)
    outcome = approval.outcome if approval.outcome != ApprovalOutcome.pending else evaluation.outcome
    if outcome != ApprovalOutcome.pending:
        return f"{name}{where}: {outcome.value.replace('_', ' ')}"
    line = f"{name}{where}: waiting on {people(definition, evaluation.waiting_on)} until {when(approval.deadline_at)}"
    if evaluation.parties_waiting:
        line += f" ({approvals.party_names(definition, evaluation.parties_waiting)} must still approve for their party)"
    return line


def _task(state: PartnershipState, definition: PartnershipDefinition, kinds: tuple[TaskKind, ...], stage: Stage) -> list[str]:
    return [f"{t.title} ({person(definition, t.owner)}, due {when(t.due_at)})"
            for t in sorted(state.open_tasks(), key=lambda t: t.due_at)
            if t.stage == stage and t.kind in kinds and t.required]


def _screening(state: PartnershipState, definition: PartnershipDefinition) -> str:
    go = state.approvals.get(GO_NO_GO)
    if go is not None:
        return approval_line(go, definition)
    alignment = state.alignment
    if alignment.result is not None and alignment.result.blocked and not alignment.passed:
        result = alignment.result
        check = definition.screening.alignment
        who = people(definition, list(check.override_by or definition.screening.go_no_go.approvers)) if check else "an approver"
        return (f"Blocked: goal statements diverge by {result.divergence:.2f} (threshold {result.threshold:.2f}); "
                f"every participant is asked to revise, or {who} may override the check")
    waiting = _task(state, definition, (TaskKind.checklist,), Stage.screening)
    check = definition.screening.alignment
    if check is not None:
        missing = [w for w in check.participants if w not in alignment.statements]
        if missing:
            waiting.append(f"goal statements from {people(definition, missing)}")
    if waiting:
        return f"Screening: waiting on {some(waiting)}"
    return "Screening complete: the go/no-go decision opens"


def _mou(state: PartnershipState, definition: PartnershipDefinition) -> str:
    approval = state.approvals.get(MOU)
    current = state.mou.current
    if state.mou.awaiting_revision and current is not None:
        rounds = f" (round {approval.round} of {definition.mou.max_rounds})" if approval and definition.mou else ""
        return f"Changes requested on MOU version {current.version}{rounds}: waiting for ops to upload or regenerate a revision"
    if approval is not None:
        return approval_line(approval, definition)
    return "MOU: the first draft is being prepared"


def _launch(state: PartnershipState, definition: PartnershipDefinition) -> str:
    waiting = _task(state, definition, (TaskKind.checklist, TaskKind.baseline), Stage.launch)
    return f"Launch: waiting on {some(waiting)}" if waiting else "Launch: the checklist is done; going live"


def _active(state: PartnershipState, definition: PartnershipDefinition) -> str:
    open_reviews = sorted((r for r in state.reviews.values() if r.opened_at is not None and r.closed_at is None),
                          key=lambda r: r.inputs_due_at)
    if open_reviews:
        review = open_reviews[0]
        missing = [w for w in review.participants if w not in review.inputs]
        waiting = f", waiting on {people(definition, missing)}" if missing else ", every input is in"
        return f"Active; {review.kind.title} #{review.n} [{review.id}]: inputs due {when(review.inputs_due_at)}{waiting}"
    planned = sorted((r for r in state.reviews.values() if r.opened_at is None), key=lambda r: r.scheduled_for)
    if planned:
        return f"Active; next: {planned[0].kind.title} #{planned[0].n} on {when(planned[0].scheduled_for)}"
    return "Active"


def _renewal(state: PartnershipState, definition: PartnershipDefinition) -> str:
    approval = state.approvals.get(renewal_id(state.term))
    if approval is None:
        return "Renewal: the decision opens"
    if approval.outcome in (ApprovalOutcome.pending, ApprovalOutcome.approved):
        return approval_line(approval, definition)
    ends = definition.renewal.term.after(state.term_started_at) if definition.renewal and state.term_started_at else None
    at = f", {when(ends)}" if ends else ""
    return f"Not renewed ({approval.outcome.value.replace('_', ' ')}): the partnership closes at the end of term {state.term}{at}"


_STAGES = {
    Stage.screening: _screening,
    Stage.mou: _mou,
    Stage.launch: _launch,
    Stage.active: _active,
    Stage.renewal: _renewal,
}


def _ended(state: PartnershipState, definition: PartnershipDefinition) -> str:
    if state.stage == Stage.closed:
        return f"Closed: {state.closure_reason}" if state.closure_reason else "Closed"
    if state.stage == Stage.rejected:
        go = state.approvals.get(GO_NO_GO)
        why = next((f" ({person(definition, d.actor)}: {d.comment})" for d in (go.decisions_in_round() if go else [])
                    if d.decision != "approve" and d.comment), "")
        return f"Declined: the go/no-go decision ended {go.outcome.value.replace('_', ' ') if go else 'without a go'}{why}"
    approval = state.approvals.get(MOU)
    if approval is None:
        return "Ended before the MOU was signed"
    rounds = definition.mou.max_rounds if definition.mou else None
    if approval.outcome == ApprovalOutcome.changes_requested and rounds is not None and approval.round >= rounds:
        return f"Ended: the MOU was not agreed after {approval.round} review rounds"
    return f"Ended: the MOU was not signed (the signature round ended {approval.outcome.value.replace('_', ' ')})"


def _across(state: PartnershipState, definition: PartnershipDefinition) -> list[str]:
    """What concerns the whole partnership, whatever its stage."""
    out = []
    own = {GO_NO_GO, MOU, renewal_id(state.term)}
    out += [approval_line(a, definition) for a in state.approvals.values()
            if a.id not in own and a.outcome == ApprovalOutcome.pending]
    overdue = [f"{t.title} ({person(definition, t.owner)})" for t in state.open_tasks() if t.overdue]
    if overdue:
        out.append(f"overdue: {some(overdue)}")
    for record in state.open_escalations():
        line = f"escalated: {record.id} ({record.what or record.trigger.value}), " + ladder.position(
            definition.escalation.ladder, record.level, record.with_ops)
        if record.cause_gone:
            line += f"; its cause is gone ({record.cause_gone})"
        out.append(line)
    if state.email_delays:
        delayed = sorted({d.recipient for d in state.email_delays.values()})
        out.append(f"emails delayed to {people(definition, delayed)}")
    return out
