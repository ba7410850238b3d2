"""The report's charts as geometry: where every line, point and cell goes, in SVG user units.

Written by hand rather than with a charting library. The report must be one file that
opens offline and prints, so a chart has to be plain inline SVG with no script: pygal
(the one server-side SVG library that fits) links its tooltip script from a CDN by
default and styles through its own CSS, and matplotlib is a heavy dependency for two
kinds of chart. What the report needs is small: a time axis, a value axis with round
ticks, a few horizontal reference lines, points, and a grid of cells. Keeping it as
data (this module) apart from markup (``templates/_charts.html.j2``) also lets tests
check that values land where they should without parsing pictures.

- :func:`metric_chart`: a metric's observations over time, its target and baseline lines.
- :func:`rag_chart`: the weekly RAG statuses as a strip per party plus the overall one.
- :func:`balance_chart`: each annual mutual-value review's benefit-to-contribution ratio per party.
"""

from __future__ import annotations

import itertools
import math
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

# One chart's canvas (SVG user units; the SVG scales to the page width).
WIDTH = 760
HEIGHT = 280
# Room for the value axis labels (left), the reference line labels (right) and the time axis (bottom).
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 56, 104, 16, 34
# Reference line labels closer than this are moved apart.
LABEL_GAP = 13


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def number(value: float) -> str:
    """7.0 -> "7", 1234.5 -> "1,234.5", 0.1 + 0.2 -> "0.3": as a person writes it."""
    rounded = round(float(value), 4)
    return f"{int(rounded):,}" if rounded.is_integer() else f"{rounded:,}"


@dataclass(frozen=True)
class LinearScale:
    """Maps a value domain linearly onto a range of user units (a range may run backwards)."""

    d0: float
    d1: float
    r0: float
    r1: float

    def __call__(self, value: float) -> float:
        if self.d1 == self.d0:
            return (self.r0 + self.r1) / 2
        return round(self.r0 + (value - self.d0) * (self.r1 - self.r0) / (self.d1 - self.d0), 2)


@dataclass(frozen=True)
class TimeScale:
    start: datetime
    end: datetime
    r0: float
    r1: float

    def __call__(self, at: datetime) -> float:
        return LinearScale(self.start.timestamp(), self.end.timestamp(), self.r0, self.r1)(_utc(at).timestamp())


