"""The weekly RAG statuses as a strip per party plus the overall one; labels fitted to their room."""

from __future__ import annotations

import itertools
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from accord.reports.charts.axes import WIDTH, Plot, Tick, TimeScale, time_ticks, utc

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
    statuses = sorted(statuses, key=lambda s: utc(s.week))
    rows_spec = [(pid, name, False) for pid, name in parties] + [("", "Overall", True)]
    plot = Plot(RAG_LABEL_WIDTH, 8, width - 16, 8 + RAG_ROW_HEIGHT * len(rows_spec))
    height = int(plot.bottom + 30)
    weeks = [utc(s.week) for s in statuses]
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
