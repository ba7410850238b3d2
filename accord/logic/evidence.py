"""What people decide on: the evidence of a go/no-go or a renewal, and what an approval's emails
show besides the ask (an amendment's changes, a new MOU version's changes and the changes the
previous round asked for).

:func:`gather` takes the evidence from the state when the decision opens; it is kept in the
approval (``ApprovalState.evidence``) so that the decision page shows what the email said.
:func:`sections` turns an approval into titled lists of lines for its emails.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from accord.logic import document_diff, ladder, metrics
from accord.logic.describe import acted, approval_kind, person, when
from accord.models import (
    GO_NO_GO,
    MOU,
    ApprovalState,
    ChecklistLine,
    EscalationLine,
    Evidence,
    PartnershipState,
    Stage,
    Task,
    TaskKind,
    TaskStatus,
)
from definitions.schema import PartnershipDefinition

# How much of a result or statement an email line shows.
SHOWN_CHARS = 300


class Section(TypedDict):
    title: str
    lines: list[str]


def _checklist(task: Task) -> ChecklistLine:
    return ChecklistLine(id=task.id, title=task.title, owner=task.owner, required=task.required, status=task.status,
                         overdue=task.overdue, result=task.result[:SHOWN_CHARS], completed_by=task.completed_by,
                         completed_at=task.completed_at)


def gather(approval_id: str, state: PartnershipState, definition: PartnershipDefinition, now: datetime) -> Evidence:
    """The evidence for a go/no-go (checklist, goal statements and their score, the SMART targets,
    open escalations) or a renewal (tasks still open, metrics against targets, the last weekly
    status and mutual-value balance, open escalations)."""
    evidence = Evidence(gathered_at=now)
    evidence.metrics = [metrics.line(m, state.metrics.get(m.id), now, state.launched_at) for m in definition.metrics]
    evidence.escalations = [
        EscalationLine(id=e.id, what=e.what or e.trigger.value, trigger=e.trigger.value, status=e.status.value,
                       level=e.shown_level, position=ladder.position(definition.escalation.ladder, e.level, e.with_ops),
                       opened_at=e.opened_at)
        for e in state.open_escalations()
    ]
    if approval_id == GO_NO_GO:
        evidence.checklist = [_checklist(t) for t in state.tasks.values()
                              if t.stage == Stage.screening and t.kind == TaskKind.checklist]
        evidence.statements = list(state.alignment.statements.values())
        evidence.alignment = state.alignment.result
        evidence.overridden_by = state.alignment.overridden_by
        evidence.override_reason = state.alignment.override_reason
    else:
        evidence.open_tasks = [_checklist(t) for t in sorted(state.open_tasks(), key=lambda t: (not t.overdue, t.due_at))]
        evidence.last_status = next((p.overall for p in reversed(state.rag_history) if p.overall is not None), None)
        valued = [r for r in state.reviews.values() if r.balance is not None]
        evidence.balance = max(valued, key=lambda r: r.n).balance if valued else None
    return evidence


def _task_line(line: ChecklistLine, definition: PartnershipDefinition) -> str:
    title = line.title + ("" if line.required else " (optional)")
    if line.status == TaskStatus.done and line.completed_at is not None:
        result = f": {line.result}" if line.result else ""
        return f"{title}: done by {person(definition, line.completed_by or '')} on {when(line.completed_at)}{result}"
    if line.status == TaskStatus.waived:
        return f"{title}: waived"
    return f"{title}: open{' and OVERDUE' if line.overdue else ''} ({person(definition, line.owner)})"


def _evidence_sections(evidence: Evidence, definition: PartnershipDefinition) -> list[Section]:
    out: list[Section] = []
    if evidence.checklist:
        out.append(Section(title="Checklist", lines=[_task_line(t, definition) for t in evidence.checklist]))
    if evidence.statements:
        lines = [f"{person(definition, s.stakeholder)}: {s.text[:SHOWN_CHARS]}" for s in evidence.statements]
        if evidence.alignment is not None:
            verdict = "too far apart" if evidence.alignment.blocked else "close enough"
            lines.append(f"Divergence {evidence.alignment.divergence:.2f} (threshold {evidence.alignment.threshold:.2f}): {verdict}")
        if evidence.overridden_by:
            lines.append(f"Overridden by {person(definition, evidence.overridden_by)}: {evidence.override_reason}")
        out.append(Section(title="Goal statements", lines=lines))
    if evidence.open_tasks:
        out.append(Section(title="Tasks still open", lines=[_task_line(t, definition) for t in evidence.open_tasks]))
    if evidence.metrics:
        out.append(Section(title="Metrics against their targets", lines=[m.summary for m in evidence.metrics]))
    if evidence.last_status is not None or evidence.balance is not None:
        lines = []
        if evidence.last_status is not None:
            lines.append(f"Last weekly status: {evidence.last_status.value}")
        if evidence.balance is not None:
            lines.append(f"Last mutual-value review: {evidence.balance.summary}")
        out.append(Section(title="Health", lines=lines))
    out.append(Section(title="Open escalations", lines=[f"{e.id}: {e.what} ({e.position}, {e.status})"
                                                         for e in evidence.escalations] or ["None."]))
    return out


def sections(approval: ApprovalState, state: PartnershipState, definition: PartnershipDefinition) -> list[Section]:
    """What an approval's emails show besides the ask."""
    out: list[Section] = []
    if approval_kind(approval.id) == "amendment" and approval.changes:
        out.append(Section(title="What changes", lines=list(approval.changes)))
    if approval.id == MOU and approval.document_version:
        version = next((v for v in state.mou.versions if v.version == approval.document_version), None)
        if version is not None and version.changes is not None:
            out.append(Section(title=f"What changed since version {version.changes.previous_version}",
                               lines=document_diff.describe(version.changes)))
        if version is not None and version.requested_changes:
            out.append(Section(title="The changes that were asked for", lines=[
                f"{acted(definition, d.actor, d.sent_by)}: {d.comment}" for d in version.requested_changes]))
    if approval.evidence is not None:
        out += _evidence_sections(approval.evidence, definition)
    return out
