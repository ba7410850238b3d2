"""The partnership's overall status, derived from its state (never set by hand)."""

from __future__ import annotations

from accord.models import Health, PartnershipState


def assess(state: PartnershipState, stage_available: bool = True) -> Health:
    """Worst first: escalated, then at risk (overdue or blocked), then waiting, then on track."""
    if state.stage.is_final:
        return Health.done
    if state.open_escalations():
        return Health.escalated
    blocked = state.alignment.result is not None and state.alignment.result.blocked and not state.alignment.passed
    if blocked or any(t.overdue for t in state.open_tasks()):
        return Health.at_risk
    if not stage_available:
        return Health.waiting
    return Health.on_track