def nice_ticks(lo: float, hi: float, most: int = 6) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten) covering [lo, hi], at most ``most`` + 1."""
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / most
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(lo / step + 1e-9) * step
    last = math.ceil(hi / step - 1e-9) * step
    count = round((last - first) / step)
    return [round(first + i * step, 10) for i in range(count + 1)]


def _month_start(at: datetime) -> datetime:
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def _add_months(at: datetime, months: int) -> datetime:
    index = at.year * 12 + at.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def time_ticks(start: datetime, end: datetime, most: int = 8) -> list[tuple[datetime, str]]:
    """Month, quarter or year boundaries inside [start, end], labelled for people, at most ``most``."""
    start, end = _utc(start), _utc(end)
    months = max(1, (end.year - start.year) * 12 + end.month - start.month)
    for step in (1, 2, 3, 6, 12, 24, 60):
        if months / step <= most:
            break
    if step >= 12:
        at = datetime(start.year, 1, 1, tzinfo=UTC)
        if at < start:
            at = datetime(start.year + 1, 1, 1, tzinfo=UTC)
        ticks = []
        while at <= end:
            ticks.append((at, f"{at:%Y}"))
            at = datetime(at.year + step // 12, 1, 1, tzinfo=UTC)
        return ticks
    at = _month_start(start)
    if at < start:
        at = _add_months(at, 1)
    while (at.month - 1) % step:
        at = _add_months(at, 1)
    ticks = []
    while at <= end:
        ticks.append((at, f"{at:%b %Y}" if at.month == 1 or not ticks else f"{at:%b}"))
        at = _add_months(at, step)
    return ticks


@dataclass(frozen=True)
class Tick:
    pos: float
    label: str


@dataclass(frozen=True)
class Plot:
    """The plotting area inside the canvas."""

    left: float
    top: float
    right: float
    bottom: float


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: float
    at: datetime
    tooltip: str
    good: bool


@dataclass(frozen=True)
class Reference:
    """A horizontal reference line (target or baseline) across the plot."""

    kind: str  # "target" or "baseline"
    y: float
    value: float
    label: str
    label_y: float = -1.0  # where its label sits: on the line unless another label is too close

    def __post_init__(self) -> None:
        if self.label_y < 0:
            object.__setattr__(self, "label_y", self.y)


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
    observations = sorted(observations, key=lambda o: _utc(o.at))
    moments = [_utc(o.at) for o in observations] + ([_utc(baseline_at)] if baseline_at else [])
    if target_due:
        moments.append(_utc(target_due))
    start = _utc(start) if start else min(moments, default=None)
    end = _utc(end) if end else max(moments, default=None)
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
        Point(x(o.at), y(o.value), o.value, _utc(o.at),
              f"{number(o.value)}{suffix} on {_utc(o.at):%d %b %Y}" + (f" by {o.actor}" if o.actor else "")
              + (f": {o.note}" if o.note else ""),
              meets(o.value))
        for o in observations
        if start <= _utc(o.at) <= end
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
    if target_due is not None and start <= _utc(target_due) <= end:
        markers.append(Marker(x(target_due), f"target due {_utc(target_due):%d %b %Y}"))
    baseline_point = None
    if baseline is not None and baseline_at is not None and start <= _utc(baseline_at) <= end:
        baseline_point = Point(x(baseline_at), y(baseline), baseline, _utc(baseline_at),
                               f"baseline {number(baseline)}{suffix} on {_utc(baseline_at):%d %b %Y}", meets(baseline))

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


# --- RAG strip ----------------------------------------------------------------------

RAG_ROW_HEIGHT = 22
RAG_LABEL_WIDTH = 150
# A row's label ends 8 units left of the strip and must not run off the chart's left edge:
# at most this wide, at the label's font size (report.css: .rag-chart .row-label, bold for Overall).
RAG_LABEL_ROOM = RAG_LABEL_WIDTH - 8 - 4
RAG_LABEL_SIZE = 12


@dataclass(frozen=True)
class Cell:
    x: float
    width: float
    status: str  # green, amber, red, or "none" (nobody answered)
    tooltip: str


@dataclass(frozen=True)
class Row:
    name: str  # the party's full name (the label's tooltip)
    y: float
    cells: list[Cell]
    overall: bool = False

    @property
    def label(self) -> str:
        """The name as shown beside its strip: shortened with an ellipsis if it would not fit."""
        return fit(self.name, RAG_LABEL_ROOM, RAG_LABEL_SIZE * (1.1 if self.overall else 1))


@dataclass(frozen=True)
class StripChart:
    title: str
    description: str
    width: int
    height: int
    plot: Plot
    rows: list[Row]
    x_ticks: list[Tick]
    row_height: float
    counts: dict[str, dict[str, int]]  # row label -> status -> how many

    @property
    def empty(self) -> bool:
        return not any(r.cells for r in self.rows)


@dataclass(frozen=True)
class Status:
    """One weekly status: the week it is for, and each party's colour (None: no answer)."""

    week: datetime  # when the review was due: the start of its cell
    review_id: str
    overall: str | None
    by_party: dict[str, str | None]


def text_width(text: str, size: float) -> float:
    """How wide ``text`` is at font size ``size``, at most: each character counted at the width of
    the widest in its class in DejaVu Sans (the widest of the usual sans-serif fonts, what a Linux
    browser draws system-ui with). The report measures nothing as it is drawn: it has no script."""
    def em(c: str) -> float:
        if unicodedata.east_asian_width(c) in ("W", "F") or c in "MWm@%…":
            return 1.0
        if c in "w&":
            return 0.85
        if c.isupper() or c.isdigit():
            return 0.8
        if c in "fijlrtI.,:;'!|()[]- ":
            return 0.42
        return 0.65

    return sum(em(c) for c in text) * size


def fit(text: str, room: float, size: float) -> str:
    """``text``, or as much of it as fits in ``room`` units followed by an ellipsis."""
    if text_width(text, size) <= room:
        return text
    for end in range(len(text) - 1, 0, -1):
        shown = text[:end].rstrip(" ,;-(") + "…"
        if text_width(shown, size) <= room:
            return shown
    return "…"


