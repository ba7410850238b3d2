"""The partnership's overall status, derived from its state (never set by hand).

The status line that goes with it is :mod:`accord.logic.status`."""

from __future__ import annotations

from accord.models import Health, PartnershipState, Rag, Review, Stage

# Ended before it began: no-go at screening, or the MOU never signed.
DECLINED = (Stage.rejected, Stage.terminated)


def assess(state: PartnershipState, stage_available: bool = True, rules: int = 0) -> Health:
    """Worst first: escalated, then at risk (overdue, blocked, or an email delayed), then waiting, then on track.
    Once ended: done, or (rules 2) declined when it ended before it began."""
    if state.stage.is_final:
        return Health.declined if rules >= 2 and state.stage in DECLINED else Health.done
    if state.open_escalations():
        return Health.escalated
    blocked = state.alignment.result is not None and state.alignment.result.blocked and not state.alignment.passed
    if blocked or any(t.overdue for t in state.open_tasks()) or state.email_delays:
        return Health.at_risk
    if _decaying(state):
        return Health.at_risk
    if not stage_available:
        return Health.waiting
    return Health.on_track


def _decaying(state: PartnershipState) -> bool:
    """Coordination decay shows before it is escalated: the last weekly status was not green,
    a party missed its last status update, or the last review of some kind had no inputs."""
    last_status = next((p.overall for p in reversed(state.rag_history) if p.overall is not None), None)
    if last_status is not None and last_status != Rag.green:
        return True
    if any(n > 0 for n in state.missed_in_a_row.values()):
        return True
    latest: dict[str, Review] = {}
    for review in sorted((r for r in state.reviews.values() if r.closed_at is not None), key=lambda r: r.n):
        latest[review.kind.value] = review
    return any(not r.inputs for r in latest.values())
