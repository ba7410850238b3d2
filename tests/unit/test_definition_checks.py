"""The cross-field rules of definitions/checks.py, one rule at a time, each at its boundary.

Every test starts from tests/data/minimal.yaml (valid: no problem at all), makes one change a
person could make in the file, and asserts exactly what `accord validate` would report: the
field's path and the message. A boundary is tested on both sides (equal to the limit, and one
past it), since "at least" and "more than" are where such rules go wrong.
"""

from __future__ import annotations

import pytest

import definitions
from definitions import checks
from definitions.durations import Duration
from definitions.schema import (
    AlignmentCheck,
    ApprovalPolicy,
    Cadence,
    ChecklistItem,
    Direction,
    Formality,
    PartnershipDefinition,
    Reminders,
)
from tests.support.paths import DATA

MINIMAL = DATA / "minimal.yaml"


def base() -> PartnershipDefinition:
    return definitions.load(MINIMAL)


def d_(text: str) -> Duration:
    return Duration.parse(text)


def reported(d: PartnershipDefinition, *, rules: int = checks.LATEST_RULES) -> list[tuple[str, str]]:
    """(dotted path, message) of every problem, in the order they are reported."""
    return [(p.dotted, p.message) for p in checks.problems(d, rules=rules)]


def test_the_minimal_definition_has_no_problem_under_either_rules_version() -> None:
    assert reported(base()) == []
    assert reported(base(), rules=0) == []


# --- reminders: on tasks, approvals and the alignment check --------------------------


APPROVALS = {  # where an approval's rules live, and how to reach them
    "screening.go_no_go": lambda d: d.screening.go_no_go,  # deadline 3w
    "mou": lambda d: d.mou,  # deadline 2w
    "renewal.approval": lambda d: d.renewal.approval,  # deadline 4w
}


@pytest.mark.parametrize("where", APPROVALS)
def test_an_approval_reminder_as_long_as_its_deadline_falls_as_it_starts(where: str) -> None:
    d = base()
    rules = APPROVALS[where](d)
    rules.reminders = Reminders(before=[d_("1d"), rules.deadline])
    assert reported(d) == [
        (f"{where}.reminders.before.1",
         f"reminder {rules.deadline} before the deadline falls as the approval starts (deadline is {rules.deadline})"),
    ]


@pytest.mark.parametrize("where", APPROVALS)
def test_an_approval_reminder_longer_than_its_deadline_falls_before_it_starts(where: str) -> None:
    d = base()
    rules = APPROVALS[where](d)
    rules.reminders = Reminders(before=[d_("5w")])
    assert reported(d) == [
        (f"{where}.reminders.before.0",
         f"reminder 5w before the deadline falls before the approval starts (deadline is {rules.deadline})"),
    ]


@pytest.mark.parametrize("where", APPROVALS)
def test_an_approval_reminder_a_day_short_of_its_deadline_is_fine(where: str) -> None:
    d = base()
    rules = APPROVALS[where](d)
    rules.reminders = Reminders(before=[Duration(months=rules.deadline.months, seconds=rules.deadline.seconds - 86400)])
    assert reported(d) == []


@pytest.mark.parametrize("where", APPROVALS)
def test_an_approval_chased_every_zero_is_refused(where: str) -> None:
    d = base()
    APPROVALS[where](d).reminders = Reminders(overdue_every=d_("0s"))
    assert reported(d) == [(f"{where}.reminders.overdue_every", "must be longer than zero")]


def test_alignment_check_reminders_fit_before_its_deadline() -> None:
    d = base()  # the alignment check is due in 1w
    d.screening.alignment.reminders = Reminders(before=[d_("6d")], overdue_every=d_("1d"))
    assert reported(d) == []
    d.screening.alignment.reminders = Reminders(before=[d_("1w"), d_("8d")], overdue_every=d_("0s"))
    assert sorted(reported(d)) == [
        ("screening.alignment.reminders.before.0",
         "reminder 1w before the deadline falls as the alignment check starts (deadline is 1w)"),
        ("screening.alignment.reminders.before.1",
         "reminder 1w1d before the deadline falls before the alignment check starts (deadline is 1w)"),
        ("screening.alignment.reminders.overdue_every", "must be longer than zero"),
    ]


def test_a_task_s_own_reminders_fit_before_its_deadline_and_replace_the_default() -> None:
    d = base()  # legal-review is due in 2w; the default first reminder is 2d before
    item = d.screening.checklist[0]
    item.due = d_("1d")
    item.reminders = Reminders(before=[d_("12h")])  # its own: the default 2d no longer applies
    assert reported(d) == []
    item.reminders = Reminders(before=[d_("1d")])
    assert reported(d) == [
        ("screening.checklist.0.reminders.before.0",
         "reminder 1d before the deadline falls as the task starts (deadline is 1d)"),
    ]


