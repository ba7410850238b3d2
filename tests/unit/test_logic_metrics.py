"""Where a SMART metric stands: progress, on target, missed, stale, and what people read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.logic.metrics import GRACE, assess
from definitions.schema import Direction, Metric

LAUNCH = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def metric(**fields) -> Metric:
    base = {"id": "referrals", "name": "Qualified referrals", "owner": "abe", "unit": "referrals",
            "baseline": 2, "target": 10, "cadence": "1mo", "target_by": "6mo"}
    return Metric.model_validate({**base, **fields})


def on(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)


def test_progress_from_baseline_towards_target() -> None:
    result = assess(metric(), None, [(on("2026-02-10"), 4), (on("2026-03-10"), 7)], on("2026-03-12"), LAUNCH)
    assert (result.latest, result.latest_at, result.baseline, result.target) == (7, on("2026-03-10"), 2, 10)
    assert result.progress == 0.625  # 5 of the 8 to go
    assert not result.on_target and not result.missed and not result.stale
    assert result.direction == Direction.increase
    assert result.summary == "Qualified referrals: 7 referrals on 2026-03-10 (target 10, from 2): 62% of the way"


def test_on_target_at_or_past_the_target() -> None:
    at_target = assess(metric(), None, [(on("2026-03-10"), 10)], on("2026-03-12"), LAUNCH)
    past = assess(metric(), None, [(on("2026-03-10"), 14)], on("2026-03-12"), LAUNCH)
    assert at_target.on_target and past.on_target
    assert at_target.progress == past.progress == 1.0
    assert past.summary.endswith(": on target")


def test_decrease_metric() -> None:
    # Days to close a ticket: from 20 down to 5.
    days = metric(id="ttc", name="Time to close", unit="days", baseline=20, target=5, direction="decrease")
    halfway = assess(days, None, [(on("2026-03-01"), 12.5)], on("2026-03-02"), LAUNCH)
    assert halfway.progress == 0.5 and not halfway.on_target
    worse = assess(days, None, [(on("2026-03-01"), 25)], on("2026-03-02"), LAUNCH)
    assert worse.progress == 0.0  # worse than the baseline: no progress, not negative
    done = assess(days, None, [(on("2026-03-01"), 4)], on("2026-03-02"), LAUNCH)
    assert done.on_target and done.progress == 1.0


def test_the_captured_baseline_wins_over_the_definition_s() -> None:
    # The definition has no baseline; the workflow captured 4 at launch.
    result = assess(metric(baseline=None), 4, [(on("2026-03-01"), 7)], on("2026-03-02"), LAUNCH)
    assert result.baseline == 4 and result.progress == 0.5
    assert assess(metric(), 6, [(on("2026-03-01"), 8)], on("2026-03-02"), LAUNCH).progress == 0.5
    # No baseline at all: on target or not, but no progress fraction.
    unknown = assess(metric(baseline=None), None, [(on("2026-03-01"), 7)], on("2026-03-02"), LAUNCH)
    assert unknown.progress is None and unknown.baseline is None
    assert unknown.summary == "Qualified referrals: 7 referrals on 2026-03-01 (target 10)"


@pytest.mark.parametrize("direction", ["increase", "decrease"])
def test_baseline_equal_to_target_or_already_past_it(direction: str) -> None:
    # A baseline captured at launch can already meet the target (the definition check only
    # sees baselines written in the file): there is no distance to measure progress over.
    m = metric(baseline=None, target=10, direction=direction)
    assert assess(m, 10, [(on("2026-03-01"), 10)], on("2026-03-02"), LAUNCH).progress == 1.0
    worse = 9 if direction == "increase" else 11
    assert assess(m, 10, [(on("2026-03-01"), worse)], on("2026-03-02"), LAUNCH).progress == 0.0
    beyond = 12 if direction == "increase" else 8
    result = assess(m, beyond, [(on("2026-03-01"), worse)], on("2026-03-02"), LAUNCH)
    assert result.progress == 0.0 and not result.on_target


def test_no_observations() -> None:
    early = assess(metric(), None, [], LAUNCH + 10 * DAY, LAUNCH)
    assert early.latest is None and early.latest_at is None and early.progress is None
    assert not early.on_target and not early.stale and not early.missed
    assert early.observation_due == datetime(2026, 2, 15, 9, 0, tzinfo=UTC)
    assert early.summary == "Qualified referrals: no observation yet (target 10, from 2)"
    # A month after launch plus the grace: the first observation is overdue.
    late = assess(metric(), None, [], early.observation_due + GRACE, LAUNCH)
    assert late.stale
    assert late.summary == "Qualified referrals: no observation yet (target 10, from 2): no observation for more than 1mo"


def test_stale_after_cadence_plus_grace_since_the_latest_observation() -> None:
    seen = [(on("2026-03-10"), 5)]
    due = datetime(2026, 4, 10, 12, tzinfo=UTC)
    assert assess(metric(), None, seen, due, LAUNCH).observation_due == due
    assert not assess(metric(), None, seen, due + GRACE - timedelta(seconds=1), LAUNCH).stale
    assert assess(metric(), None, seen, due + GRACE, LAUNCH).stale  # at that instant: stale
    assert not assess(metric(), None, seen, due + DAY, LAUNCH, grace=timedelta(days=2)).stale
    assert assess(metric(), None, seen, due + 2 * DAY, LAUNCH, grace=timedelta(days=2)).stale
    weekly = metric(cadence="1w")
    assert assess(weekly, None, seen, on("2026-03-20"), LAUNCH).stale


def test_observations_before_launch_do_not_start_the_clock_early() -> None:
    # The baseline's data point from before launch: the first observation is still due a
    # cadence after launch, not a cadence after that data point.
    result = assess(metric(), None, [(LAUNCH - 40 * DAY, 2)], LAUNCH + 20 * DAY, LAUNCH)
    assert not result.stale and result.observation_due == datetime(2026, 2, 15, 9, 0, tzinfo=UTC)


def test_missed_once_target_by_has_come_without_the_target() -> None:
    due = datetime(2026, 7, 15, 9, 0, tzinfo=UTC)  # launch + 6mo
    seen = [(on("2026-07-01"), 8)]
    before = assess(metric(), None, seen, due - timedelta(seconds=1), LAUNCH)
    assert before.target_due == due and not before.missed
    at_due = assess(metric(), None, seen, due, LAUNCH)
    assert at_due.missed
    assert at_due.summary == (
        "Qualified referrals: 8 referrals on 2026-07-01 (target 10, from 2): 75% of the way; target missed (due 2026-07-15)"
    )
    met = assess(metric(), None, [*seen, (on("2026-07-14"), 11)], due + DAY, LAUNCH)
    assert met.on_target and not met.missed
    # Without target_by there is no deadline to miss.
    open_ended = assess(metric(target_by=None), None, seen, due + 400 * DAY, LAUNCH)
    assert not open_ended.missed and open_ended.target_due is None


def test_the_latest_observation_known_at_as_of_counts() -> None:
    seen = [(on("2026-03-10"), 7), (on("2026-02-10"), 4), (on("2026-04-10"), 12)]  # any order
    result = assess(metric(), None, seen, on("2026-03-20"), LAUNCH)
    assert (result.latest, result.latest_at) == (7, on("2026-03-10"))  # April's is not known yet
    # Two at the same moment (a correction): the later entry wins.
    fixed = assess(metric(), None, [(on("2026-03-10"), 7), (on("2026-03-10"), 6)], on("2026-03-20"), LAUNCH)
    assert fixed.latest == 6
    # An observation made exactly at as_of is known then; a second later it is not yet.
    exactly = assess(metric(), None, seen, on("2026-04-10"), LAUNCH)
    assert (exactly.latest, exactly.latest_at) == (12, on("2026-04-10"))
    just_before = assess(metric(), None, seen, on("2026-04-10") - timedelta(seconds=1), LAUNCH)
    assert just_before.latest == 7


def test_values_are_shown_as_people_write_them() -> None:
    m = metric(name="Revenue", unit="EUR", baseline=1000, target=250000.5)
    result = assess(m, None, [(on("2026-03-10"), 12345.678)], on("2026-03-11"), LAUNCH)
    assert result.summary.startswith("Revenue: 12,345.678 EUR on 2026-03-10 (target 250,000.5, from 1,000)")


def test_progress_and_values_are_rounded_to_four_decimals() -> None:
    third = assess(metric(baseline=1, target=4), None, [(on("2026-02-10"), 2)], on("2026-02-12"), LAUNCH)
    assert (third.metric_id, third.progress) == ("referrals", 0.3333)
    odd = assess(metric(), None, [(on("2026-02-10"), 1.234567)], on("2026-02-12"), LAUNCH)
    assert odd.summary == "Qualified referrals: 1.2346 referrals on 2026-02-10 (target 10, from 2): 0% of the way"


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="^metric 'referrals': values must be finite numbers, got nan$"):
        assess(metric(), None, [(on("2026-03-10"), float("nan"))], on("2026-03-11"), LAUNCH)
    with pytest.raises(ValueError, match=r"^as_of must be timezone-aware \(UTC\), got naive 2026-03-11T00:00:00$"):
        assess(metric(), None, [], datetime(2026, 3, 11), LAUNCH)
    with pytest.raises(ValueError, match=r"^observation time must be timezone-aware \(UTC\), got naive 2026-03-10T00:00:00$"):
        assess(metric(), None, [(datetime(2026, 3, 10), 1)], on("2026-03-11"), LAUNCH)
    with pytest.raises(ValueError, match=r"^launched_at must be timezone-aware \(UTC\), got naive 2026-01-15T09:00:00$"):
        assess(metric(), None, [], on("2026-03-11"), LAUNCH.replace(tzinfo=None))


# --- properties -------------------------------------------------------------------

values = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(baseline=values, target=values, latest=values, direction=st.sampled_from(["increase", "decrease"]))
def test_progress_is_a_fraction_and_full_exactly_on_target(baseline, target, latest, direction) -> None:
    m = metric(baseline=None, target=target, direction=direction)
    result = assess(m, baseline, [(on("2026-03-01"), latest)], on("2026-03-02"), LAUNCH)
    assert result.progress is not None and 0.0 <= result.progress <= 1.0
    if result.on_target:
        assert result.progress == 1.0
    assert result.on_target == (latest >= target if direction == "increase" else latest <= target)


@given(a=values, b=values, baseline=values, direction=st.sampled_from(["increase", "decrease"]))
def test_a_better_value_never_shows_less_progress(a, b, baseline, direction) -> None:
    m = metric(baseline=None, target=100, direction=direction)
    better, worse = (max(a, b), min(a, b)) if direction == "increase" else (min(a, b), max(a, b))
    good = assess(m, baseline, [(on("2026-03-01"), better)], on("2026-03-02"), LAUNCH)
    bad = assess(m, baseline, [(on("2026-03-01"), worse)], on("2026-03-02"), LAUNCH)
    assert good.progress >= bad.progress
