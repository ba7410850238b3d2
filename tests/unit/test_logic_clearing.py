"""When an automatic escalation's cause is gone (accord/logic/clearing.py), one case per trigger
kind: still there, then gone (with the words the escalation records), and the quiet period
against paging the same people again for a cause that comes back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accord.logic.clearing import cause_gone, quiet_until
from accord.models import (
    Alignment,
    AlignmentResult,
    ApprovalOutcome,
    ApprovalState,
    Channel,
    EscalationRecord,
    MetricLine,
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
    TriggerKind,
    ValueBalanceRecord,
)
from definitions import load
from definitions.schema import ClearStatus
from tests.support.paths import DATA

OPERATING = load(DATA / "operating.yaml")  # alpha: ann, abe; beta: ben; metric referrals
T0 = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)
LATER = T0 + timedelta(days=7)


def state(**fields) -> PartnershipState:
    return PartnershipState(partnership_id="p", name="P", chain_id="c", started_at=T0, stage_started_at=T0,
                            stage=Stage.active, rules_version=2, **fields)


def raised(trigger: TriggerKind, subject: str, **fields) -> EscalationRecord:
    return EscalationRecord(id="esc-1", trigger=trigger, subject=subject, reason="r", level=1, raised_by="accord",
                            channel=Channel.temporal, opened_at=T0, **fields)


def task(status: TaskStatus = TaskStatus.open) -> Task:
    done = status == TaskStatus.done
    return Task(id="kickoff", kind=TaskKind.checklist, stage=Stage.launch, title="Kickoff", owner="abe", created_at=T0,
                due_at=T0, status=status, completed_at=LATER if done else None, completed_by="abe" if done else None)


def review(kind: ReviewKind, n: int, closed: datetime | None = LATER, **fields) -> Review:
    return Review(id=f"{kind.value}-{n}", kind=kind, n=n, scheduled_for=T0, opened_at=T0, inputs_due_at=T0,
                  participants=["abe", "ben"], closed_at=closed, **fields)


def test_overdue_clears_when_the_task_is_done_or_waived_or_the_approval_decided():
    record = raised(TriggerKind.overdue, "kickoff")
    assert cause_gone(record, state(tasks={"kickoff": task()}), OPERATING) is None
    assert cause_gone(record, state(tasks={"kickoff": task(TaskStatus.done)}), OPERATING) == \
        "'Kickoff' was done by Abe Alpha on Thursday 8 May 2025, 09:00 UTC"
    assert cause_gone(record, state(tasks={"kickoff": task(TaskStatus.waived)}), OPERATING) == "'Kickoff' was waived"
    approval = ApprovalState(id="go-no-go", title="Go/no-go", stage=Stage.screening, approvers=["ann"], policy="all", opened_at=T0,
                             deadline_at=T0 - timedelta(days=1))
    on_approval = raised(TriggerKind.overdue, "go-no-go")
    assert cause_gone(on_approval, state(approvals={"go-no-go": approval}), OPERATING) is None
    approval.outcome = ApprovalOutcome.approved
    assert cause_gone(on_approval, state(approvals={"go-no-go": approval}), OPERATING) == "'Go/no-go' was decided (approved)"


def test_alignment_clears_below_the_threshold_or_when_overridden():
    record = raised(TriggerKind.alignment, "alignment")

    def scored(divergence: float, **fields) -> PartnershipState:
        result = AlignmentResult(divergence=divergence, across_parties=0.5, within_party={}, threshold=0.75,
                                 blocked=divergence > 0.75, computed_at=LATER)
        return state(alignment=Alignment(result=result, **fields))
    assert cause_gone(record, scored(0.94), OPERATING) is None
    assert cause_gone(record, scored(0.31), OPERATING) == "the goal statements now diverge by 0.31, within the threshold 0.75"
    assert cause_gone(record, scored(0.94, overridden_by="ann", override_reason="Agreed on the call"), OPERATING) == \
        "the alignment check was overridden by Ann Alpha: Agreed on the call"


@pytest.mark.parametrize("trigger", [TriggerKind.red_status, TriggerKind.repeated_amber])
def test_red_and_repeated_amber_clear_on_a_later_green_status(trigger):
    record = raised(trigger, "status")

    def statuses(*rags: Rag) -> PartnershipState:
        return state(rag_history=[RagPoint(at=T0 + timedelta(days=i), review_id=f"weekly_status-{i}", overall=r, by_party={})
                                  for i, r in enumerate(rags)])
    assert cause_gone(record, statuses(Rag.green), OPERATING) is None, "a green before it was raised does not count"
    assert cause_gone(record, statuses(Rag.red, Rag.amber), OPERATING) is None
    assert cause_gone(record, statuses(Rag.red, Rag.green), OPERATING) == "the weekly status of weekly_status-1 is green"


def test_a_red_status_may_end_at_amber_when_the_definition_says_so():
    definition = OPERATING.model_copy(deep=True)
    definition.escalation.triggers.red_status.clear_status = ClearStatus.amber
    history = [RagPoint(at=LATER, review_id="weekly_status-2", overall=Rag.amber, by_party={})]
    assert cause_gone(raised(TriggerKind.red_status, "status"), state(rag_history=history), definition) == \
        "the weekly status of weekly_status-2 is amber"


def test_missed_updates_clear_when_the_party_sends_its_next_status():
    record = raised(TriggerKind.missed_updates, "beta")
    silent = review(ReviewKind.weekly_status, 3)
    assert cause_gone(record, state(reviews={silent.id: silent}), OPERATING) is None
    sent = review(ReviewKind.weekly_status, 4, inputs={"ben": ReviewInput(stakeholder="ben", party="beta", at=LATER,
                                                                          channel=Channel.api, rag=Rag.green)})
    assert cause_gone(record, state(reviews={silent.id: silent, sent.id: sent}), OPERATING) == \
        "Beta GmbH sent its weekly status (Weekly status #4)"


def test_missed_target_clears_when_a_later_review_shows_it_on_target():
    record = raised(TriggerKind.missed_target, "referrals")

    def line(on_target: bool) -> MetricLine:
        return MetricLine(metric_id="referrals", name="Qualified referrals", unit="per month", baseline=2, target=10,
                          latest=12 if on_target else 3, on_target=on_target, missed=not on_target, summary="")
    missed = review(ReviewKind.monthly, 6, metrics=[line(False)])
    assert cause_gone(record, state(reviews={missed.id: missed}), OPERATING) is None
    met = review(ReviewKind.monthly, 7, closed=LATER + timedelta(days=30), metrics=[line(True)])
    assert cause_gone(record, state(reviews={missed.id: missed, met.id: met}), OPERATING) == \
        "Qualified referrals was on target at Monthly operational review #7"


def test_imbalance_clears_when_the_next_mutual_value_review_is_within_tolerance():
    record = raised(TriggerKind.imbalance, "annual_mutual_value")

    def balance(imbalanced: bool) -> ValueBalanceRecord:
        return ValueBalanceRecord(ratios={}, gap=0.9 if imbalanced else 0.1, tolerance=0.5, imbalanced=imbalanced,
                                  summary="gap 0.90" if imbalanced else "gap 0.10")
    skewed = review(ReviewKind.annual_mutual_value, 2, balance=balance(True))
    assert cause_gone(record, state(reviews={skewed.id: skewed}), OPERATING) is None
    even = review(ReviewKind.annual_mutual_value, 3, closed=LATER + timedelta(days=365), balance=balance(False))
    gone = cause_gone(record, state(reviews={skewed.id: skewed, even.id: even}), OPERATING)
    assert gone is not None and "within tolerance (gap 0.10)" in gone


def test_an_escalation_raised_by_a_person_never_clears_by_itself():
    assert cause_gone(raised(TriggerKind.manual, "kickoff"), state(tasks={"kickoff": task(TaskStatus.done)}), OPERATING) is None


def test_the_same_cause_back_within_its_quiet_period_pages_nobody_until_the_period_ends():
    cleared = raised(TriggerKind.red_status, "status", cause_gone="green", cause_gone_at=LATER)
    day = timedelta(days=1)  # the default quiet period
    assert quiet_until([cleared], TriggerKind.red_status, "status", OPERATING, LATER + day / 2) == LATER + day
    assert quiet_until([cleared], TriggerKind.red_status, "status", OPERATING, LATER + 2 * day) is None
    assert quiet_until([cleared], TriggerKind.red_status, "other", OPERATING, LATER) is None, "another cause"
    assert quiet_until([cleared], TriggerKind.manual, "status", OPERATING, LATER) is None