@pytest.mark.parametrize(("due", "than"), [("2d", "the same as"), ("1d", "shorter than")])
def test_a_task_deadline_not_longer_than_the_default_first_reminder(due: str, than: str) -> None:
    d = base()
    d.reminders.before = [d_("2d"), d_("3d")]  # both reach past a 1d task: said once, of the first
    d.launch.deliverables[0].due = d_(due)
    assert reported(d) == [
        ("launch.deliverables.0.due", f"deadline {due} is {than} the default first reminder (2d before it)"),
    ]


def test_a_task_deadline_a_little_longer_than_the_default_reminders_is_fine() -> None:
    d = base()
    d.reminders.before = [d_("2d"), d_("1d")]
    d.launch.checklist = [ChecklistItem(id="go-live", title="Go live", owner="abe", due=d_("2d1h"))]
    assert reported(d) == []


def test_a_launch_checklist_item_is_judged_like_a_screening_one() -> None:
    d = base()
    d.launch.checklist = [ChecklistItem(id="go-live", title="Go live", owner="abe", due=d_("1d"))]
    assert reported(d) == [("launch.checklist.0.due", "deadline 1d is shorter than the default first reminder (2d before it)")]


def test_a_zero_task_deadline_is_refused_once_not_also_against_the_reminders() -> None:
    d = base()
    d.screening.checklist[0].due = d_("0s")
    d.screening.checklist[0].reminders = Reminders(before=[d_("1d")])
    assert reported(d) == [("screening.checklist.0.due", "must be longer than zero")]
    assert reported(d, rules=0) == [("screening.checklist.0.due", "must be longer than zero")]


def test_a_zero_default_reminder_is_refused_where_it_is_written() -> None:
    d = base()
    d.reminders.before = [d_("1d"), d_("0s")]
    assert ("reminders.before.1", "must be longer than zero") in reported(d)
    assert reported(d, rules=0) == [("reminders.before.1", "must be longer than zero")]


# --- approvals: policy, quorum, approvers ---------------------------------------------


def test_a_quorum_equal_to_its_approvers_is_fine_and_one_more_is_refused() -> None:
    d = base()
    d.screening.go_no_go.policy = ApprovalPolicy.quorum
    d.screening.go_no_go.quorum = 2  # ann and ben
    assert reported(d) == []
    d.screening.go_no_go.quorum = 3
    assert reported(d) == [("screening.go_no_go.quorum", "quorum 3 is more than the 2 approvers")]


def test_a_quorum_policy_needs_its_k() -> None:
    d = base()
    d.mou.policy = ApprovalPolicy.quorum
    assert reported(d) == [("mou.quorum", "policy 'quorum' needs quorum: k (how many of the approvers must approve)")]


@pytest.mark.parametrize("policy", [p for p in ApprovalPolicy if p != ApprovalPolicy.quorum])
def test_a_quorum_under_another_policy_is_refused(policy: ApprovalPolicy) -> None:
    d = base()
    d.renewal.approval.policy = policy
    d.renewal.approval.quorum = 1
    assert reported(d) == [("renewal.approval.quorum", f"quorum only applies to policy 'quorum', not {policy.value!r}")]


def test_each_approver_listed_twice_is_named_once() -> None:
    d = base()
    d.screening.go_no_go.approvers = ["ben", "ann", "ben", "ann", "ann"]
    assert reported(d) == [
        ("screening.go_no_go", "'ann' is listed twice as an approver"),
        ("screening.go_no_go", "'ben' is listed twice as an approver"),
    ]


def test_a_zero_approval_deadline_is_refused() -> None:
    d = base()
    d.mou.deadline = d_("0s")
    assert reported(d) == [("mou.deadline", "must be longer than zero")]
    assert reported(d, rules=0) == [("mou.deadline", "must be longer than zero")]


# --- who takes part -------------------------------------------------------------------


def test_every_party_writes_an_alignment_statement() -> None:
    d = base()
    d.screening.alignment.participants = ["ann", "abe"]  # both Alpha
    assert reported(d) == [
        ("screening.alignment.participants", "every party must write a statement; none from Beta GmbH"),
    ]


