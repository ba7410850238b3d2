"""What the escalation shows outside itself: the partnership's copy (the ``escalation_changed``
signal on every level or status change) and the Temporal UI (current details, the level as a
search attribute)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import FailureError

from workflows import telemetry
from workflows.escalation.context import EscalationContext

with workflow.unsafe.imports_passed_through():
    from accord import search_attributes as sa
    from accord.logic import ladder
    from accord.logic.describe import when
    from accord.models import EscalationChanged, EscalationStatus, shown_level

# The signal the partnership workflow handles (payload: EscalationChanged). By name: the
# partnership starts this workflow, so this module cannot import the partnership's.
CHANGED_SIGNAL = "escalation_changed"


class Reporting:
    def __init__(self, ctx: EscalationContext) -> None:
        self.ctx = ctx
        # What the parent already knows: the level and status it raised the escalation with,
        # or, after continue-as-new, what the previous run reported before it ended.
        self.reported: tuple[int, bool, EscalationStatus] | None = ctx.snapshot()
        self._search_level: int | None = None
        # What this run's telemetry has counted (metrics and logs only).
        self._seen = telemetry.Seen()

    def unreported(self) -> bool:
        return self.ctx.snapshot() != self.reported

    def forget(self) -> None:
        """Report the current snapshot again on the next pass, changed or not."""
        self.reported = None

    async def report(self) -> None:
        """Tell the partnership of a level or status change (it keeps the escalation's summary)."""
        snapshot = self.ctx.snapshot()
        if snapshot == self.reported:
            return
        self.reported = snapshot
        state = self.ctx.state
        last = state.levels[-1]
        change = EscalationChanged(
            escalation_id=state.id,
            level=state.level,
            status=state.status,
            with_ops=state.with_ops,
            at=workflow.now(),
            cause=self._status_cause() if state.status != EscalationStatus.open else last.cause,
            amendment=state.proposed_amendment if state.status == EscalationStatus.awaiting_amendment else None,
        )
        try:
            await workflow.get_external_workflow_handle(state.partnership_workflow_id).signal(CHANGED_SIGNAL, change)
        except FailureError as exc:
            # The partnership is gone (finished or terminated): the escalation carries on, and
            # its own record in this workflow is complete without the parent's copy.
            workflow.logger.warning("could not tell %s of %s: %s", state.partnership_workflow_id, state.id, exc)

    def _status_cause(self) -> str:
        s = self.ctx.state
        if s.status == EscalationStatus.acknowledged:
            return f"acknowledged by {s.acknowledgements[0].actor}"
        if s.status == EscalationStatus.awaiting_amendment:
            return f"resolved by {s.resolved_by}, subject to an amendment"
        if s.status == EscalationStatus.resolved:
            return f"resolved by {s.closed_by}"
        if s.status == EscalationStatus.cleared:
            return f"cleared: {s.closed_cause}"
        return f"withdrawn by {s.closed_by}: {s.withdrawn_reason}"

    def publish(self) -> None:
        """Mirror the position into the Temporal UI (current details, escalation level)."""
        state = self.ctx.state
        level = shown_level(state.level, state.with_ops)
        if level != self._search_level:
            # Only on change: each upsert is a history event. No personal data here.
            workflow.upsert_search_attributes(
                [sa.ESCALATION_LEVEL.value_set(level), sa.PARTNERSHIP.value_set(self.ctx.definition.name)]
            )
            self._search_level = level
        workflow.set_current_details(self._details_markdown())
        telemetry.observe_escalation(state, self._seen)  # metrics and logs only: no workflow commands

    def _details_markdown(self) -> str:
        s, steps = self.ctx.state, self.ctx.ladder
        lines = [f"**Escalation {s.id}** · {s.status.value} · {s.what or f'{s.trigger}: {s.subject}'}", "", s.reason, ""]
        position = ladder.position(steps, s.level, s.with_ops)
        if s.status.is_final:
            closed = f"{s.status.value.capitalize()} by {s.closed_by} on {when(s.closed_at or workflow.now())}"
            lines.append(closed + (f": {s.closed_cause}" if s.closed_cause else ""))
        elif s.with_ops:
            lines.append(f"**{position.capitalize()}**: with ops since {when(s.level_reached_at)}")
        else:
            entry = steps[s.level - 1]
            who = ", ".join(self.ctx.people[c].name for c in entry.contacts if c in self.ctx.people)
            lines.append(f"**{position.capitalize()}** ({who})")
            if self.ctx.paging_held():
                lines.append(f"Nobody is paged before {when(s.level_reached_at)}: the same cause cleared shortly before")
            if s.status == EscalationStatus.open:
                climb = ladder.next_climb(steps, s.level, s.level_reached_at, acknowledged=False)
                assert climb is not None
                lines.append(f"Until {when(climb.at)}, then {self.ctx.level_name(climb.to_level)}")
            else:
                lines.append(f"Acknowledged by {', '.join(a.actor for a in s.acknowledgements)}; CARE to do: "
                             f"{', '.join(s.care.missing(self.ctx.parties)) or 'nothing'}")
        if s.clearing is not None and not s.status.is_final:
            lines += ["", f"**Its cause is gone** ({s.clearing.cause})"]
            if s.clearing.pending:
                lines.append(f"Asked to confirm it may close; it closes by itself at {when(s.clearing.until)}")
            elif s.clearing.kept_open_by:
                lines.append(f"Kept open by {s.clearing.kept_open_by}")
            elif s.clearing.back_at:
                lines.append(f"It came back on {when(s.clearing.back_at)}")
        return "\n".join(lines)
