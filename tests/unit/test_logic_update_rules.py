"""What each update refuses (accord/logic/rules/): the workflows' validators call these, so every
refusal, and every boundary, is tested here without a workflow. A state is built by hand for
each case; ``rules`` is the partnership's rules version where a rule changed with it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from accord.logic.rules import decisions, escalations, partnership
from accord.models import (
    MOU,
    Acknowledge,
    AcknowledgementRecord,
    ActionInput,
    Alignment,
    AlignmentOverride,
    AlignmentResult,
    Amendment,
    AmendmentProposal,
    AmendmentStatus,
    ApprovalOutcome,
    ApprovalState,
    CareEntry,
    CareNote,
    CareRecord,
    Channel,
    CloseRequest,
    Decision,
    DecisionInput,
    DecisionKind,
    DelegationInput,
    DocumentVersion,
    EscalationRequest,
    EscalationState,
    EscalationStatus,
    MetricObservationInput,
    MouRevision,
    PartnershipState,
    Rag,
    Resolve,
    Review,
    ReviewInputSubmission,
    ReviewKind,
    ReviewOutcome,
    Stage,
    Statement,
    StatementSubmission,
    Task,
    TaskCompletion,
    TaskKind,
    TaskStatus,
    Withdraw,
)
from definitions import load
from tests.support.paths import DATA

OPERATING = load(DATA / "operating.yaml")  # alpha: ann, abe; beta: ben; metric referrals (abe); ladder of 2
SCREENING = load(DATA / "screening.yaml")  # alignment by alice, arun, bea, bo; go/no-go alice, bea
MOU_DEF = load(DATA / "mou.yaml")  # MOU signed by alice, amir, bea, max 3 rounds, delegation allowed
T0 = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)
HASH = "a" * 64


def state(stage: Stage = Stage.active, rules: int = 1, **fields) -> PartnershipState:
    return PartnershipState(partnership_id="p", name="P", chain_id="c", started_at=T0, stage_started_at=T0,
                            stage=stage, rules_version=rules, **fields)


def refused(match: str):
    # The whole message, as the person reads it (a search would pass with anything around it).
    return pytest.raises(ValueError, match=f"^{re.escape(match)}$")


# --- tasks -----------------------------------------------------------------------------


def with_task(kind: TaskKind = TaskKind.checklist, owner: str = "abe", done: bool = False) -> PartnershipState:
    task = Task(id="t1", kind=kind, stage=Stage.launch, title="Kickoff", owner=owner, created_at=T0, due_at=T0)
    if done:
        task.status, task.completed_by, task.completed_at = TaskStatus.done, "abe", T0 + timedelta(hours=1)
    return state(Stage.launch, tasks={"t1": task})


def completion(actor: str = "abe", channel: Channel = Channel.email_link, result: str = "", task_id: str = "t1"):
    return TaskCompletion(task_id=task_id, actor=actor, result=result, channel=channel)


def test_a_task_is_completed_once_by_its_owner_or_ops():
    partnership.check_completion(with_task(), OPERATING, completion())
    partnership.check_completion(with_task(), OPERATING, completion("ops", Channel.cli))
    with refused("There is no task 'nope' to complete in this partnership."):
        partnership.check_completion(with_task(), OPERATING, completion(task_id="nope"))
    with refused("This task belongs to someone else."):
        partnership.check_completion(with_task(), OPERATING, completion("ben", Channel.web))
    with refused("'zed' is not a stakeholder of this partnership."):
        partnership.check_completion(with_task(), OPERATING, completion("zed", Channel.api))
    with refused("This task was already completed by abe on Thursday 1 May 2025, 10:00 UTC."):
        partnership.check_completion(with_task(done=True), OPERATING, completion())


@pytest.mark.parametrize(("kind", "hint"), [
    (TaskKind.statement, " It is a goal statement: submit the statement instead."),
    (TaskKind.baseline, " It is a metric baseline: record the metric's value instead."),
    (TaskKind.review_input, " It is a review input: send the review input instead."),
])
def test_tasks_that_complete_by_their_own_action_say_what_to_do_instead(kind, hint):
    with refused(f"There is no task 't1' to complete in this partnership.{hint}"):
        partnership.check_completion(with_task(kind), OPERATING, completion())


def test_a_task_result_is_bounded():
    partnership.check_completion(with_task(), OPERATING, completion(result="x" * 5_000))
    with refused("The result is longer than 5,000 characters."):
        partnership.check_completion(with_task(), OPERATING, completion(result="x" * 5_001))
    long_id = "t" * 5_001
    task = with_task().tasks["t1"].model_copy(update={"id": long_id})
    with refused("The task id is longer than 5,000 characters."):
        partnership.check_completion(state(Stage.launch, tasks={long_id: task}), OPERATING, completion(task_id=long_id))


# --- goal statements ---------------------------------------------------------------------


def test_a_statement_is_two_sentences_not_an_essay():
    assert partnership.statement_text("x" * 2_000) is None
    assert partnership.statement_text("x" * 2_001) == "Two sentences, please: the statement is longer than 2,000 characters."
    assert partnership.statement_text("  \n ") == "The statement is empty."


def test_the_same_words_are_the_same_statement_whatever_the_spacing():
    assert partnership.same_statement("Grow  referrals\nby 20%", " Grow referrals by 20% ")
    assert not partnership.same_statement("Grow referrals by 20%", "Grow referrals by 25%")
    assert not partnership.same_statement("grow referrals", "Grow referrals")


def screening(blocked: bool | None = None, statements: tuple[str, ...] = (), stage: Stage = Stage.screening,
              overridden: bool = False) -> PartnershipState:
    result = None if blocked is None else AlignmentResult(divergence=0.9 if blocked else 0.1, across_parties=0.5,
                                                          within_party={}, threshold=0.75, blocked=blocked, computed_at=T0)
    alignment = Alignment(statements={who: Statement(stakeholder=who, party="acme", text="x", at=T0) for who in statements},
                          result=result, overridden_by="alice" if overridden else None)
    return state(stage, alignment=alignment)


def test_a_statement_is_taken_from_participants_while_the_check_is_open():
    submit = StatementSubmission(stakeholder="alice", text="Grow referrals")
    partnership.check_statement(screening(), SCREENING, submit)
    with refused("'zed' is not asked for a goal statement in this partnership."):
        partnership.check_statement(screening(), SCREENING, StatementSubmission(stakeholder="zed", text="x"))
    with refused("'ann' is not asked for a goal statement in this partnership."):
        partnership.check_statement(state(Stage.screening), OPERATING, StatementSubmission(stakeholder="ann", text="x"))
    with refused("The goal-alignment check is closed."):
        partnership.check_statement(screening(stage=Stage.mou), SCREENING, submit)
    with refused("The goal-alignment check is closed."):
        partnership.check_statement(screening(blocked=False), SCREENING, submit)
    with refused("The goal-alignment check is closed."):
        partnership.check_statement(screening(overridden=True), SCREENING, submit)
    with refused("The statement is empty."):
        partnership.check_statement(screening(), SCREENING, StatementSubmission(stakeholder="alice", text=" "))


def test_a_statement_is_revised_only_while_the_statements_diverge():
    submit = StatementSubmission(stakeholder="alice", text="Grow referrals")
    with refused("Your statement is already recorded; revisions open only if the statements diverge."):
        partnership.check_statement(screening(statements=("alice",)), SCREENING, submit)
    partnership.check_statement(screening(blocked=True, statements=("alice",)), SCREENING, submit)
    partnership.check_statement(screening(statements=("bea",)), SCREENING, submit)


# --- reviews and metrics ------------------------------------------------------------------


def with_review(kind: ReviewKind = ReviewKind.weekly_status, opened: bool = True, closed: bool = False,
                n: int = 1, others: tuple[Review, ...] = ()) -> PartnershipState:
    r = Review(id=f"{kind.value}-{n}", kind=kind, n=n, scheduled_for=T0, opened_at=T0 if opened else None,
               inputs_due_at=T0 + timedelta(days=2), participants=["abe", "ben"],
               closed_at=T0 + timedelta(days=2) if closed else None)
    return state(reviews={r.id: r, **{o.id: o for o in others}})


def submission(review_id: str = "weekly_status-1", who: str = "ben", **fields) -> ReviewInputSubmission:
    return ReviewInputSubmission(review_id=review_id, stakeholder=who, **fields)


def test_a_review_input_is_taken_from_its_participants_while_it_is_open():
    partnership.check_review_input(with_review(), submission(rag=Rag.green))
    with refused("There is no review 'monthly-9' in this partnership (reviews: weekly_status-1)."):
        partnership.check_review_input(with_review(), submission("monthly-9", rag=Rag.green))
    with refused("Weekly status #1 opens on Thursday 1 May 2025, 09:00 UTC."):
        partnership.check_review_input(with_review(opened=False), submission(rag=Rag.green))
    with refused("Weekly status #1 closed on Saturday 3 May 2025, 09:00 UTC."):
        partnership.check_review_input(with_review(closed=True), submission(rag=Rag.green))
    with refused("'ann' is not asked for input to Weekly status #1."):
        partnership.check_review_input(with_review(), submission(who="ann", rag=Rag.green))
    with refused("Say how it is going: green, amber or red."):
        partnership.check_review_input(with_review(), submission())
    partnership.check_review_input(with_review(ReviewKind.monthly), submission("monthly-1"))  # no RAG asked
    partnership.check_review_input(with_review(), submission(rag=Rag.red, note="x" * 5_000))
    with refused("The note is longer than 5,000 characters."):
        partnership.check_review_input(with_review(), submission(rag=Rag.red, note="x" * 5_001))


@pytest.mark.parametrize(("contribution", "benefit", "refusal"), [
    (1, 10, None), (10, 1, None), (5.5, 5.5, None),
    (0.99, 5, "Rate your party's contribution from 1 to 10."),
    (11, 5, "Rate your party's contribution from 1 to 10."),
    (None, 5, "Rate your party's contribution from 1 to 10."),
    (5, 10.01, "Rate your party's benefit from 1 to 10."),
    (5, 0, "Rate your party's benefit from 1 to 10."),
    (5, None, "Rate your party's benefit from 1 to 10."),
])
def test_the_annual_review_rates_contribution_and_benefit_from_1_to_10(contribution, benefit, refusal):
    st = with_review(ReviewKind.annual_mutual_value)
    given = submission("annual_mutual_value-1", contribution=contribution, benefit=benefit)
    if refusal is None:
        partnership.check_review_input(st, given)
    else:
        with refused(refusal):
            partnership.check_review_input(st, given)


def observation(actor: str = "abe", value: float = 7, channel: Channel = Channel.web, **fields):
    return MetricObservationInput(metric_id=fields.pop("metric_id", "referrals"), value=value, actor=actor,
                                  channel=channel, **fields)


def test_a_metric_is_recorded_from_launch_by_whoever_may_with_a_finite_number():
    for stage in (Stage.launch, Stage.active, Stage.renewal):
        partnership.check_metric(state(stage), OPERATING, observation())
    for stage in (Stage.screening, Stage.mou, Stage.closed):
        with refused(f"Metrics are recorded from launch on (the partnership is in {stage.value})."):
            partnership.check_metric(state(stage), OPERATING, observation())
    with refused("There is no metric 'nps' (metrics: referrals)."):
        partnership.check_metric(state(), OPERATING, observation(metric_id="nps"))
    two = OPERATING.model_copy(update={"metrics": [*OPERATING.metrics, OPERATING.metrics[0].model_copy(update={"id": "nps"})]})
    with refused("There is no metric 'csat' (metrics: referrals, nps)."):
        partnership.check_metric(state(), two, observation(metric_id="csat"))
    with refused("There is no metric 'nps' (metrics: none)."):
        partnership.check_metric(state(), OPERATING.model_copy(update={"metrics": []}), observation(metric_id="nps"))
    with refused("Qualified referrals is recorded by its owner, abe."):
        partnership.check_metric(state(), OPERATING, observation("ben", channel=Channel.web))
    partnership.check_metric(state(), OPERATING, observation("ben", channel=Channel.cli))
    with refused("'zed' is not a stakeholder of this partnership."):
        partnership.check_metric(state(), OPERATING, observation("zed", channel=Channel.api))
    for bad in (float("nan"), float("inf"), float("-inf")):
        with refused("The value must be a number."):
            partnership.check_metric(state(), OPERATING, observation(value=bad))
    partnership.check_metric(state(), OPERATING, observation(value=-1e300, note="x" * 5_000))
    with refused("The note is longer than 5,000 characters."):
        partnership.check_metric(state(), OPERATING, observation(note="x" * 5_001))


def outcome(review_id: str = "monthly-1", actor: str = "ann", decisions_: tuple[str, ...] = ("Go on",), actions=()):
    return ReviewOutcome(review_id=review_id, actor=actor, decisions=list(decisions_), actions=list(actions))


def test_a_review_outcome_is_recorded_on_the_latest_review_of_its_kind():
    monthly = with_review(ReviewKind.monthly)
    partnership.check_review_outcome(monthly, OPERATING, outcome())
    with refused("There is no review 'monthly-2' to record in this partnership (reviews: monthly-1)."):
        partnership.check_review_outcome(monthly, OPERATING, outcome("monthly-2"))
    with refused("There is no review 'monthly-1' to record in this partnership (no review has opened yet)."):
        partnership.check_review_outcome(with_review(ReviewKind.monthly, opened=False), OPERATING, outcome())
    later = Review(id="monthly-2", kind=ReviewKind.monthly, n=2, scheduled_for=T0, opened_at=T0, inputs_due_at=T0,
                   participants=["abe"])
    with refused("Monthly operational review #1 was followed by #2: record it there."):
        partnership.check_review_outcome(with_review(ReviewKind.monthly, others=(later,)), OPERATING, outcome())
    planned = later.model_copy(update={"opened_at": None})
    partnership.check_review_outcome(with_review(ReviewKind.monthly, others=(planned,)), OPERATING, outcome())
    with refused("'zed' is not a stakeholder of this partnership."):
        partnership.check_review_outcome(monthly, OPERATING, outcome(actor="zed"))
    partnership.check_review_outcome(monthly, OPERATING, outcome(actor="ops"))


def test_a_review_outcome_holds_something_and_its_actions_have_a_title_and_an_owner():
    monthly = with_review(ReviewKind.monthly)
    with refused("Nothing to record: give at least one decision or action."):
        partnership.check_review_outcome(monthly, OPERATING, outcome(decisions_=(" ", "")))
    partnership.check_review_outcome(monthly, OPERATING, outcome(decisions_=(), actions=[ActionInput(title="Call", owner="ben")]))
    with refused("Every action needs a title."):
        partnership.check_review_outcome(monthly, OPERATING, outcome(actions=[ActionInput(title=" ", owner="ben")]))
    with refused("The action owner 'ops' is not a stakeholder of this partnership."):
        partnership.check_review_outcome(monthly, OPERATING, outcome(actions=[ActionInput(title="Call", owner="ops")]))
    partnership.check_review_outcome(monthly, OPERATING, outcome(decisions_=("x" * 5_000,)))
    with refused("A decision is longer than 5,000 characters."):
        partnership.check_review_outcome(monthly, OPERATING, outcome(decisions_=("x" * 5_001,)))
    with refused("An action is longer than 5,000 characters."):
        partnership.check_review_outcome(monthly, OPERATING, outcome(actions=[ActionInput(title="x" * 5_001, owner="ben")]))


# --- amendments, closing, escalating ------------------------------------------------------


def amended(**changes) -> object:
    data = OPERATING.model_dump(mode="json")
    data.update(changes)
    return OPERATING.model_validate(data)


def proposal(definition=None, actor: str = "ann", reason: str = "New name") -> AmendmentProposal:
    return AmendmentProposal(definition=definition or amended(name="Renamed partnership"), actor=actor, reason=reason)


def test_an_amendment_is_a_valid_different_definition_of_this_partnership_one_at_a_time():
    partnership.check_amendment(state(), OPERATING, proposal())
    partnership.check_amendment(state(Stage.screening), OPERATING, proposal(actor="ops"))
    with refused("'zed' is not a stakeholder of this partnership."):
        partnership.check_amendment(state(), OPERATING, proposal(actor="zed"))
    with refused("An amendment needs a reason."):
        partnership.check_amendment(state(), OPERATING, proposal(reason="  "))
    with refused("The partnership is closed."):
        partnership.check_amendment(state(Stage.closed), OPERATING, proposal())
    with refused("The amended definition is for 'other', not 'operating'."):
        partnership.check_amendment(state(), OPERATING, proposal(amended(id="other")))
    with refused("The amended definition is the same as the one in force."):
        partnership.check_amendment(state(), OPERATING, proposal(OPERATING))
    pending = Amendment(id="amendment-1", proposed_by="ann", reason="r", channel=Channel.api, proposed_at=T0,
                        definition=OPERATING)
    with refused("amendment-1 is still in approval; one amendment at a time."):
        partnership.check_amendment(state(amendments=[pending]), OPERATING, proposal())
    decided = pending.model_copy(update={"status": AmendmentStatus.applied})
    partnership.check_amendment(state(amendments=[decided]), OPERATING, proposal())
    with refused("The reason is longer than 5,000 characters."):
        partnership.check_amendment(state(), OPERATING, proposal(reason="x" * 5_001))


def test_an_amendment_is_judged_by_the_rules_and_durations_the_partnership_runs_under():
    short = OPERATING.model_dump(mode="json")
    short["escalation"]["ladder"][0]["respond_within"] = "30s"
    short = OPERATING.model_validate(short)
    with refused("The amended definition is not valid: escalation.ladder.0.respond_within: is shorter than 1h, the"
                 " shortest deadline a partnership can have (shorter ones are for tests: the deployment's"
                 " allow_short_durations setting)"):
        partnership.check_amendment(state(rules=1), OPERATING, proposal(short))
    partnership.check_amendment(state(rules=1, allow_short_durations=True), OPERATING, proposal(short))
    partnership.check_amendment(state(rules=0), OPERATING, proposal(short))  # before the limits
    assert partnership.amendment_checks(state(rules=0, allow_short_durations=True)) == {"rules": 0, "allow_short": True}


def test_the_pending_amendment_is_the_one_in_approval():
    first = Amendment(id="amendment-1", proposed_by="ann", reason="r", channel=Channel.api, proposed_at=T0,
                      definition=OPERATING, status=AmendmentStatus.rejected)
    second = first.model_copy(update={"id": "amendment-2", "status": AmendmentStatus.pending})
    assert partnership.pending_amendment(state()) is None
    assert partnership.pending_amendment(state(amendments=[first])) is None
    assert partnership.pending_amendment(state(amendments=[first, second])).id == "amendment-2"


def test_a_partnership_closes_once_launched_by_ops_or_its_approvers_with_a_reason():
    for stage in (Stage.launch, Stage.active, Stage.renewal):
        partnership.check_close(state(stage), OPERATING, CloseRequest(actor="ann", reason="Done"))
    for stage in (Stage.screening, Stage.mou, Stage.closed):
        with refused(f"A partnership closes once launched (it is in {stage.value})."):
            partnership.check_close(state(stage), OPERATING, CloseRequest(actor="ops", reason="Done"))
    with refused("Only ops or ann, ben may close the partnership."):
        partnership.check_close(state(), OPERATING, CloseRequest(actor="abe", reason="Done"))
    with refused("Closing needs a reason."):
        partnership.check_close(state(), OPERATING, CloseRequest(actor="ops", reason=" "))
    with refused("The reason is longer than 5,000 characters."):
        partnership.check_close(state(), OPERATING, CloseRequest(actor="ops", reason="x" * 5_001))


def test_an_escalation_is_raised_with_a_reason_on_a_level_of_the_ladder():
    for level in (1, 2):
        partnership.check_escalation_request(state(), OPERATING, EscalationRequest(reason="Stuck", level=level))
    for level in (0, 3):
        with refused("Level must be between 1 and 2."):
            partnership.check_escalation_request(state(), OPERATING, EscalationRequest(reason="Stuck", level=level))
    with refused("An escalation needs a reason."):
        partnership.check_escalation_request(state(), OPERATING, EscalationRequest(reason="\n"))
    with refused("The partnership is rejected."):
        partnership.check_escalation_request(state(Stage.rejected), OPERATING, EscalationRequest(reason="Stuck"))
    with refused("The subject is longer than 5,000 characters."):
        partnership.check_escalation_request(state(), OPERATING, EscalationRequest(reason="Stuck", subject="x" * 5_001))
    with refused("The reason is longer than 5,000 characters."):
        partnership.check_escalation_request(state(), OPERATING, EscalationRequest(reason="x" * 5_001, subject="x"))


# --- approvals ------------------------------------------------------------------------------


def approval(policy: str = "all", approvers: tuple[str, ...] = ("alice", "amir", "bea"), decided: tuple = (),
             round_: int = 1, document: bool = True, outcome: ApprovalOutcome = ApprovalOutcome.pending,
             delegation: bool = True, approval_id: str = MOU, parties: dict | None = None) -> ApprovalState:
    return ApprovalState(
        id=approval_id, title="MOU signature", stage=Stage.mou, approvers=list(approvers), policy=policy, round=round_,
        opened_at=T0, deadline_at=T0 + timedelta(days=14), outcome=outcome, allow_delegation=delegation,
        document_version=1 if document else None, document_hash=HASH if document else None, parties=parties or {},
        decisions=[Decision(approval_id=approval_id, round=r, actor=who, decision=kind, at=T0 + timedelta(hours=1),
                            channel=Channel.web) for who, kind, r in decided],
    )


def with_approval(rules: int = 1, **fields) -> PartnershipState:
    a = approval(**fields)
    return state(Stage.mou, rules=rules, approvals={a.id: a})


def decide(actor: str = "alice", kind: DecisionKind = DecisionKind.approve, comment: str = "", round_: int | None = None,
           document_hash: str | None = None, approval_id: str = MOU) -> DecisionInput:
    return DecisionInput(approval_id=approval_id, actor=actor, decision=kind, comment=comment, round=round_,
                         document_hash=document_hash)


def test_only_reject_and_request_changes_need_a_reason():
    assert [k for k in DecisionKind if decisions.needs_reason(k)] == [DecisionKind.reject, DecisionKind.request_changes]


def test_changes_are_requested_of_a_document_and_before_rules_1_of_anything():
    assert decisions.may_request_changes(approval(document=True), 1)
    assert decisions.may_request_changes(approval(document=False), 0)
    assert not decisions.may_request_changes(approval(document=False), 1)


def test_a_decision_is_for_an_open_approval_in_its_current_round():
    decisions.check_decision(with_approval(), decide())
    decisions.check_decision(with_approval(round_=2), decide(round_=2))
    with refused("There is no approval 'go-no-go' in this partnership (approvals: mou)."):
        decisions.check_decision(with_approval(), decide(approval_id="go-no-go"))
    with refused("This approval is closed (approved)."):
        decisions.check_decision(with_approval(outcome=ApprovalOutcome.approved), decide())
    with refused("This link is for round 1, which has been superseded by round 2."):
        decisions.check_decision(with_approval(round_=2), decide(round_=1))
    with refused("This link is for round 3, which has been superseded by round 2."):
        decisions.check_decision(with_approval(round_=2), decide(round_=3))


def test_the_first_decision_of_an_approver_counts_in_each_round():
    with refused("'bo' is not an approver of MOU signature."):
        decisions.check_decision(with_approval(), decide("bo"))
    earlier = (("alice", DecisionKind.reject, 2),)
    with refused("alice already decided (reject) on Thursday 1 May 2025, 10:00 UTC; the first decision counts."):
        decisions.check_decision(with_approval(round_=2, decided=earlier), decide())
    decisions.check_decision(with_approval(round_=3, decided=earlier), decide())  # a new round


def test_a_sequential_approval_takes_decisions_in_signing_order():
    with refused("It is not amir's turn yet: signing order is alice, amir, bea."):
        decisions.check_decision(with_approval(policy="sequential"), decide("amir"))
    signed = (("alice", DecisionKind.approve, 1),)
    decisions.check_decision(with_approval(policy="sequential", decided=signed), decide("amir"))
    decisions.check_decision(with_approval(policy="all"), decide("bea"))


def test_a_decision_without_a_document_approves_or_rejects_under_rules_1():
    no_document = {"document": False, "approval_id": "go-no-go"}
    kind = DecisionKind.request_changes
    with refused("This decision has no document to change: approve or reject."):
        decisions.check_decision(with_approval(rules=1, **no_document), decide(kind=kind, comment="why", approval_id="go-no-go"))
    decisions.check_decision(with_approval(rules=0, **no_document), decide(kind=kind, comment="why", approval_id="go-no-go"))
    decisions.check_decision(with_approval(rules=1), decide(kind=kind, comment="why"))


@pytest.mark.parametrize("kind", [DecisionKind.reject, DecisionKind.request_changes])
def test_a_no_says_why(kind):
    for comment in ("", "   "):
        with refused("Please give a reason."):
            decisions.check_decision(with_approval(), decide(kind=kind, comment=comment))
    decisions.check_decision(with_approval(), decide(kind=kind, comment="x" * 5_000))
    with refused("The comment is longer than 5,000 characters."):
        decisions.check_decision(with_approval(), decide(kind=kind, comment="x" * 5_001))


def test_a_decision_names_the_document_version_it_was_made_on():
    decisions.check_decision(with_approval(), decide(document_hash=HASH))
    decisions.check_decision(with_approval(), decide(document_hash=None))  # not checked
    for wrong in ("b" * 64, ""):
        with refused(f"This decision is not for the version now up for decision (version 1, SHA-256 {HASH})."
                     " Please open the link again, read it, and decide there."):
            decisions.check_decision(with_approval(), decide(document_hash=wrong))
    decisions.check_decision(with_approval(document=False), decide(document_hash=""))
    with refused("MOU signature is not a decision on a document."):
        decisions.check_decision(with_approval(document=False), decide(document_hash=HASH))


def delegate(actor: str = "alice", to: str = "bo", reason: str = "Away", round_: int | None = None) -> DelegationInput:
    return DelegationInput(approval_id=MOU, actor=actor, to=to, reason=reason, round=round_)


def test_a_delegation_hands_an_undecided_approvers_decision_to_another_stakeholder_with_a_reason():
    decisions.check_delegation(with_approval(), MOU_DEF, delegate())
    with refused("The definition does not allow delegation for MOU signature."):
        decisions.check_delegation(with_approval(delegation=False), MOU_DEF, delegate())
    with refused("'bo' is not an approver of MOU signature."):
        decisions.check_delegation(with_approval(), MOU_DEF, delegate("bo", "alice"))
    with refused("alice has already decided in this round."):
        decisions.check_delegation(with_approval(decided=(("alice", DecisionKind.approve, 1),)), MOU_DEF, delegate())
    with refused("'zed' is not a stakeholder of this partnership."):
        decisions.check_delegation(with_approval(), MOU_DEF, delegate(to="zed"))
    with refused("bea is already an approver."):
        decisions.check_delegation(with_approval(), MOU_DEF, delegate(to="bea"))
    with refused("A delegation needs a reason."):
        decisions.check_delegation(with_approval(), MOU_DEF, delegate(reason=" "))
    with refused("The reason is longer than 5,000 characters."):
        decisions.check_delegation(with_approval(), MOU_DEF, delegate(reason="x" * 5_001))
    with refused("This link is for round 1, which has been superseded by round 2."):
        decisions.check_delegation(with_approval(round_=2), MOU_DEF, delegate(round_=1))


def test_a_delegation_never_leaves_a_party_without_anyone_to_approve_for_it():
    # Acme must approve itself (its people change) and alice is the only one of Acme left.
    st = with_approval(approvers=("alice", "bea"), parties={"acme": ["alice", "amir"]})
    with refused("Acme Corp must approve this itself (it changes Acme Corp's people), and alice is the only one of "
                 "Acme Corp left to do so: delegate to someone of Acme Corp."):
        decisions.check_delegation(st, MOU_DEF, delegate(to="bo"))
    decisions.check_delegation(st, MOU_DEF, delegate(to="amir"))


def override(actor: str = "alice", reason: str = "We agree in person") -> AlignmentOverride:
    return AlignmentOverride(actor=actor, reason=reason)


def test_the_alignment_check_is_overridden_in_screening_by_those_allowed_with_a_reason():
    decisions.check_override(screening(blocked=True), SCREENING, override())
    with refused("There is no goal-alignment check to override."):
        decisions.check_override(screening(blocked=True, stage=Stage.mou), SCREENING, override())
    with refused("There is no goal-alignment check to override."):
        decisions.check_override(state(Stage.screening), OPERATING, override("ann"))
    with refused("Only alice, bea may override the alignment check."):
        decisions.check_override(screening(blocked=True), SCREENING, override("arun"))
    with refused("An override needs a reason."):
        decisions.check_override(screening(blocked=True), SCREENING, override(reason=""))
    with refused("The alignment check has already passed."):
        decisions.check_override(screening(blocked=False), SCREENING, override())
    with refused("The reason is longer than 5,000 characters."):
        decisions.check_override(screening(blocked=True), SCREENING, override(reason="x" * 5_001))


def with_mou(stage: Stage = Stage.mou, versions: int = 1, round_: int = 1) -> PartnershipState:
    st = with_approval(round_=round_)
    st.stage = stage
    st.mou.versions = [DocumentVersion(version=v, hash=HASH, created_at=T0, source="generated", author="accord")
                       for v in range(1, versions + 1)]
    return st


def test_the_mou_is_revised_in_its_stage_within_its_rounds():
    decisions.check_mou_revision(with_mou(), MOU_DEF, MouRevision())
    decisions.check_mou_revision(with_mou(round_=2), MOU_DEF, MouRevision())
    with refused("The MOU has used all 3 review rounds."):
        decisions.check_mou_revision(with_mou(round_=3), MOU_DEF, MouRevision())
    with refused("The MOU can only be revised in the MOU stage (the partnership is in launch)."):
        decisions.check_mou_revision(with_mou(Stage.launch), MOU_DEF, MouRevision())
    with refused("The MOU can only be revised in the MOU stage (the partnership is in mou)."):
        decisions.check_mou_revision(with_mou(), OPERATING, MouRevision())
    with refused("The first draft is still being prepared."):
        decisions.check_mou_revision(with_mou(versions=0), MOU_DEF, MouRevision())


def test_an_uploaded_mou_is_not_empty_and_not_too_long():
    decisions.check_mou_revision(with_mou(), MOU_DEF, MouRevision(markdown="x" * 200_000))
    with refused("The uploaded MOU is longer than 200,000 characters."):
        decisions.check_mou_revision(with_mou(), MOU_DEF, MouRevision(markdown="x" * 200_001))
    with refused("The uploaded MOU is empty."):
        decisions.check_mou_revision(with_mou(), MOU_DEF, MouRevision(markdown=" \n"))


# --- escalations ------------------------------------------------------------------------------


def escalation(status: EscalationStatus = EscalationStatus.open, rules: int = 1, **fields) -> EscalationState:
    return EscalationState(id="esc-1", trigger="manual", subject="partnership", reason="Stuck", raised_by="ops",
                           opened_at=T0, partnership_workflow_id="partnership-operating", chain_id="c", level=1,
                           level_reached_at=T0, status=status, rules_version=rules, **fields)


def test_an_escalation_is_acknowledged_once_by_each_member_while_open():
    escalations.check_acknowledgement(escalation(), OPERATING, Acknowledge(actor="ben", note="x" * 5_000))
    escalations.check_acknowledgement(escalation(EscalationStatus.acknowledged), OPERATING, Acknowledge(actor="ops"))
    with refused("'zed' is not a stakeholder of this partnership."):
        escalations.check_acknowledgement(escalation(), OPERATING, Acknowledge(actor="zed"))
    for final in (EscalationStatus.resolved, EscalationStatus.withdrawn):
        with refused(f"This escalation is already {final.value}."):
            escalations.check_acknowledgement(escalation(final), OPERATING, Acknowledge(actor="ben"))
    with refused("The note is longer than 5,000 characters."):
        escalations.check_acknowledgement(escalation(), OPERATING, Acknowledge(actor="ben", note="x" * 5_001))
    earlier = [AcknowledgementRecord(actor="ben", at=T0, level=1, channel=Channel.web)]
    with refused("ben already acknowledged it on Thursday 1 May 2025, 09:00 UTC."):
        escalations.check_acknowledgement(escalation(acknowledgements=earlier), OPERATING, Acknowledge(actor="ben"))


def entry(step: str = "clarify", actor: str = "ben", text: str = "What happened", party: str | None = None,
          channel: Channel = Channel.email_link) -> CareEntry:
    return CareEntry(actor=actor, step=step, text=text, party=party, channel=channel)


def test_care_steps_are_written_while_the_escalation_is_open():
    for step in ("clarify", "reframe", "explore", "acknowledge"):
        escalations.check_care_entry(escalation(), OPERATING, entry(step))
    with refused("The CARE record is closed: the escalation is resolved."):
        escalations.check_care_entry(escalation(EscalationStatus.resolved), OPERATING, entry())
    with refused("The clarify text is required."):
        escalations.check_care_entry(escalation(), OPERATING, entry(text="  "))
    escalations.check_care_entry(escalation(), OPERATING, entry(text="x" * 5_000))
    with refused("The reframe text is longer than 5,000 characters."):
        escalations.check_care_entry(escalation(), OPERATING, entry("reframe", text="x" * 5_001))
    with refused("'zed' is not a stakeholder of this partnership."):
        escalations.check_care_entry(escalation(), OPERATING, entry(actor="zed"))
    with refused("A party is named only for the acknowledge step, not for explore."):
        escalations.check_care_entry(escalation(), OPERATING, entry("explore", party="beta"))


SEVEN_TRIGGERS = ("overdue", "red_status", "repeated_amber", "missed_updates", "missed_target", "imbalance", "alignment")
# The first five of seven problems, as a refusal lists them (the rest would not fit a message).
FIRST_FIVE = "; ".join(f"escalation.triggers.{t}.level: level 9 is beyond the ladder's 2 level(s)" for t in SEVEN_TRIGGERS[:5])


def beyond_the_ladder() -> str:
    """operating.yaml with every trigger starting past its two-level ladder: seven problems."""
    triggers = "".join(f"\n    {t}: {{level: 9}}" for t in SEVEN_TRIGGERS)
    return (DATA / "operating.yaml").read_text().replace("\nescalation:\n", f"\nescalation:\n  triggers:{triggers}\n")


def test_an_amendment_with_many_problems_is_refused_with_the_first_five():
    with refused(f"The amended definition is not valid: {FIRST_FIVE}"):
        partnership.check_amendment(state(), OPERATING, proposal(OPERATING.model_validate(yaml.safe_load(beyond_the_ladder()))))


def test_a_resolutions_amendment_with_many_problems_is_refused_with_the_first_five():
    issues = "; ".join(f"amendment:{line}: {issue}" for line, issue in zip(
        [i + 1 for i, text in enumerate(beyond_the_ladder().splitlines()) if "{level: 9}" in text][:5],
        FIRST_FIVE.split("; "), strict=True))
    with refused(f"The amended definition is not valid: {issues}"):
        escalations.check_resolution(escalation(care=complete_care()), OPERATING,
                                     Resolve(actor="ben", resolution="Agreed", amendment=beyond_the_ladder()))


def test_a_resolutions_amendment_is_judged_by_the_rules_and_durations_of_its_partnership():
    short = (DATA / "operating.yaml").read_text().replace("respond_within: 2d", "respond_within: 30s")
    resolve = Resolve(actor="ben", resolution="Agreed", amendment=short)
    with pytest.raises(ValueError, match="^The amended definition is not valid: amendment:.*: escalation.ladder.0"
                                         ".respond_within: is shorter than 1h"):
        escalations.check_resolution(escalation(care=complete_care()), OPERATING, resolve)
    escalations.check_resolution(escalation(care=complete_care(), allow_short_durations=True), OPERATING, resolve)
    escalations.check_resolution(escalation(care=complete_care(), rules=0), OPERATING, resolve)


def test_a_resolutions_amendment_may_be_far_longer_than_other_text():
    padded = (DATA / "operating.yaml").read_text() + "#" * 20_000 + "\n"
    escalations.check_resolution(escalation(care=complete_care()), OPERATING,
                                 Resolve(actor="ben", resolution="Agreed", amendment=padded))


def test_a_partys_perspective_is_its_own_peoples_or_ops_under_rules_1():
    acknowledge = "acknowledge"
    escalations.check_care_entry(escalation(), OPERATING, entry(acknowledge, "ben"))
    escalations.check_care_entry(escalation(), OPERATING, entry(acknowledge, "ben", party="beta"))
    with refused("Alpha Ltd's perspective is recorded by Alpha Ltd's people or by ops."):
        escalations.check_care_entry(escalation(), OPERATING, entry(acknowledge, "ben", party="alpha"))
    escalations.check_care_entry(escalation(rules=0), OPERATING, entry(acknowledge, "ben", party="alpha"))
    escalations.check_care_entry(escalation(), OPERATING, entry(acknowledge, "ops", party="alpha", channel=Channel.cli))
    with refused("Alpha Ltd's perspective is recorded by Alpha Ltd's people or by ops."):
        escalations.check_care_entry(escalation(), OPERATING, entry(acknowledge, "ops", party="alpha"))
    with refused("Say whose perspective this is: ops must name the party."):
        escalations.check_care_entry(escalation(), OPERATING, entry(acknowledge, "ops", channel=Channel.cli))
    with refused("'gamma' is not a party of this partnership (alpha, beta)."):
        escalations.check_care_entry(escalation(), OPERATING, entry(acknowledge, "ops", party="gamma", channel=Channel.cli))


def complete_care() -> CareRecord:
    note = CareNote(text="x", by="ben", at=T0, channel=Channel.web)
    return CareRecord(clarify=note, acknowledge={"alpha": note, "beta": note}, reframe=note, explore=note)


def test_a_resolution_comes_after_the_whole_care_record():
    done = complete_care()
    escalations.check_resolution(escalation(care=done), OPERATING, Resolve(actor="ben", resolution="Agreed"))
    partial = done.model_copy(update={"acknowledge": {"beta": done.clarify}, "explore": None})
    with refused("Record the CARE steps first: acknowledge (alpha), explore missing."):
        escalations.check_resolution(escalation(care=partial), OPERATING, Resolve(actor="ben", resolution="Agreed"))
    with refused("A resolution is required."):
        escalations.check_resolution(escalation(care=done), OPERATING, Resolve(actor="ben", resolution=" "))
    with refused("A resolution is already waiting for its amendment's approval."):
        escalations.check_resolution(escalation(EscalationStatus.awaiting_amendment, care=done), OPERATING,
                                     Resolve(actor="ben", resolution="Agreed"))
    with refused("This escalation is already withdrawn."):
        escalations.check_resolution(escalation(EscalationStatus.withdrawn, care=done), OPERATING,
                                     Resolve(actor="ben", resolution="Agreed"))


def test_a_resolutions_amendment_is_a_valid_bounded_definition_of_this_partnership():
    done = complete_care()
    with refused("The amendment is longer than 50,000 characters."):
        escalations.check_resolution(escalation(care=done), OPERATING,
                                     Resolve(actor="ben", resolution="Agreed", amendment="x" * 50_001))
    with refused("The amended definition is not valid: amendment:1: (yaml): not valid YAML: while parsing a flow"
                 " sequence: expected ',' or ']', but got '<stream end>' (inside [ ] or { }, a value with a comma,"
                 " colon or bracket must be in quotes; close each bracket)"):
        escalations.check_resolution(escalation(care=done), OPERATING,
                                     Resolve(actor="ben", resolution="Agreed", amendment="id: [unclosed"))
    other = (DATA / "minimal.yaml").read_text()
    with refused("The amended definition is for 'minimal', not 'operating'."):
        escalations.check_resolution(escalation(care=done), OPERATING,
                                     Resolve(actor="ben", resolution="Agreed", amendment=other))
    same = (DATA / "operating.yaml").read_text()
    escalations.check_resolution(escalation(care=done), OPERATING, Resolve(actor="ben", resolution="Agreed", amendment=same))
    escalations.check_resolution(escalation(care=done), OPERATING, Resolve(actor="ben", resolution="Agreed", amendment="  "))


def test_an_escalation_is_withdrawn_with_a_reason_by_a_member_or_its_partnership():
    escalations.check_withdrawal(escalation(), OPERATING, Withdraw(actor="ben", reason="Moot"))
    with refused("'accord' is not a stakeholder of this partnership."):
        escalations.check_withdrawal(escalation(), OPERATING, Withdraw(actor="accord", reason="Moot"))
    escalations.check_withdrawal(escalation(), OPERATING, Withdraw(actor="accord", reason="Moot"), by_partnership=True)
    with refused("'zed' is not a stakeholder of this partnership."):
        escalations.check_withdrawal(escalation(), OPERATING, Withdraw(actor="zed", reason="Moot"), by_partnership=True)
    with refused("A reason for withdrawing is required."):
        escalations.check_withdrawal(escalation(), OPERATING, Withdraw(actor="ben", reason=""))
    with refused("This escalation is already resolved."):
        escalations.check_withdrawal(escalation(EscalationStatus.resolved), OPERATING,
                                     Withdraw(actor="accord", reason="Closed"), by_partnership=True)