def test_every_party_without_a_statement_is_named() -> None:
    d = base()
    d.parties.append(d.parties[1].model_copy(update={"id": "gamma", "name": "Gamma SA", "stakeholders": [
        d.parties[1].stakeholders[0].model_copy(update={"id": "gus", "email": "gus@gamma.example"})]}))
    d.screening.alignment.participants = ["ann", "abe"]
    d.mou.signatories = ["ann"]
    assert reported(d) == [
        ("screening.alignment.participants", "every party must write a statement; none from Beta GmbH, Gamma SA"),
        ("mou.signatories", "every party must sign the MOU; no signatory for Beta GmbH, Gamma SA"),
    ]


def test_an_unknown_alignment_participant_is_reported_as_such_not_as_a_missing_party() -> None:
    d = base()
    d.screening.alignment = AlignmentCheck(participants=["ann", "bob"], due=d_("1w"))
    assert reported(d) == [
        ("screening.alignment.participants.1",
         "stakeholder 'bob' is not a stakeholder of any party (known: abe, ann, ben)"),
    ]


def test_every_party_signs_the_mou() -> None:
    d = base()
    d.mou.signatories = ["ben"]
    assert reported(d) == [("mou.signatories", "every party must sign the MOU; no signatory for Alpha Ltd")]


def test_an_unknown_signatory_is_called_a_signatory() -> None:
    d = base()
    d.mou.signatories = ["ann", "bem"]
    assert reported(d) == [("mou.signatories.1", "signatory 'bem' is not a stakeholder of any party (known: abe, ann, ben)")]


def test_a_formal_partnership_needs_an_mou_and_an_informal_one_does_not() -> None:
    d = base()
    d.mou = None
    assert reported(d) == [("mou", "a formal partnership needs an MOU (or set formality: informal)")]
    d.formality = Formality.informal
    assert reported(d) == []


def test_one_email_for_two_people_is_refused_whatever_its_case() -> None:
    d = base()
    d.parties[1].stakeholders[0].email = "ANN@alpha.example"
    assert reported(d) == [
        ("parties.1.stakeholders.0.email",
         "email 'ANN@alpha.example' is already used by stakeholder 'ann'; each stakeholder needs their own"),
    ]


def test_addresses_that_differ_only_beyond_case_are_two_people() -> None:
    # "ß" upper-cases to "SS": compared in lower case, straße and strasse stay two addresses.
    d = base()
    d.parties[1].stakeholders[0].email = "strasse@beta.example"
    d.parties[0].stakeholders[1].email = "straße@beta.example"
    assert reported(d) == []


def test_short_durations_are_refused_unless_the_deployment_allows_them() -> None:
    d = base()
    d.escalation.ladder[0].respond_within = d_("30s")
    message = ("is shorter than 1h, the shortest deadline a partnership can have (shorter ones are for tests:"
               " the deployment's allow_short_durations setting)")
    assert checks.problems(d) == [checks.Problem(("escalation", "ladder", 0, "respond_within"), message)]
    assert checks.problems(d, allow_short=True) == []


def test_a_task_id_is_unique_across_screening_and_launch() -> None:
    d = base()
    d.launch.checklist = [ChecklistItem(id="kickoff", title="Kickoff", owner="abe", due=d_("1w"))]
    assert reported(d) == [
        ("launch.checklist.0.id", "duplicate task id 'kickoff'"),
        ("launch.deliverables.0.id", "duplicate task id 'kickoff'"),
    ]


# --- metrics ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "baseline", "target", "message"),
    [
        (Direction.increase, 10.0, 5.0, "target 5.0 is not an increase from baseline 10.0"),
        (Direction.decrease, 10.0, 15.0, "target 15.0 is not a decrease from baseline 10.0"),
        (Direction.increase, 10.0, 10.0, "target equals the baseline: nothing to achieve"),
        (Direction.decrease, 10.0, 10.0, "target equals the baseline: nothing to achieve"),
    ],
)
def test_a_metric_target_must_move_the_way_it_says(direction, baseline, target, message) -> None:
    d = base()
    m = d.metrics[0]
    m.direction, m.baseline, m.target = direction, baseline, target
    assert reported(d) == [("metrics.0.target", message)]


@pytest.mark.parametrize(("direction", "target"), [(Direction.increase, 11), (Direction.decrease, 9)])
def test_a_metric_target_the_right_way_is_fine(direction, target) -> None:
    d = base()
    m = d.metrics[0]
    m.direction, m.baseline, m.target = direction, 10, target
    assert reported(d) == []
    m.baseline = None  # captured at launch: nothing to compare yet
    m.target = 0
    assert reported(d) == []


def test_a_zero_metric_cadence_is_refused() -> None:
    d = base()
    d.metrics[0].cadence = d_("0s")
    assert reported(d, rules=0) == [("metrics.0.cadence", "must be longer than zero")]


# --- reviews ----------------------------------------------------------------------------


