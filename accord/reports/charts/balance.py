"""Each annual mutual-value review's benefit-to-contribution ratio per party, as grouped bars."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from accord.reports.charts.axes import (
    MARGIN_BOTTOM,
    MARGIN_LEFT,
    MARGIN_RIGHT,
    MARGIN_TOP,
    WIDTH,
    LinearScale,
    Plot,
    Reference,
    Tick,
    nice_ticks,
    number,
)


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
