"""The partnership's overall health: derived from its state, worst first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accord.logic.health import assess
from accord.models import (
    Alignment,
    AlignmentResult,
    Channel,
    EmailDelay,
    EscalationRecord,
    Health,
    PartnershipState,
    Rag,
    RagPoint,
    Review,
    ReviewInput,
    ReviewKind,
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


# --- coordination decay: at risk before anything is escalated ---------------------------

def rag(*overall: Rag | None) -> list[RagPoint]:
    """Weekly status points, oldest first."""
    return [
        RagPoint(at=T0 + timedelta(weeks=i), review_id=f"weekly_status-{i + 1}", overall=o, by_party={"county": o})
        for i, o in enumerate(overall)
    ]


def review(kind: ReviewKind, n: int, *, with_inputs: bool, closed: bool = True) -> Review:
    inputs = {"ann": ReviewInput(stakeholder="ann", party="county", at=T0, channel=Channel.web, rag=Rag.green)}
    return Review(
        id=f"{kind.value}-{n}", kind=kind, n=n, scheduled_for=T0, inputs_due_at=T0, participants=["ann"],
        inputs=inputs if with_inputs else {}, closed_at=T0 + timedelta(days=n) if closed else None,
    )


@pytest.mark.parametrize("last", [Rag.amber, Rag.red])
def test_a_last_weekly_status_that_is_not_green_is_at_risk(last: Rag) -> None:
    assert assess(state(rag_history=rag(Rag.green, last))) == Health.at_risk


def test_a_status_back_to_green_is_on_track_again() -> None:
    assert assess(state(rag_history=rag(Rag.red, Rag.amber, Rag.green))) == Health.on_track


def test_a_week_without_an_overall_status_does_not_hide_the_last_one() -> None:
    # A round nobody answered has no overall status: the last one reported still stands.
    assert assess(state(rag_history=rag(Rag.red, None))) == Health.at_risk
    assert assess(state(rag_history=rag(Rag.green, None))) == Health.on_track
    assert assess(state(rag_history=rag(None, None))) == Health.on_track


def test_a_party_that_missed_its_last_status_update_is_at_risk() -> None:
    assert assess(state(missed_in_a_row={"county": 0, "vendor": 1})) == Health.at_risk


def test_parties_that_missed_nothing_in_a_row_are_on_track() -> None:
    assert assess(state(missed_in_a_row={"county": 0, "vendor": 0})) == Health.on_track


def test_a_last_review_without_inputs_is_at_risk() -> None:
    reviews = [review(ReviewKind.monthly, 1, with_inputs=True), review(ReviewKind.monthly, 2, with_inputs=False)]
    assert assess(state(reviews={r.id: r for r in reviews})) == Health.at_risk


def test_an_empty_review_followed_by_one_with_inputs_is_on_track() -> None:
    # Stored out of order: "last" is by review number, not by insertion.
    reviews = [review(ReviewKind.monthly, 2, with_inputs=True), review(ReviewKind.monthly, 1, with_inputs=False)]
    assert assess(state(reviews={r.id: r for r in reviews})) == Health.on_track


def test_each_kind_of_review_counts_by_its_own_last_one() -> None:
    reviews = [
        review(ReviewKind.monthly, 1, with_inputs=True),
        review(ReviewKind.quarterly, 1, with_inputs=False),
        review(ReviewKind.monthly, 2, with_inputs=True),
    ]
    assert assess(state(reviews={r.id: r for r in reviews})) == Health.at_risk


def test_a_review_still_open_without_inputs_is_not_a_risk_yet() -> None:
    reviews = [review(ReviewKind.monthly, 1, with_inputs=True), review(ReviewKind.monthly, 2, with_inputs=False, closed=False)]
    assert assess(state(reviews={r.id: r for r in reviews})) == Health.on_track


def test_an_email_still_failing_is_at_risk() -> None:
    delay = EmailDelay(send_key="k1", recipient="ann", since=T0, attempts=9, error="503")
    assert assess(state(email_delays={"k1": delay})) == Health.at_risk


def test_decay_wins_over_waiting_but_not_over_escalated() -> None:
    assert assess(state(rag_history=rag(Rag.red)), stage_available=False) == Health.at_risk
    assert assess(state(rag_history=rag(Rag.red), escalations=[escalation()])) == Health.escalated