def test_a_zero_review_interval_is_refused_and_its_inputs_not_judged_against_it() -> None:
    d = base()
    d.reviews.monthly = Cadence(every=d_("0s"), participants=["ann", "ben"], inputs_due=d_("0s"))
    assert reported(d, rules=0) == [("reviews.monthly.every", "must be longer than zero")]


def test_a_cadence_after_one_left_out_is_still_judged() -> None:
    d = base()  # weekly_status only; monthly left out
    d.reviews.quarterly = Cadence(every=d_("0s"), participants=["ann", "ben"], inputs_due=d_("1w"))
    assert reported(d, rules=0) == [("reviews.quarterly.every", "must be longer than zero")]


def test_zero_days_for_review_inputs_is_refused() -> None:
    d = base()
    d.reviews.weekly_status.inputs_due = d_("0s")
    assert reported(d, rules=0) == [("reviews.weekly_status.inputs_due", "must be longer than zero")]


def test_review_inputs_due_as_late_as_the_next_review_are_fine_and_later_refused() -> None:
    d = base()
    d.reviews.weekly_status.inputs_due = d_("1w")
    assert reported(d) == []
    d.reviews.weekly_status.inputs_due = d_("8d")
    assert reported(d) == [
        ("reviews.weekly_status.inputs_due", "inputs due after 1w1d but the next review comes after 1w"),
    ]


def test_a_review_participant_must_be_a_stakeholder() -> None:
    d = base()
    d.reviews.quarterly = Cadence(every=d_("3mo"), participants=["ann", "zed"], inputs_due=d_("1w"))
    assert reported(d) == [
        ("reviews.quarterly.participants.1", "stakeholder 'zed' is not a stakeholder of any party (known: abe, ann, ben)"),
    ]


# --- holidays, the ladder and the triggers ---------------------------------------------


def test_a_holiday_region_must_be_known() -> None:
    d = base()
    d.parties[0].holidays = "DE-BY"
    assert reported(d) == []
    d.parties[1].holidays = "XX"
    [(path, message)] = reported(d)
    assert path == "parties.1.holidays"
    assert "XX" in message


def test_a_trigger_may_start_at_the_top_of_the_ladder_but_not_above_it() -> None:
    d = base()  # two levels
    d.escalation.triggers.red_status.level = 2
    assert reported(d) == []
    d.escalation.triggers.red_status.level = 3
    assert reported(d) == [("escalation.triggers.red_status.level", "level 3 is beyond the ladder's 2 level(s)")]


def test_a_ladder_level_answered_within_zero_is_refused() -> None:
    d = base()
    d.escalation.ladder[1].respond_within = d_("0s")
    assert reported(d, rules=0) == [("escalation.ladder.1.respond_within", "must be longer than zero")]


# --- renewal ----------------------------------------------------------------------------


def test_a_renewal_notice_as_long_as_the_term_is_refused() -> None:
    d = base()
    d.renewal.notice = d_("1y")
    assert reported(d) == [("renewal.notice", "notice 1y is not shorter than the term 1y")]


def test_a_renewal_decision_due_exactly_at_the_notice_is_fine_and_a_day_later_refused() -> None:
    d = base()  # term 1y, notice 2mo
    d.renewal.approval.deadline = d_("2mo")
    assert reported(d) == []
    d.renewal.approval.deadline = d_("2mo1d")
    assert reported(d) == [
        ("renewal.approval.deadline",
         ("the renewal decision is due 2mo1d after it starts, but it starts only 2mo before the term ends:"
          " the term would end before the decision")),
    ]


# --- how problems are reported ----------------------------------------------------------


def test_every_problem_is_reported_not_just_the_first() -> None:
    d = base()
    d.mou.signatories = ["ben"]
    d.escalation.triggers.overdue.level = 9
    d.metrics[0].target = 0
    assert [path for path, _ in reported(d)] == ["mou.signatories", "metrics.0.target", "escalation.triggers.overdue.level"]


def test_a_zero_duration_is_said_once_though_both_rule_sets_refuse_it() -> None:
    d = base()
    d.escalation.ladder[0].respond_within = d_("0s")
    assert reported(d) == [("escalation.ladder.0.respond_within", "must be longer than zero")]


def test_a_problem_at_the_top_level_and_one_with_a_control_character_in_its_path() -> None:
    assert checks.Problem((), "x").dotted == "(top level)"
    assert checks.Problem(("mou", "clauses", "other", "a\nb\u202e"), "x").dotted == "mou.clauses.other.a\\u000ab\\u202e"
    # Line and paragraph separators break a line too; other characters stay as written.
    assert checks.Problem(("other", "a\u2028b\u2029c é"), "x").dotted == "other.a\\u2028b\\u2029c é"


