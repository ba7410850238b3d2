"""The partnership's record: its audit trail (the timeline), and what it shows outside the
workflow: the status line, search attributes, the Temporal UI's current details, telemetry.

Every change ends with :meth:`Record.publish`, which mirrors the state (typed search attributes
from ``accord/search_attributes.py``, upserted only when they change; no personal data) and
writes the UI's current details: open tasks, who is pending until when, escalations, delays.

Rules 2: the status line and health are derived from the state (``accord.logic.status``) on
every publish, and :meth:`Record.follow` publishes whenever the derived status differs from the
one last shown, whatever changed the state: nothing is left over from an earlier step. The
escalation level upserted is the one number shown everywhere (``accord.models.shown_level``).
Under rules 0 and 1 the stages write the line themselves (:meth:`set_detail`), as they did.
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
    from accord.logic import approvals, health, ladder, limits, status
    from accord.logic.describe import approval_title, people, person, when
    from accord.models import ApprovalOutcome, Event, EventKind, Stage, shown_level

_UNSET = object()


class Record:
    def __init__(self, ctx: PartnershipContext) -> None:
        self.ctx = ctx
        # Search attribute values as last upserted by this run (a new run upserts them all once).
        self._attributes: dict[str, object] = {}
        # What this run's telemetry has counted (metrics and logs only).
        self._seen = telemetry.Seen()
        # Rules 2: the status last published.
        self._shown: status.Status | None = None

    @property
    def derived(self) -> bool:
        """Rules 2: the status line is derived from the state, not written by the stages."""
        return self.ctx.state.rules_version >= 2

    def log(self, kind: EventKind, *, actor: str = "accord", detail: str = "", data: dict[str, Any] | None = None,
            sent_by: str | None = None) -> None:
        state = self.ctx.state
        state.timeline.append(Event(at=workflow.now(), kind=kind, actor=actor, detail=detail, data=data or {},
                                    sent_by=sent_by))
        del state.timeline[:-limits.MAX_TIMELINE]  # the recent trail only

    def enter(self, stage: Stage, why: str) -> None:
        state = self.ctx.state
        self.log(EventKind.stage_changed, detail=f"{state.stage.value} -> {stage.value}: {why}")
        state.stage = stage
        state.stage_started_at = workflow.now()
        if not self.derived:
            state.detail = why
        self.ctx.stage_available = True
        self.publish()

    def set_detail(self, detail: str) -> None:
        """Rules 0 and 1: the stage says what it does now (rules 2 derive it: only publish)."""
        if not self.derived:
            self.ctx.state.detail = detail
        self.publish()

    def party_names(self, party_ids: list[str]) -> str:
        return approvals.party_names(self.ctx.definition, party_ids)

    def status(self) -> status.Status:
        """Rules 2: the status line and health the state says now."""
        return status.derive(self.ctx.state, self.ctx.definition, self.ctx.stage_available)

    async def follow(self) -> None:
        """Rules 2: publish whenever the derived status changes, whatever changed the state (runs
        for the whole run; the condition is re-read after every change the workflow makes)."""
        while True:
            await workflow.wait_condition(lambda: self.status() != self._shown)
            self.publish()

    def publish(self) -> None:
        """Mirror the state into search attributes and the UI's current details."""
        state = self.ctx.state
        if self.derived:
            self._shown = self.status()
            state.detail, state.health = self._shown.line, self._shown.health
            level = max((shown_level(e.level, e.with_ops) for e in state.open_escalations()), default=0)
        else:
            state.health = health.assess(state, self.ctx.stage_available)
            level = max((e.level for e in state.open_escalations()), default=0)
        deadline = state.next_deadline()
        values: dict[SearchAttributeKey[Any], Any] = {
            sa.STAGE: state.stage.value,
            sa.STATUS: state.health.value,
            sa.ESCALATION_LEVEL: level,
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
        s, definition = self.ctx.state, self.ctx.definition
        lines = [f"**Stage:** {s.stage.value} · **Status:** {s.health.value}", "", s.detail or ""]
        open_tasks = s.open_tasks()
        if open_tasks:
            lines += ["", "**Open tasks**"]
            lines += [
                f"- {t.title} [{t.id}] — {person(definition, t.owner)}, due {when(t.due_at)}{' (OVERDUE)' if t.overdue else ''}"
                for t in sorted(open_tasks, key=lambda t: t.due_at)
            ]
        pending = [a for a in s.approvals.values() if a.outcome == ApprovalOutcome.pending]
        for a in pending:
            evaluation = approvals.of(a)
            waiting = f"waiting on {people(definition, evaluation.waiting_on)} until {when(a.deadline_at)}"
            lines += ["", f"**{approval_title(a.id, a.title)}** (round {a.round}): {waiting}"]
            if evaluation.parties_waiting:
                lines.append(f"Still to approve for their party: {self.party_names(evaluation.parties_waiting)}")
        if s.open_escalations():
            lines += ["", "**Open escalations**"]
            ladder_of = definition.escalation.ladder
            lines += [f"- {e.id}: {e.what or e.trigger.value} — {ladder.position(ladder_of, e.level, e.with_ops)}, "
                      f"{e.status.value}" for e in s.open_escalations()]
        if s.email_delays:
            lines += ["", "**Emails delayed** (the mail provider keeps failing)"]
            lines += [f"- to {person(definition, d.recipient)} since {when(d.since)}" for d in s.email_delays.values()]
        return "\n".join(lines)
