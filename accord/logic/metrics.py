"""Where a SMART metric stands: latest value, progress from baseline to target, late or stale.

:func:`assess` looks at the observations known at ``as_of`` (later ones are ignored, so
the same inputs always give the same answer, also when replayed):

- ``on_target``: the latest value meets the target (at or above it for an ``increase``
  metric, at or below for a ``decrease``).
- ``progress``: how far the latest value has come from the baseline towards the target,
  0 to 1 (clamped: a value worse than the baseline is 0, past the target is 1). When the
  baseline already meets the target, or equals it, there is no way to go: 1 if on target,
  else 0. None without an observation or a baseline.
- ``missed``: ``target_by`` (counted from launch) has come and the target is not met.
- ``stale``: no observation within the metric's cadence plus :data:`GRACE`, counted
  from the latest observation (or from launch, before the first one).

Deadlines are inclusive: a workflow that sleeps until one and asks at that instant
gets the answer for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from accord.logic.business_days import as_utc
from accord.models import MetricLine, MetricTrack
from definitions.schema import Direction, Metric

# Observations are often entered a few days after the period they measure.
GRACE = timedelta(days=3)


@dataclass(frozen=True)
class MetricAssessment:
    metric_id: str
    latest: float | None
    latest_at: datetime | None
    baseline: float | None
    target: float
    direction: Direction
    progress: float | None
    on_target: bool
    missed: bool
    stale: bool
    # When the next observation is expected (stale after this plus the grace).
    observation_due: datetime
    # When the target should be met; None when the metric has no target_by.
    target_due: datetime | None
    summary: str


def _meets(value: float, target: float, direction: Direction) -> bool:
    return value >= target if direction == Direction.increase else value <= target


def _progress(latest: float, baseline: float, target: float, direction: Direction) -> float:
    on_target = _meets(latest, target, direction)
    # Nothing to travel (baseline == target), or the baseline already meets the target
    # (captured at launch, it can): the fraction would be meaningless.
    if _meets(baseline, target, direction):
        return 1.0 if on_target else 0.0
    fraction = (latest - baseline) / (target - baseline)
    return round(min(1.0, max(0.0, fraction)), 4)


def _number(value: float) -> str:
    """7.0 -> "7", 1234.5 -> "1,234.5", 0.1 + 0.2 -> "0.3": as a person writes it."""
    rounded = round(float(value), 4)
    return f"{int(rounded):,}" if rounded.is_integer() else f"{rounded:,}"


def assess(
    metric: Metric,
    baseline: float | None,
    observations: list[tuple[datetime, float]],
    as_of: datetime,
    launched_at: datetime,
    *,
    grace: timedelta = GRACE,
) -> MetricAssessment:
    """Where ``metric`` stands at ``as_of``.

    ``baseline``: the baseline captured at launch; None falls back to the definition's.
    ``observations``: (when, value), in any order; a tie in time is won by the later entry.
    """
    as_of, launched_at = as_utc(as_of, "as_of"), as_utc(launched_at, "launched_at")
    if baseline is None:
        baseline = metric.baseline
    for value in [baseline, *(v for _, v in observations)]:
        if value is not None and not math.isfinite(value):
            raise ValueError(f"metric {metric.id!r}: values must be finite numbers, got {value!r}")
    known = [(as_utc(when, "observation time"), float(value)) for when, value in observations]
    known = [(when, value) for when, value in known if when <= as_of]
    latest_at, latest = max(reversed(known), key=lambda o: o[0]) if known else (None, None)

    on_target = latest is not None and _meets(latest, metric.target, metric.direction)
    progress = None
    if latest is not None and baseline is not None:
        progress = _progress(latest, baseline, metric.target, metric.direction)
    target_due = metric.target_by.after(launched_at) if metric.target_by is not None else None
    missed = target_due is not None and as_of >= target_due and not on_target
    # Observations from before launch (the baseline's data) do not start the clock early.
    observation_due = metric.cadence.after(max(latest_at, launched_at) if latest_at else launched_at)
    stale = as_of >= observation_due + grace

    return MetricAssessment(
        metric_id=metric.id,
        latest=latest,
        latest_at=latest_at,
        baseline=baseline,
        target=metric.target,
        direction=metric.direction,
        progress=progress,
        on_target=on_target,
        missed=missed,
        stale=stale,
        observation_due=observation_due,
        target_due=target_due,
        summary=_summary(metric, latest, latest_at, baseline, progress, on_target, missed, stale, target_due),
    )


def _summary(
    metric: Metric,
    latest: float | None,
    latest_at: datetime | None,
    baseline: float | None,
    progress: float | None,
    on_target: bool,
    missed: bool,
    stale: bool,
    target_due: datetime | None,
) -> str:
    """e.g. "Qualified referrals: 7 referrals on 2026-03-01 (target 10, from 2): 62% of the way"."""
    target = f"target {_number(metric.target)}" + (f", from {_number(baseline)}" if baseline is not None else "")
    if latest is None or latest_at is None:
        head = f"{metric.name}: no observation yet ({target})"
    else:
        head = f"{metric.name}: {_number(latest)} {metric.unit} on {latest_at.date().isoformat()} ({target})"
    notes = []
    if on_target:
        notes.append("on target")
    elif progress is not None:
        notes.append(f"{progress:.0%} of the way")
    if missed and target_due is not None:
        notes.append(f"target missed (due {target_due.date().isoformat()})")
    if stale:
        notes.append(f"no observation for more than {metric.cadence}")
    return head + (": " + "; ".join(notes) if notes else "")


def line(metric: Metric, track: MetricTrack | None, as_of: datetime, launched_at: datetime | None) -> MetricLine:
    """One metric against its target at ``as_of``, as a review records it (before launch: its
    baseline and target only)."""
    observations = [(o.at, o.value) for o in track.observations] if track else []
    baseline = track.baseline if track and track.baseline is not None else metric.baseline
    if launched_at is None:
        start = f", from {_number(baseline)}" if baseline is not None else ""
        return MetricLine(metric_id=metric.id, name=metric.name, unit=metric.unit, baseline=baseline, target=metric.target,
                          latest=None, on_target=False, missed=False,
                          summary=f"{metric.name}: target {_number(metric.target)} {metric.unit}{start} (not launched yet)")
    result = assess(metric, baseline, observations, as_of, launched_at)
    return MetricLine(metric_id=metric.id, name=metric.name, unit=metric.unit, baseline=result.baseline,
                      target=metric.target, latest=observations[-1][1] if observations else None,
                      on_target=result.on_target, missed=result.missed, summary=result.summary)