# --- references to people, wherever the definition names one ---------------------------

UNKNOWN = "stakeholder 'zed' is not a stakeholder of any party (known: abe, ann, ben)"


def _review_participants(d: PartnershipDefinition) -> None:
    d.reviews.weekly_status.participants = ["ann", "zed"]


def _launch_checklist(d: PartnershipDefinition) -> None:
    d.launch.checklist = [ChecklistItem(id="go-live", title="Go live", owner="zed", due=d_("1w"))]


PEOPLE_FIELDS = {
    "screening.checklist.0.owner": lambda d: setattr(d.screening.checklist[0], "owner", "zed"),
    "screening.alignment.participants.1": lambda d: setattr(d.screening.alignment, "participants", ["ann", "zed", "ben"]),
    "screening.alignment.override_by.0": lambda d: setattr(d.screening.alignment, "override_by", ["zed"]),
    "screening.go_no_go.approvers.1": lambda d: setattr(d.screening.go_no_go, "approvers", ["ann", "zed", "ben"]),
    "metrics.0.owner": lambda d: setattr(d.metrics[0], "owner", "zed"),
    "launch.checklist.0.owner": _launch_checklist,
    "launch.deliverables.0.owner": lambda d: setattr(d.launch.deliverables[0], "owner", "zed"),
    "reviews.weekly_status.participants.1": _review_participants,
    "escalation.ladder.1.contacts.0": lambda d: setattr(d.escalation.ladder[1], "contacts", ["zed", "ben"]),
    "renewal.approval.approvers.2": lambda d: setattr(d.renewal.approval, "approvers", ["ann", "ben", "zed"]),
}


@pytest.mark.parametrize("path", PEOPLE_FIELDS)
def test_an_unknown_person_is_reported_where_they_are_named(path: str) -> None:
    d = base()
    PEOPLE_FIELDS[path](d)
    assert reported(d) == [(path, UNKNOWN)]
    assert reported(d, rules=0) == [(path, UNKNOWN)]


# --- ids that must be unique --------------------------------------------------------------


def test_duplicate_party_stakeholder_and_metric_ids_are_reported_at_each() -> None:
    d = base()
    d.parties[1].id = "alpha"
    d.parties[1].stakeholders[0].id = "abe"
    d.metrics = [d.metrics[0], d.metrics[0].model_copy()]
    found = reported(d)
    for path, message in [
        ("parties.0.id", "duplicate party id 'alpha'"),
        ("parties.1.id", "duplicate party id 'alpha'"),
        ("parties.0.stakeholders.1.id", "duplicate stakeholder id 'abe'"),
        ("parties.1.stakeholders.0.id", "duplicate stakeholder id 'abe'"),
        ("metrics.0.id", "duplicate metric id 'referrals'"),
        ("metrics.1.id", "duplicate metric id 'referrals'"),
    ]:
        assert (path, message) in found


def test_a_screening_task_id_reused_at_launch_is_reported_in_both() -> None:
    d = base()
    d.launch.deliverables[0].id = "legal-review"
    assert reported(d) == [
        ("screening.checklist.0.id", "duplicate task id 'legal-review'"),
        ("launch.deliverables.0.id", "duplicate task id 'legal-review'"),
    ]


# --- the MOU template ------------------------------------------------------------------

NOT_RELATIVE = "must be a file name relative to the template folders (no absolute path, drive or backslash)"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "name the MOU template file, e.g. mou.md.j2"),
        ("   ", "name the MOU template file, e.g. mou.md.j2"),
        ("/etc/passwd", NOT_RELATIVE),
        ("C:\\mou.md.j2", NOT_RELATIVE),
        ("c:mou.md.j2", NOT_RELATIVE),
        ("sub\\mou.md.j2", NOT_RELATIVE),
        ("../mou.md.j2", "must not climb out of the template folders ('..')"),
        ("sub/../../etc/passwd", "must not climb out of the template folders ('..')"),
    ],
)
def test_the_mou_template_is_a_plain_name_in_the_template_folders(name: str, message: str) -> None:
    d = base()
    d.mou.template = name
    assert reported(d) == [("mou.template", message)]


def test_the_whole_definition_is_bounded_in_bytes() -> None:
    d = base()
    d.mou.clauses.other = {f"Clause {i}": "x" * 10_000 for i in range(13)}
    size = len(d.model_dump_json().encode())
    assert ("(top level)", (f"the definition is {size:,} bytes as JSON; at most 128,000 (it travels in every workflow"
                           " input, and Temporal refuses large payloads)")) in reported(d)
