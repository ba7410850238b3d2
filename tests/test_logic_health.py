"""The partnership's overall health: derived from its state, worst first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accord.logic.health import assess
from accord.models import (
    Alignment,
    AlignmentResult,
    Channel,
    EscalationRecord,
    Health,
    PartnershipState,
    Stage,
    Task,
    TaskKind,
    TaskStatus,
)

T0 = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)


def state(**fields) -> PartnershipState:
    base = {"partnership_id": "p1", "name": "Permits online", "chain_id": "chain-1", "started_at": T0, "stage_started_at": T0}
    return PartnershipState(**{**base, **fields})


def task(task_id: str = "legal-review", *, overdue: bool = False, status: TaskStatus = TaskStatus.open) -> Task:
    return Task(
        id=task_id,
        kind=TaskKind.checklist,
        stage=Stage.screening,
        title="Legal review",
        owner="ann",
        created_at=T0,
        due_at=T0 + timedelta(days=14),
        status=status,
        overdue=overdue,
    )


def escalation(status: str = "open") -> EscalationRecord:
    return EscalationRecord(
        id="esc-1",
        trigger="overdue",
        subject="legal-review",
        reason="overdue for a week",
        level=1,
        raised_by="accord",
        channel=Channel.temporal,
        opened_at=T0,
        status=status,
    )


def alignment(blocked: bool, overridden_by: str | None = None) -> Alignment:
    result = AlignmentResult(
        divergence=0.9 if blocked else 0.3,
        across_parties=0.5,
        within_party={"county": 0.2},
        threshold=0.75,
        blocked=blocked,
        computed_at=T0,
    )
    return Alignment(result=result, overridden_by=overridden_by, override_reason="discussed in person" if overridden_by else "")


# --- each status on its own -------------------------------------------------------


def test_a_fresh_partnership_is_on_track() -> None:
    assert assess(state()) == Health.on_track
    assert assess(state(tasks={"t": task()})) == Health.on_track


@pytest.mark.parametrize("stage", [Stage.closed, Stage.rejected, Stage.terminated])
def test_a_final_stage_is_done(stage: Stage) -> None:
    assert assess(state(stage=stage)) == Health.done


def test_an_open_escalation_is_escalated() -> None:
    assert assess(state(escalations=[escalation()])) == Health.escalated


@pytest.mark.parametrize("status", ["resolved", "withdrawn"])
def test_a_closed_escalation_no_longer_counts(status: str) -> None:
    assert assess(state(escalations=[escalation(status)])) == Health.on_track


def test_an_overdue_open_task_is_at_risk() -> None:
    tasks = {"a": task("a"), "b": task("b", overdue=True)}
    assert assess(state(tasks=tasks)) == Health.at_risk


@pytest.mark.parametrize("status", [TaskStatus.done, TaskStatus.waived])
def test_an_overdue_task_that_is_finished_is_not_a_risk(status: TaskStatus) -> None:
    assert assess(state(tasks={"a": task(overdue=True, status=status)})) == Health.on_track


def test_a_blocked_alignment_check_is_at_risk() -> None:
    assert assess(state(alignment=alignment(blocked=True))) == Health.at_risk


def test_an_overridden_or_passing_alignment_check_is_not_a_risk() -> None:
    assert assess(state(alignment=alignment(blocked=True, overridden_by="ann"))) == Health.on_track
    assert assess(state(alignment=alignment(blocked=False))) == Health.on_track
    assert assess(state(alignment=Alignment())) == Health.on_track  # not computed yet


def test_an_unavailable_stage_is_waiting() -> None:
    assert assess(state(stage=Stage.active), stage_available=False) == Health.waiting


# --- precedence -------------------------------------------------------------------


def test_done_wins_over_everything() -> None:
    s = state(
        stage=Stage.terminated,
        escalations=[escalation()],
        tasks={"a": task(overdue=True)},
        alignment=alignment(blocked=True),
    )
    assert assess(s, stage_available=False) == Health.done


def test_escalated_wins_over_at_risk_and_waiting() -> None:
    s = state(escalations=[escalation()], tasks={"a": task(overdue=True)}, alignment=alignment(blocked=True))
    assert assess(s, stage_available=False) == Health.escalated


def test_at_risk_wins_over_waiting() -> None:
    assert assess(state(tasks={"a": task(overdue=True)}), stage_available=False) == Health.at_risk
    assert assess(state(alignment=alignment(blocked=True)), stage_available=False) == Health.at_risk


def test_health_is_derived_not_read_from_the_stored_field() -> None:
    # A stale stored value must not leak through.
    assert assess(state(health=Health.escalated)) == Health.on_track
    assert assess(state(health=Health.on_track, escalations=[escalation()])) == Health.escalated