def rag_chart(statuses: list[Status], parties: list[tuple[str, str]], *, title: str = "Weekly RAG status",
              width: int = WIDTH) -> StripChart:
    """One row per party (``(id, name)``) and one for the overall status; one cell per status.

    A cell starts at its week on the time axis and is as wide as the usual gap between
    weeks (never overlapping the next), so a gap in the record shows as a gap.
    """
    statuses = sorted(statuses, key=lambda s: _utc(s.week))
    rows_spec = [(pid, name, False) for pid, name in parties] + [("", "Overall", True)]
    plot = Plot(RAG_LABEL_WIDTH, 8, width - 16, 8 + RAG_ROW_HEIGHT * len(rows_spec))
    height = int(plot.bottom + 30)
    weeks = [_utc(s.week) for s in statuses]
    gaps = sorted(b - a for a, b in itertools.pairwise(weeks) if b > a)
    span = gaps[len(gaps) // 2] if gaps else timedelta(days=7)
    start = weeks[0] if weeks else datetime.now(UTC) - timedelta(days=30)
    end = weeks[-1] + span if weeks else start + timedelta(days=30)
    x = TimeScale(start, end, plot.left, plot.right)

    counts: dict[str, dict[str, int]] = {}
    rows = []
    for index, (pid, name, overall) in enumerate(rows_spec):
        cells = []
        tally = {"green": 0, "amber": 0, "red": 0, "none": 0}
        for i, status in enumerate(statuses):
            colour = (status.overall if overall else status.by_party.get(pid)) or "none"
            tally[colour] = tally.get(colour, 0) + 1
            left = x(weeks[i])
            right = x(min(weeks[i] + span, weeks[i + 1])) if i + 1 < len(weeks) else x(weeks[i] + span)
            what = colour if colour != "none" else "no answer"
            cells.append(Cell(left, round(max(right - left, 0.5), 2), colour,
                              f"{name}, week of {weeks[i]:%d %b %Y} ({status.review_id}): {what}"))
        counts[name] = tally
        rows.append(Row(name, plot.top + index * RAG_ROW_HEIGHT, cells, overall))
    description = (f"{len(statuses)} weekly statuses, weeks of {weeks[0]:%d %b %Y} to {weeks[-1]:%d %b %Y}"
                   if statuses else "No weekly statuses yet")
    return StripChart(title=title, description=description + ".", width=width, height=height, plot=plot, rows=rows,
                      x_ticks=[Tick(x(at), label) for at, label in time_ticks(start, end)] if statuses else [],
                      row_height=RAG_ROW_HEIGHT, counts=counts)


# --- mutual-value balance -------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    party: str
    series: int  # the party's position: picks its colour
    value: float
    tooltip: str


@dataclass(frozen=True)
class Group:
    label: str
    x: float
    imbalanced: bool
    bars: list[Bar]


@dataclass(frozen=True)
class BarChart:
    title: str
    description: str
    width: int
    height: int
    plot: Plot
    groups: list[Group]
    y_ticks: list[Tick]
    legend: list[tuple[int, str]]
    references: list[Reference]

    @property
    def empty(self) -> bool:
        return not self.groups


@dataclass(frozen=True)
class Balance:
    label: str  # "Year 1"
    at: datetime
    ratios: dict[str, float]  # party id -> benefit / contribution
    imbalanced: bool


def balance_chart(balances: list[Balance], parties: list[tuple[str, str]], *, title: str = "Mutual value",
                  width: int = WIDTH, height: int = 220) -> BarChart:
    """Grouped bars: per annual review, each party's benefit-to-contribution ratio; 1 is an even exchange."""
    plot = Plot(MARGIN_LEFT, MARGIN_TOP, width - MARGIN_RIGHT, height - MARGIN_BOTTOM)
    values = [v for b in balances for v in b.ratios.values()] + [1.0]
    ticks = nice_ticks(0.0, max(values), most=4)
    y = LinearScale(ticks[0], ticks[-1], plot.bottom, plot.top)
    names = dict(parties)
    order = [pid for pid, _ in parties]
    slot = (plot.right - plot.left) / max(len(balances), 1)
    bar = min(28.0, slot * 0.8 / max(len(order), 1))
    groups = []
    for g, balance in enumerate(balances):
        left = plot.left + g * slot + (slot - bar * len(order)) / 2
        bars = []
        for i, pid in enumerate(order):
            if pid not in balance.ratios:
                continue
            value = balance.ratios[pid]
            top = y(value)
            bars.append(Bar(round(left + i * bar, 2), top, round(bar - 2, 2), round(plot.bottom - top, 2), names[pid], i,
                            value, f"{balance.label}, {names[pid]}: benefit/contribution {number(value)}"))
        groups.append(Group(balance.label, round(plot.left + g * slot + slot / 2, 2), balance.imbalanced, bars))
    description = (f"Benefit-to-contribution ratio per party for {len(balances)} annual review"
                   f"{'s' if len(balances) != 1 else ''}; 1 is an even exchange." if balances
                   else "No annual mutual-value review yet.")
    return BarChart(title=title, description=description, width=width, height=height, plot=plot, groups=groups,
                    y_ticks=[Tick(y(v), number(v)) for v in ticks],
                    legend=[(i, names[pid]) for i, pid in enumerate(order)],
                    references=[Reference("even", y(1.0), 1.0, "even exchange")])
