"""What every chart shares: the canvas and its margins, the value and time scales, round
ticks on both axes, the plotting area, and a horizontal reference line; numbers as people
write them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

# One chart's canvas (SVG user units; the SVG scales to the page width).
WIDTH = 760
HEIGHT = 280
# Room for the value axis labels (left), the reference line labels (right) and the time axis (bottom).
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 56, 104, 16, 34
# Reference line labels closer than this are moved apart.
LABEL_GAP = 13


def utc(value: datetime) -> datetime:
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
        return LinearScale(self.start.timestamp(), self.end.timestamp(), self.r0, self.r1)(utc(at).timestamp())


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


def month_start(at: datetime) -> datetime:
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def add_months(at: datetime, months: int) -> datetime:
    index = at.year * 12 + at.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def time_ticks(start: datetime, end: datetime, most: int = 8) -> list[tuple[datetime, str]]:
    """Month, quarter or year boundaries inside [start, end], labelled for people, at most ``most``."""
    start, end = utc(start), utc(end)
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
    at = month_start(start)
    if at < start:
        at = add_months(at, 1)
    while (at.month - 1) % step:
        at = add_months(at, 1)
    ticks = []
    while at <= end:
        ticks.append((at, f"{at:%b %Y}" if at.month == 1 or not ticks else f"{at:%b}"))
        at = add_months(at, step)
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
