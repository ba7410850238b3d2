"""The rule book's small rules: limits, who may do what, trigger thresholds and "in a row"
(accord/logic/limits.py, permissions.py, triggers.py). Boundaries are tested on both sides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accord.logic import limits, permissions, triggers
from accord.models import (
    CareEntry,
    Channel,
    Review,
    ReviewInput,
    ReviewKind,
    Stage,
    Task,
    TaskKind,
)
from definitions import load
from definitions.schema import Trigger, Triggers
from tests.support.paths import DATA

OPERATING = load(DATA / "operating.yaml")  # alpha: ann, abe; beta: ben; go/no-go ann, ben; no MOU
SCREENING = load(DATA / "screening.yaml")  # acme: alice, arun; beta: bea, bo; alignment; MOU signed by alice, bea
MOU = load(DATA / "mou.yaml")  # acme: alice, amir; beta: bea, bo; MOU signed by alice, amir, bea
T0 = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)
EVERY_CHANNEL = list(Channel)
OPS_CHANNELS = [Channel.cli, Channel.api, Channel.temporal]
PEOPLE_CHANNELS = [Channel.email_link, Channel.web]


# --- limits ----------------------------------------------------------------------------


def test_the_limits_are_the_documented_numbers():
    assert (limits.MAX_TEXT, limits.MAX_STATEMENT, limits.MAX_UPLOAD, limits.MAX_AMENDMENT) == (5_000, 2_000, 200_000, 50_000)
    assert limits.FORM_TEXT < limits.MAX_TEXT, "a form never sends what the workflow would refuse"
    assert limits.link_expiry(T0) == T0 + timedelta(days=30)


@pytest.mark.parametrize("limit", [limits.MAX_TEXT, 10])
def test_check_text_takes_the_limit_and_refuses_one_more(limit):
    limits.check_text(("The reason", "x" * limit), limit=limit)
    with pytest.raises(ValueError, match=f"^The reason is longer than {limit:,} characters.$"):
        limits.check_text(("The reason", "x" * (limit + 1)), limit=limit)
    assert limits.too_long("x" * (limit + 1), limit) and not limits.too_long("x" * limit, limit)


def test_check_text_names_the_first_field_too_long():
    with pytest.raises(ValueError, match="^The subject is longer"):
        limits.check_text(("The reason", "ok"), ("The subject", "x" * 5_001), ("The note", "x" * 5_001))
    limits.check_text()  # nothing to check


def test_required_text_strips_and_bounds_what_is_left():
    assert limits.required_text("  a reason \n", "A reason") == "a reason"
    for blank in ("", "   ", "\n\t"):
        with pytest.raises(ValueError, match="^A reason is required.$"):
            limits.required_text(blank, "A reason")
    # Spaces around the text do not count against the limit; the text itself does.
    assert limits.required_text("  " + "x" * 10 + "  ", "A note", limit=10) == "x" * 10
    with pytest.raises(ValueError, match="^A note is longer than 10 characters.$"):
        limits.required_text("x" * 11, "A note", limit=10)


# --- who may do what -------------------------------------------------------------------


def test_members_are_the_stakeholders_and_ops():
    for who in ("ann", "abe", "ben", "ops"):
        assert permissions.is_member(who, OPERATING) and permissions.not_a_member(who, OPERATING) is None
    for who in ("accord", "alice", "", "Ops"):
        assert not permissions.is_member(who, OPERATING)
        assert permissions.not_a_member(who, OPERATING) == f"{who!r} is not a stakeholder of this partnership."


def task(owner: str = "abe", kind: TaskKind = TaskKind.checklist) -> Task:
    return Task(id="kickoff", kind=kind, stage=Stage.launch, title="Kickoff", owner=owner, created_at=T0,
                due_at=T0 + timedelta(days=7))


@pytest.mark.parametrize("channel", EVERY_CHANNEL)
def test_a_task_is_marked_done_by_its_owner_on_any_channel(channel):
    assert permissions.may_complete(task("abe"), "abe", channel)


@pytest.mark.parametrize("channel", EVERY_CHANNEL)
def test_someone_else_marks_a_task_done_only_as_ops_would(channel):
    assert permissions.may_complete(task("abe"), "ben", channel) == (channel in OPS_CHANNELS)


def test_the_tasks_a_person_marks_done():
    assert set(permissions.COMPLETABLE) == {TaskKind.checklist, TaskKind.deliverable, TaskKind.action, TaskKind.diagnostic}


@pytest.mark.parametrize("channel", EVERY_CHANNEL)
def test_a_metric_is_recorded_by_its_owner_or_ops_anywhere_and_for_them_by_cli_or_api(channel):
    metric = OPERATING.metrics[0]
    assert metric.owner == "abe"
    assert permissions.may_record_metric(metric, "abe", channel)
    assert permissions.may_record_metric(metric, "ops", channel)
    # Not Temporal: unlike a task, a metric is recorded for its owner only through the CLI or the API.
    assert permissions.may_record_metric(metric, "ben", channel) == (channel in (Channel.cli, Channel.api))


def test_the_alignment_check_is_overridden_by_its_override_by_else_the_go_no_go_approvers():
    assert permissions.may_override_alignment(SCREENING) == ["alice", "bea"]
    data = SCREENING.model_dump(mode="json")
    data["screening"]["alignment"]["override_by"] = ["arun"]
    assert permissions.may_override_alignment(SCREENING.model_validate(data)) == ["arun"]
    assert permissions.may_override_alignment(OPERATING) == ["ann", "ben"]  # no check: the approvers


def test_amendments_are_approved_by_the_mou_signatories_else_the_go_no_go_approvers():
    rules, approvers = permissions.amendment_approvers(MOU)
    assert rules is MOU.mou and approvers == ["alice", "amir", "bea"]
    rules, approvers = permissions.amendment_approvers(OPERATING)
    assert rules is OPERATING.screening.go_no_go and approvers == ["ann", "ben"]


def test_a_partnership_is_closed_by_ops_or_the_approvers_of_amendments():
    assert [who for who in ("ops", "ann", "abe", "ben", "accord") if permissions.may_close(who, OPERATING)] == ["ops", "ann", "ben"]
    assert [who for who in ("alice", "amir", "bea", "bo") if permissions.may_close(who, MOU)] == ["alice", "amir", "bea"]


def care(step: str, actor: str, party: str | None = None, channel: Channel = Channel.email_link) -> CareEntry:
    return CareEntry(actor=actor, step=step, text="x", party=party, channel=channel)


def test_an_acknowledge_entry_is_for_the_party_named_else_the_actors():
    assert permissions.care_party(care("acknowledge", "ben"), OPERATING) == "beta"
    assert permissions.care_party(care("acknowledge", "ben", party="alpha"), OPERATING) == "alpha"
    for step in ("clarify", "reframe", "explore"):
        assert permissions.care_party(care(step, "ben", party="alpha"), OPERATING) is None


@pytest.mark.parametrize("channel", EVERY_CHANNEL)
def test_a_partys_perspective_comes_from_its_people_or_from_ops_off_the_links(channel):
    assert permissions.speaks_for("ann", channel, "alpha", OPERATING)
    assert permissions.speaks_for("abe", channel, "alpha", OPERATING)
    assert not permissions.speaks_for("ben", channel, "alpha", OPERATING)
    assert not permissions.speaks_for("ann", channel, None, OPERATING)
    assert not permissions.speaks_for("ann", channel, "gamma", OPERATING)
    assert permissions.speaks_for("ops", channel, "alpha", OPERATING) == (channel in OPS_CHANNELS)


# --- triggers ----------------------------------------------------------------------------


def test_the_runs_that_escalate_default_when_the_definition_has_no_count():
    assert triggers.amber_run(Triggers()) == 2
    assert triggers.amber_run(Triggers(repeated_amber=Trigger(count=4))) == 4
    assert triggers.amber_run(Triggers(repeated_amber=Trigger())) == triggers.AMBER_RUN == 2
    assert triggers.missed_run(Trigger()) == triggers.MISSED_RUN == 3
    assert triggers.missed_run(Trigger(count=1)) == 1


def test_missed_statuses_count_up_while_silent_and_reset_on_an_answer():
    count = 0
    for silent, expected in [(True, 1), (True, 2), (False, 0), (True, 1), (True, 2), (True, 3)]:
        count = triggers.missed_in_a_row(count, silent)
        assert count == expected


def review(n: int, answered: bool) -> Review:
    inputs = {"ben": ReviewInput(stakeholder="ben", party="beta", at=T0, channel=Channel.web)} if answered else {}
    return Review(id=f"monthly-{n}", kind=ReviewKind.monthly, n=n, scheduled_for=T0, inputs_due_at=T0,
                  participants=["ben"], inputs=inputs, closed_at=T0)


def test_reviews_skipped_in_a_row_are_counted_from_the_latest_whatever_the_order_given():
    assert triggers.skipped_in_a_row([]) == 0
    assert triggers.skipped_in_a_row([review(1, False), review(2, False)]) == 2
    assert triggers.skipped_in_a_row([review(3, False), review(1, False), review(2, True)]) == 1
    assert triggers.skipped_in_a_row([review(2, False), review(3, True)]) == 0
    assert triggers.skipped_in_a_row(iter([review(4, False), review(2, False), review(3, False), review(1, True)])) == 3


@pytest.mark.parametrize("count", [1, 3, 5])
def test_a_counting_trigger_fires_at_its_count_not_one_before(count):
    trigger = Trigger(count=count)
    assert not triggers.escalates(trigger, count - 1)
    assert triggers.escalates(trigger, count)
    assert triggers.escalates(trigger, count + 1)
    assert not triggers.escalates(Trigger(count=count, enabled=False), count + 10)
    assert triggers.escalates(Trigger(), 3) and not triggers.escalates(Trigger(), 2)
