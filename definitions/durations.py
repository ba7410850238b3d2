"""Durations people can read: ``5d``, ``2w``, ``6mo``, ``1y``, ``1w2d``, ``36h`` or ISO 8601 (``P2W``, ``PT4H``).

Months and years are calendar units, not fixed lengths: ``1mo`` after 31 January is
28/29 February, as a person would expect of "a monthly review". ``Duration.after(t)``
does that arithmetic; ``Duration.approx`` gives a fixed timedelta (30-day months,
365-day years) for comparisons such as "is this reminder earlier than the deadline".
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import PlainSerializer, WithJsonSchema
from pydantic.functional_validators import BeforeValidator

_UNITS_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_HUMAN = re.compile(r"(\d+)\s*(mo|min|y|w|d|h|m|s)", re.IGNORECASE)
_ISO = re.compile(
    r"^P(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)


@dataclass(frozen=True, order=True)
class Duration:
    """A span of calendar months plus a fixed number of seconds."""

    months: int = 0
    seconds: int = 0

    @classmethod
    def parse(cls, text: str) -> Duration:
        raw = text.strip()
        if not raw:
            raise ValueError("empty duration")
        iso = _ISO.match(raw.upper())
        if raw.upper().startswith("P"):
            if not iso or raw.upper() in ("P", "PT") or raw.upper().endswith("T"):
                raise ValueError(f"{text!r} is not an ISO 8601 duration (e.g. P2W, P1M, PT4H)")
            g = {k: int(v) for k, v in iso.groupdict().items() if v}
            return cls(
                months=12 * g.get("y", 0) + g.get("mo", 0),
                seconds=g.get("w", 0) * 7 * 86400
                + g.get("d", 0) * 86400
                + g.get("h", 0) * 3600
                + g.get("mi", 0) * 60
                + g.get("s", 0),
            )
        # "6M" would otherwise be read as six minutes; a person writing it usually means months.
        ambiguous = re.search(r"(\d+)\s*M(?![A-Za-z])", raw)
        if ambiguous:
            n = ambiguous.group(1)
            raise ValueError(f"{text!r} is ambiguous: write {n}mo for months or {n}min for minutes")
        compact = re.sub(r"\s+", "", raw.lower())
        parts = _HUMAN.findall(compact)
        if not parts or "".join(n + u for n, u in parts) != compact:
            raise ValueError(
                f"{text!r} is not a duration; write e.g. 30m, 4h, 5d, 2w, 6mo, 1y, 1w2d or ISO 8601 (P2W)"
            )
        months = seconds = 0
        for number, unit in parts:
            n = int(number)
            if unit == "mo":
                months += n
            elif unit == "y":
                months += 12 * n
            else:
                seconds += n * _UNITS_SECONDS[unit]
        return cls(months=months, seconds=seconds)

    def after(self, start: datetime) -> datetime:
        """The instant this long after ``start``, adding calendar months first."""
        moved = start
        if self.months:
            month_index = start.month - 1 + self.months
            year, month = start.year + month_index // 12, month_index % 12 + 1
            day = min(start.day, calendar.monthrange(year, month)[1])
            moved = start.replace(year=year, month=month, day=day)
        return moved + timedelta(seconds=self.seconds)

    def before(self, end: datetime) -> datetime:
        """The instant this long before ``end``."""
        moved = end - timedelta(seconds=self.seconds)
        if self.months:
            month_index = moved.month - 1 - self.months
            year, month = moved.year + month_index // 12, month_index % 12 + 1
            day = min(moved.day, calendar.monthrange(year, month)[1])
            moved = moved.replace(year=year, month=month, day=day)
        return moved

    @property
    def approx(self) -> timedelta:
        return timedelta(days=30 * (self.months % 12) + 365 * (self.months // 12), seconds=self.seconds)

    @property
    def is_zero(self) -> bool:
        return self.months == 0 and self.seconds == 0

    def __str__(self) -> str:
        out = []
        years, months = divmod(self.months, 12)
        if years:
            out.append(f"{years}y")
        if months:
            out.append(f"{months}mo")
        rest = self.seconds
        for unit, size in (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
            count, rest = divmod(rest, size)
            if count:
                out.append(f"{count}{unit}")
        return "".join(out) or "0s"


def _coerce(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    if isinstance(value, timedelta):
        return Duration(seconds=int(value.total_seconds()))
    if isinstance(value, str):
        return Duration.parse(value)
    raise ValueError("a duration is a string such as 5d, 2w, 6mo or P2W")


DurationField = Annotated[
    Duration,
    BeforeValidator(_coerce),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^(\s*\d+\s*(mo|min|y|w|d|h|m|s)\s*)+$|^P.*$",
            "description": "A duration: 30m, 4h, 5d, 2w, 6mo, 1y, 1w2d or ISO 8601 (P2W).",
            "examples": ["5d", "2w", "6mo", "P1Y"],
        }
    ),
]

__all__ = ["Duration", "DurationField"]
