"""The partnership's record: its audit trail (the timeline), and what it shows outside the
workflow: search attributes, the Temporal UI's current details, telemetry.

Every change ends with :meth:`Record.publish`, which mirrors the state (typed search attributes
from ``accord/search_attributes.py``, upserted only when they change; no personal data) and
writes the UI's current details: open tasks, who is pending until when, escalations, delays.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey

from workflows import telemetry
from workflows.partnership.context import PartnershipContext
from workflows.versions import PATCH_CHANGED_ATTRIBUTES

with workflow.unsafe.imports_passed_through():
    from accord import search_attributes as sa
    from accord.logic import approvals, health, limits
    from accord.models import ApprovalOutcome, Event, EventKind, Stage

_UNSET = object()


class Record:
    def __init__(self, ctx: PartnershipContext) -> None:
        self.ctx = ctx
        # Search attribute values as last upserted by this run (a new run upserts them all once).
        self._attributes: dict[str, object] = {}
        # What this run's telemetry has counted (metrics and logs only).
        self._seen = telemetry.Seen()

    def log(self, kind: EventKind, *, actor: str = "accord", detail: str = "", data: dict[str, Any] | None = None) -> None:
        state = self.ctx.state
        state.timeline.append(Event(at=workflow.now(), kind=kind, actor=actor, detail=detail, data=data or {}))
        del state.timeline[:-limits.MAX_TIMELINE]  # the recent trail only

    def enter(self, stage: Stage, why: str) -> None:
        state = self.ctx.state
        self.log(EventKind.stage_changed, detail=f"{state.stage.value} -> {stage.value}: {why}")
        state.stage = stage
        state.stage_started_at = workflow.now()
        state.detail = why
        self.ctx.stage_available = True
        self.publish()

    def set_detail(self, detail: str) -> None:
        self.ctx.state.detail = detail
        self.publish()

    def party_names(self, party_ids: list[str]) -> str:
        return approvals.party_names(self.ctx.definition, party_ids)

    def publish(self) -> None:
        """Mirror the state into search attributes and the UI's current details."""
        state = self.ctx.state
        state.health = health.assess(state, self.ctx.stage_available)
        deadline = state.next_deadline()
        levels = [e.level for e in state.open_escalations()]
        values: dict[SearchAttributeKey[Any], Any] = {
            sa.STAGE: state.stage.value,
            sa.STATUS: state.health.value,
            sa.ESCALATION_LEVEL: max(levels, default=0),
            sa.PARTNERSHIP: self.ctx.definition.name,
            sa.NEXT_DEADLINE: deadline,
        }
        if workflow.patched(PATCH_CHANGED_ATTRIBUTES):
            values = {key: value for key, value in values.items() if self._attributes.get(key.name, _UNSET) != value}
            self._attributes.update((key.name, value) for key, value in values.items())
        if values:
            workflow.upsert_search_attributes(
                [key.value_set(value) if value is not None else key.value_unset() for key, value in values.items()])
        workflow.set_current_details(self._details_markdown())
        telemetry.observe_partnership(state, self._seen)  # metrics and logs only: no workflow commands

    def _details_markdown(self) -> str:
        s = self.ctx.state
        lines = [f"**Stage:** {s.stage.value} · **Status:** {s.health.value}", "", s.detail or ""]
        open_tasks = s.open_tasks()
        if open_tasks:
            lines += ["", "**Open tasks**"]
            lines += [
                f"- {t.title} — {t.owner}, due {t.due_at:%Y-%m-%d %H:%M} UTC{' (OVERDUE)' if t.overdue else ''}"
                for t in sorted(open_tasks, key=lambda t: t.due_at)
            ]
        pending = [a for a in s.approvals.values() if a.outcome == ApprovalOutcome.pending]
        for a in pending:
            evaluation = approvals.of(a)
            waiting = ", ".join(evaluation.waiting_on) or "nobody"
            lines += ["", f"**{a.title}** (round {a.round}): waiting on {waiting} until {a.deadline_at:%Y-%m-%d %H:%M} UTC"]
            if evaluation.parties_waiting:
                lines.append(f"Still to approve for their party: {self.party_names(evaluation.parties_waiting)}")
        if s.open_escalations():
            lines += ["", f"**Open escalations:** {len(s.open_escalations())}"]
        if s.email_delays:
            lines += ["", "**Emails delayed** (the mail provider keeps failing)"]
            lines += [f"- to {d.recipient} since {d.since:%Y-%m-%d %H:%M} UTC" for d in s.email_delays.values()]
        return "\n".join(lines)
