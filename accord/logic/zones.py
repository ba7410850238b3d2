"""Time zones from the pinned ``tzdata`` package, and the one rule for local times that a clock change skips or repeats.

Where zone arithmetic happens: here, in the workflow's own code, from the ``tzdata``
package pinned to one release in pyproject.toml. Zone rules change several times a
year; a workflow must compute the same local times when it is replayed on a machine
whose system zone files are newer (or older). ``zoneinfo.ZoneInfo(name)`` reads the
system's files (``/usr/share/zoneinfo``, or wherever ``PYTHONTZPATH`` points) before the
package, so pinning the package alone pins nothing: :func:`zone` therefore builds every
zone with ``ZoneInfo.from_file`` from the package's own files and never consults the
system search path. (``zoneinfo.reset_tzpath([])`` would do it too, but it changes the
whole process, including code that is not ours.) Upgrading ``tzdata`` can change dates
that running workflows computed: do it deliberately, like the ``holidays`` upgrade.

Local times that do not exist or happen twice (RFC 5545, section 3.3.5, the rule
calendar programs apply to ``DTSTART;TZID=...``), see :func:`to_utc`:

- a local time the clock skips (02:30 on New York's spring-forward night, 01:30 on
  London's) is read with the offset in force before the change, so it moves forward by
  the length of the gap: 02:30 becomes 03:30 EDT, London's 01:30 becomes 02:30 BST, and
  02:15 on Lord Howe Island's 30-minute change becomes 02:45;
- a local time that happens twice (01:30 on the fall-back night) is the first of the
  two, the one with the offset in force before the change (``fold=0``): 01:30 BST in
  London, 01:30 EDT in New York.

Zones with 30- or 45-minute offsets (Asia/Kolkata, Asia/Kathmandu, Australia/Adelaide)
need no rule of their own: offsets are whatever the database says, to the second.

Every zone of a name is one cached object, so local-time arithmetic between datetimes of
the same zone is wall-clock arithmetic as Python defines it. These objects are not
picklable (``from_file``); pass instants (UTC) and zone names between processes.
"""

from __future__ import annotations

import difflib
import re
from datetime import UTC, date, datetime, time, tzinfo
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

import tzdata

__all__ = [
    "IANA_VERSION",
    "TZDATA_VERSION",
    "is_nonexistent",
    "is_repeated",
    "local",
    "on_day",
    "problem",
    "release",
    "to_utc",
    "zone",
]

# The release in use, e.g. "2026.6" (the package) and "2026f" (IANA's name for it).
TZDATA_VERSION: str = tzdata.__version__
IANA_VERSION: str = tzdata.IANA_VERSION

# The longest IANA name is 32 characters; anything much longer is not a zone and is not
# worth fuzzy-matching (difflib is quadratic in the length).
_MAX_NAME = 64
_NAME_CHARS = re.compile(r"[A-Za-z0-9_+\-/]+")


def release() -> str:
    """Which zone data is in use, for logs and ``accord --version``: ``"IANA 2026f (tzdata 2026.6)"``."""
    return f"IANA {IANA_VERSION} (tzdata {TZDATA_VERSION})"


@cache
def _names() -> frozenset[str]:
    # The package lists every key it ships (zones and links such as US/Eastern).
    listed = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8").split()
    return frozenset(listed)


@cache
def _accepted() -> frozenset[str]:
    # A zone is named by a place, "Area/Location" (or UTC). The bare legacy names
    # ("EST", "CET", "GB", "Japan", "Factory") are refused: "EST" is a fixed offset with no
    # daylight saving, which is rarely what the person writing it means.
    return frozenset(n for n in _names() if "/" in n or n == "UTC")


def problem(name: object) -> str | None:
    """Why ``name`` is not a zone this code can use, or None when it is one."""
    if not isinstance(name, str) or not name.strip():
        return "a time zone is an IANA name such as Europe/London or America/New_York"
    if name in _accepted():
        return None
    shown = name if len(name) <= _MAX_NAME else name[:_MAX_NAME] + "..."
    if len(name) > _MAX_NAME or not _NAME_CHARS.fullmatch(name):
        return f"{shown!r} is not a time zone name (IANA names look like Europe/London or America/New_York)"
    if name in _names():
        return (
            f"{name!r} is a legacy zone name, not a place: write the zone of a place, such as"
            " America/New_York or Europe/Berlin, so daylight saving follows that place"
        )
    by_case = {n.lower(): n for n in _accepted()}
    if name.lower() in by_case:
        return f"unknown time zone {name!r}: zone names are case-sensitive, did you mean {by_case[name.lower()]!r}?"
    close = difflib.get_close_matches(name, sorted(_accepted()), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else " (IANA names look like Europe/London)"
    return f"unknown time zone {name!r} in the time zone database {IANA_VERSION}{hint}"


def zone(name: str) -> ZoneInfo:
    """The zone of an IANA name, from the pinned ``tzdata`` package only; ValueError with advice if unknown."""
    if (message := problem(name)) is not None:
        raise ValueError(message)
    return _load(name)


@cache
def _load(name: str) -> ZoneInfo:
    # The name is one of the package's own keys (checked above), so the path stays inside it.
    resource = resources.files("tzdata.zoneinfo").joinpath(*name.split("/"))
    with resource.open("rb") as data:
        return ZoneInfo.from_file(data, key=name)


# --- local times ------------------------------------------------------------------


def to_utc(wall: datetime, tz: tzinfo) -> datetime:
    """The instant of the local wall-clock time ``wall`` (naive) in ``tz``, by the module's rule.

    A skipped time moves forward by the gap (read with the offset before the change); a
    repeated time is its first occurrence. Both are what ``fold=0`` means in Python
    (PEP 495) and what RFC 5545 says, so a calendar program shown the same local time
    and zone agrees with us.
    """
    if wall.tzinfo is not None:
        raise ValueError(f"a local wall-clock time is naive (no zone attached), got {wall.isoformat()}")
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def on_day(day: date, clock: time, tz: tzinfo) -> datetime:
    """The instant (UTC) of ``clock`` on ``day`` in ``tz``, by the rule of :func:`to_utc`."""
    return to_utc(datetime.combine(day, clock.replace(tzinfo=None)), tz)


def local(moment: datetime, tz: tzinfo) -> datetime:
    """``moment`` (an aware instant) as local time in ``tz``; naive datetimes are refused."""
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise ValueError(f"an instant must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(tz)


def is_nonexistent(wall: datetime, tz: tzinfo) -> bool:
    """Whether the clock skips the naive local time ``wall`` in ``tz`` (it falls in a gap)."""
    return to_utc(wall, tz).astimezone(tz).replace(tzinfo=None) != wall


def is_repeated(wall: datetime, tz: tzinfo) -> bool:
    """Whether the naive local time ``wall`` happens twice in ``tz`` (the fall-back hour)."""
    first, second = (wall.replace(tzinfo=tz, fold=f) for f in (0, 1))
    return not is_nonexistent(wall, tz) and first.utcoffset() != second.utcoffset()
