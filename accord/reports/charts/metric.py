"""A metric's chart: its observations over time, its target and baseline as lines, and when
the target is due."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from accord.reports.charts.axes import (
    HEIGHT,
    LABEL_GAP,
    MARGIN_BOTTOM,
    MARGIN_LEFT,
    MARGIN_RIGHT,
    MARGIN_TOP,
    WIDTH,
    LinearScale,
    Plot,
    Reference,
    Tick,
    TimeScale,
    nice_ticks,
    number,
    time_ticks,
    utc,
)


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: float
    at: datetime
    tooltip: str
    good: bool


@dataclass(frozen=True)
class Marker:
    """A vertical line at a moment (when the target is due)."""

    x: float
    label: str


@dataclass(frozen=True)
class LineChart:
    title: str
    description: str
    width: int
    height: int
    plot: Plot
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    points: list[Point]
    references: list[Reference]
    markers: list[Marker] = field(default_factory=list)
    baseline_point: Point | None = None
    unit: str = ""

    @property
    def empty(self) -> bool:
        return not self.points

    @property
    def path(self) -> str:
        """The SVG path through the observations, in time order."""
        return " ".join(f"{'M' if i == 0 else 'L'}{p.x:g},{p.y:g}" for i, p in enumerate(self.points))

    def reference(self, kind: str) -> Reference | None:
        return next((r for r in self.references if r.kind == kind), None)


@dataclass(frozen=True)
class Observation:
    at: datetime
    value: float
    actor: str = ""
    note: str = ""


def metric_chart(
    *,
    title: str,
    unit: str,
    observations: list[Observation],
    target: float | None,
    increase: bool = True,
    baseline: float | None = None,
    baseline_at: datetime | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    target_due: datetime | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> LineChart:
    """A line chart of a metric: observations over [start, end], target and baseline as lines.

    The time axis covers ``start``..``end`` (default: the first to the last moment known);
    the value axis covers every observation, the target and the baseline, on round ticks,
    from zero when all values are positive and zero is not far below them.
    """
    observations = sorted(observations, key=lambda o: utc(o.at))
    moments = [utc(o.at) for o in observations] + ([utc(baseline_at)] if baseline_at else [])
    if target_due:
        moments.append(utc(target_due))
    start = utc(start) if start else min(moments, default=None)
    end = utc(end) if end else max(moments, default=None)
    if start is None or end is None:
        start = end = datetime.now(UTC)
    if end <= start:
        end = start + timedelta(days=30)

    values = [o.value for o in observations] + [v for v in (target, baseline) if v is not None]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if lo >= 0 and lo <= hi / 2:
        lo = 0.0
    ticks = nice_ticks(lo, hi)
    plot = Plot(MARGIN_LEFT, MARGIN_TOP, width - MARGIN_RIGHT, height - MARGIN_BOTTOM)
    y = LinearScale(ticks[0], ticks[-1], plot.bottom, plot.top)
    x = TimeScale(start, end, plot.left, plot.right)

    def meets(value: float) -> bool:
        return target is not None and (value >= target if increase else value <= target)

    suffix = f" {unit}" if unit else ""
    points = [
        Point(x(o.at), y(o.value), o.value, utc(o.at),
              f"{number(o.value)}{suffix} on {utc(o.at):%d %b %Y}" + (f" by {o.actor}" if o.actor else "")
              + (f": {o.note}" if o.note else ""),
              meets(o.value))
        for o in observations
        if start <= utc(o.at) <= end
    ]
    references = []
    if target is not None:
        references.append(Reference("target", y(target), target, f"target {number(target)}"))
    if baseline is not None:
        references.append(Reference("baseline", y(baseline), baseline, f"baseline {number(baseline)}"))
    if len(references) == 2 and abs(references[0].y - references[1].y) < LABEL_GAP:
        # Target and baseline close together: move their labels apart, keeping their order.
        upper, lower = sorted(references, key=lambda r: r.y)
        middle = (upper.y + lower.y) / 2
        references = [Reference(r.kind, r.y, r.value, r.label,
                                round(middle + (LABEL_GAP / 2 if r is lower else -LABEL_GAP / 2), 2)) for r in references]
    markers = []
    if target_due is not None and start <= utc(target_due) <= end:
        markers.append(Marker(x(target_due), f"target due {utc(target_due):%d %b %Y}"))
    baseline_point = None
    if baseline is not None and baseline_at is not None and start <= utc(baseline_at) <= end:
        baseline_point = Point(x(baseline_at), y(baseline), baseline, utc(baseline_at),
                               f"baseline {number(baseline)}{suffix} on {utc(baseline_at):%d %b %Y}", meets(baseline))

    if points:
        latest = points[-1]
        description = (f"{len(points)} observation{'s' if len(points) != 1 else ''} from {points[0].at:%d %b %Y} "
                       f"to {latest.at:%d %b %Y}; latest {number(latest.value)}{suffix}")
    else:
        description = "No observations yet"
    if target is not None:
        description += f"; target {number(target)}{suffix}"
    if baseline is not None:
        description += f"; baseline {number(baseline)}{suffix}"
    return LineChart(
        title=title,
        description=description + ".",
        width=width,
        height=height,
        plot=plot,
        x_ticks=[Tick(x(at), label) for at, label in time_ticks(start, end)],
        y_ticks=[Tick(y(v), number(v)) for v in ticks],
        points=points,
        references=references,
        markers=markers,
        baseline_point=baseline_point,
        unit=unit,
    )
