"""Time zones from the pinned tzdata package, the rule for skipped and repeated local times, and
the formatting people read.

Zone facts below are the pinned tzdata release's (pyproject.toml): in 2026 London springs
forward on 29 March (01:00 GMT -> 02:00 BST) and falls back on 25 October (02:00 BST ->
01:00 GMT); New York on 8 March (02:00 -> 03:00) and 1 November (02:00 -> 01:00); Sydney
and Adelaide end daylight saving on 5 April (03:00 -> 02:00) and start it on 4 October
(02:00 -> 03:00); Lord Howe Island moves by 30 minutes on the same days (02:00 -> 01:30,
02:00 -> 02:30). Kolkata (+05:30) and Kathmandu (+05:45) have no daylight saving.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tomllib
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from pathlib import Path

import pytest
import tzdata

from accord.logic import zones
from accord.logic.time_display import format_day, format_instant, reader_zone
from tests.support.paths import ROOT


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- the database in use ----------------------------------------------------------


def test_the_release_in_use_is_the_pinned_package() -> None:
    pinned = [d for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
              if d.startswith("tzdata")]
    assert pinned == [f"tzdata=={tzdata.__version__}"]  # one exact release, and it is the one installed
    assert zones.TZDATA_VERSION == tzdata.__version__ == "2026.6"
    assert zones.IANA_VERSION == "2026f"
    assert zones.release() == "IANA 2026f (tzdata 2026.6)"


def test_zones_are_built_once_per_name_from_the_package() -> None:
    berlin = zones.zone("Europe/Berlin")
    assert berlin is zones.zone("Europe/Berlin")
    assert berlin.key == "Europe/Berlin" and str(berlin) == "Europe/Berlin"
    assert utc(2026, 1, 15, 12).astimezone(berlin).utcoffset() == timedelta(hours=1)
    assert utc(2026, 7, 15, 12).astimezone(berlin).utcoffset() == timedelta(hours=2)
    assert zones.zone("UTC").utcoffset(None) == timedelta(0)
    assert zones.zone("US/Eastern").key == "US/Eastern"  # a link with a place in it is a zone too


# A script run in a fresh interpreter: the process-wide zoneinfo search path and the
# machine's TZ and LANG come from its environment, which the test sets.
_PROBE = textwrap.dedent(
    """
    import json, locale, sys, time, zoneinfo
    from datetime import UTC, datetime, timedelta
    opened = []
    sys.addaudithook(lambda event, args: opened.append(str(args[0])) if event == "open" else None)
    time.tzset()
    try:
        locale.setlocale(locale.LC_ALL, "")
    except locale.Error:
        pass  # the locale is not installed here: LANG still names it, which is all we can vary
    from accord.logic import recurrence, working_hours, zones
    from accord.logic.time_display import format_instant
    from definitions.calendar import CalendarRule
    from definitions.durations import Duration
    winter = datetime(2026, 1, 15, 12, tzinfo=UTC)
    try:
        system = str(winter.astimezone(zoneinfo.ZoneInfo("Europe/Berlin")).utcoffset())
    except zoneinfo.ZoneInfoNotFoundError:
        system = "not found"
    ours = str(winter.astimezone(zones.zone("Europe/Berlin")).utcoffset())
    rule = CalendarRule(weekdays=["tuesday"], nth=1, of="quarter", at="15:00", zone="Europe/Berlin")
    review = recurrence.occurrence(datetime(2026, 1, 1, tzinfo=UTC), rule, 2)
    due = working_hours.deadline(winter, Duration.parse("5d"), working_hours.WorkingHours("Europe/Berlin", "DE"))
    print(json.dumps({
        "system": system, "ours": ours,
        "review": format_instant(review, "Europe/Berlin"), "due": format_instant(due, "Europe/Berlin"),
        "zone_files": sorted({p for p in opened if "zoneinfo" in p and "Berlin" in p}),
        "local_clock": time.strftime("%Z", time.localtime(0)),
    }))
    """
)


def _probe(env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_system_zone_files_are_never_read(tmp_path: Path) -> None:
    # A deliberately wrong Europe/Berlin (Tokyo's rules, +09:00) where zoneinfo looks first.
    (tmp_path / "Europe").mkdir()
    tokyo = resources.files("tzdata.zoneinfo").joinpath("Asia", "Tokyo").read_bytes()
    (tmp_path / "Europe" / "Berlin").write_bytes(tokyo)
    out = _probe({"PYTHONTZPATH": str(tmp_path), "TZ": "America/Los_Angeles", "LANG": "de_DE.UTF-8",
                  "LC_ALL": "de_DE.UTF-8"})
    assert out["system"] == "9:00:00"  # plain zoneinfo took the wrong file...
    assert out["ours"] == "1:00:00"  # ...ours did not
    package = str(Path(tzdata.__file__).parent)
    assert out["zone_files"] and all(p.startswith(package) for p in out["zone_files"]), out["zone_files"]
    assert out["local_clock"] in ("PST", "PDT")  # the machine's zone really was Los Angeles
    # The same answers as on any machine (and as in this process, whatever its TZ and LANG).
    assert out["review"] == "Tuesday 7 April 2026, 15:00 CEST (Europe/Berlin)"
    assert out["due"] == "Tuesday 20 January 2026, 17:00 CET (Europe/Berlin)"


def test_without_the_system_search_path_the_answers_are_the_same(tmp_path: Path) -> None:
    # No zone files at all where zoneinfo looks: ours come from the package all the same.
    out = _probe({"PYTHONTZPATH": str(tmp_path), "TZ": "Asia/Kathmandu", "LANG": "C"})
    assert out["system"] == "1:00:00"  # zoneinfo falls back to the same package
    assert (out["ours"], out["review"], out["due"]) == (
        "1:00:00", "Tuesday 7 April 2026, 15:00 CEST (Europe/Berlin)", "Tuesday 20 January 2026, 17:00 CET (Europe/Berlin)"
    )


# --- names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("europe/london", "zone names are case-sensitive, did you mean 'Europe/London'?"),
        ("Europe/Lodnon", "unknown time zone 'Europe/Lodnon' in the time zone database 2026f; did you mean 'Europe/London'"),
        ("America/NewYork", "did you mean 'America/New_York'"),
        ("EST", "'EST' is a legacy zone name, not a place: write the zone of a place, such as America/New_York"),
        ("Japan", "'Japan' is a legacy zone name"),
        ("Mars/Olympus_Mons", "unknown time zone 'Mars/Olympus_Mons'"),
        ("../../etc/passwd", "'../../etc/passwd' is not a time zone name"),
        ("Europe/London\n", "is not a time zone name"),
        ("", "a time zone is an IANA name such as Europe/London"),
        ("x" * 10_000, "'" + "x" * 64 + "...' is not a time zone name"),
    ],
)
def test_unknown_names_are_refused_with_advice(name: str, message: str) -> None:
    assert message in (zones.problem(name) or "")
    with pytest.raises(ValueError, match="time zone|zone name"):
        zones.zone(name)


@pytest.mark.parametrize("name", ["Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC"])
def test_known_names_have_no_problem(name: str) -> None:
    assert zones.problem(name) is None


def test_a_name_of_64_characters_is_still_judged_and_a_longer_one_cut_short() -> None:
    longest = "Europe/" + "x" * 57
    assert zones.problem(longest) == (
        f"unknown time zone {longest!r} in the time zone database {zones.IANA_VERSION} (IANA names look like Europe/London)")
    assert zones.problem(longest + "y") == (
        f"{longest + '...'!r} is not a time zone name (IANA names look like Europe/London or America/New_York)")


def test_a_64_character_name_with_a_space_is_shown_whole() -> None:
    name = "Europe/" + "x" * 56 + " "
    assert zones.problem(name) == (
        f"{name!r} is not a time zone name (IANA names look like Europe/London or America/New_York)")


def test_a_name_that_is_not_text_is_refused() -> None:
    assert zones.problem(None) == zones.problem(42) == "a time zone is an IANA name such as Europe/London or America/New_York"


# --- local times the clock skips or repeats ---------------------------------------


def wall(*parts: int) -> datetime:
    return datetime(*parts)


# (zone, local time the clock skips, its instant by the rule, as local time)
SKIPPED = [
    ("Europe/London", wall(2026, 3, 29, 1, 30), utc(2026, 3, 29, 1, 30), "02:30"),
    ("America/New_York", wall(2026, 3, 8, 2, 30), utc(2026, 3, 8, 7, 30), "03:30"),
    ("Australia/Sydney", wall(2026, 10, 4, 2, 30), utc(2026, 10, 3, 16, 30), "03:30"),
    ("Australia/Adelaide", wall(2026, 10, 4, 2, 30), utc(2026, 10, 3, 17, 0), "03:30"),
    ("Australia/Lord_Howe", wall(2026, 10, 4, 2, 15), utc(2026, 10, 3, 15, 45), "02:45"),  # a 30-minute gap
]


@pytest.mark.parametrize(("name", "local_time", "instant", "shown"), SKIPPED)
def test_a_skipped_local_time_moves_forward_by_the_gap(name: str, local_time: datetime, instant: datetime, shown: str) -> None:
    tz = zones.zone(name)
    assert zones.is_nonexistent(local_time, tz) and not zones.is_repeated(local_time, tz)
    assert zones.to_utc(local_time, tz) == instant
    assert f"{instant.astimezone(tz):%H:%M}" == shown
    assert zones.on_day(local_time.date(), local_time.time(), tz) == instant


# (zone, local time that happens twice, its first instant (the rule's), its second)
REPEATED = [
    ("Europe/London", wall(2026, 10, 25, 1, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)),
    ("America/New_York", wall(2026, 11, 1, 1, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30)),
    ("Australia/Sydney", wall(2026, 4, 5, 2, 30), utc(2026, 4, 4, 15, 30), utc(2026, 4, 4, 16, 30)),
    ("Australia/Adelaide", wall(2026, 4, 5, 2, 30), utc(2026, 4, 4, 16, 0), utc(2026, 4, 4, 17, 0)),
    ("Australia/Lord_Howe", wall(2026, 4, 5, 1, 45), utc(2026, 4, 4, 14, 45), utc(2026, 4, 4, 15, 15)),
]


@pytest.mark.parametrize(("name", "local_time", "first", "second"), REPEATED)
def test_a_repeated_local_time_is_its_first_occurrence(name: str, local_time: datetime, first: datetime, second: datetime) -> None:
    tz = zones.zone(name)
    assert zones.is_repeated(local_time, tz) and not zones.is_nonexistent(local_time, tz)
    assert zones.to_utc(local_time, tz) == first
    # Both instants really show that local time; the rule picks the earlier one.
    assert first.astimezone(tz).replace(tzinfo=None) == second.astimezone(tz).replace(tzinfo=None) == local_time
    assert second - first == (timedelta(minutes=30) if name == "Australia/Lord_Howe" else timedelta(hours=1))


@pytest.mark.parametrize(
    ("name", "day", "first_skipped", "first_after"),
    [
        ("Europe/London", date(2026, 3, 29), time(1, 0), time(2, 0)),
        ("America/New_York", date(2026, 3, 8), time(2, 0), time(3, 0)),
        ("Australia/Lord_Howe", date(2026, 10, 4), time(2, 0), time(2, 30)),
    ],
)
def test_the_edges_of_a_gap(name: str, day: date, first_skipped: time, first_after: time) -> None:
    tz = zones.zone(name)
    at = lambda clock: datetime.combine(day, clock)
    minute = timedelta(minutes=1)
    assert not zones.is_nonexistent(at(first_skipped) - minute, tz)
    assert zones.is_nonexistent(at(first_skipped), tz)
    assert zones.is_nonexistent(at(first_after) - minute, tz)
    assert not zones.is_nonexistent(at(first_after), tz)
    # The first skipped minute and the first real one after the gap are the same instant.
    assert zones.to_utc(at(first_skipped), tz) == zones.to_utc(at(first_after), tz)


@pytest.mark.parametrize(
    ("name", "day", "first_repeated", "first_after"),
    [
        ("Europe/London", date(2026, 10, 25), time(1, 0), time(2, 0)),
        ("America/New_York", date(2026, 11, 1), time(1, 0), time(2, 0)),
        ("Australia/Lord_Howe", date(2026, 4, 5), time(1, 30), time(2, 0)),
    ],
)
def test_the_edges_of_a_repeated_hour(name: str, day: date, first_repeated: time, first_after: time) -> None:
    tz = zones.zone(name)
    at = lambda clock: datetime.combine(day, clock)
    minute = timedelta(minutes=1)
    assert not zones.is_repeated(at(first_repeated) - minute, tz)
    assert zones.is_repeated(at(first_repeated), tz)
    assert zones.is_repeated(at(first_after) - minute, tz)
    assert not zones.is_repeated(at(first_after), tz)


@pytest.mark.parametrize(
    ("name", "ten_am_utc"),
    [("Asia/Kolkata", time(4, 30)), ("Asia/Kathmandu", time(4, 15)), ("UTC", time(10, 0))],
)
def test_zones_with_fractional_offsets_and_no_changes(name: str, ten_am_utc: time) -> None:
    tz = zones.zone(name)
    day = date(2026, 1, 1)
    while day.year == 2026:  # every 10:00 of the year exists once, at the same UTC time
        local_time = datetime.combine(day, time(10))
        assert not zones.is_nonexistent(local_time, tz) and not zones.is_repeated(local_time, tz)
        assert zones.to_utc(local_time, tz).time() == ten_am_utc
        day += timedelta(days=1)


def test_the_rule_refuses_what_is_not_a_local_time() -> None:
    with pytest.raises(ValueError, match="naive"):
        zones.to_utc(utc(2026, 1, 1), zones.zone("Europe/London"))
    with pytest.raises(ValueError, match="timezone-aware"):
        zones.local(wall(2026, 1, 1), zones.zone("Europe/London"))
    assert zones.local(utc(2026, 7, 1, 12), zones.zone("Europe/London")).hour == 13


# --- formatting for people --------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "zone", "text"),
    [
        (utc(2026, 3, 2, 10), "Europe/London", "Monday 2 March 2026, 10:00 GMT (Europe/London)"),
        (utc(2026, 7, 2, 9), "Europe/London", "Thursday 2 July 2026, 10:00 BST (Europe/London)"),
        (utc(2026, 3, 2, 10), None, "Monday 2 March 2026, 10:00 UTC"),
        (utc(2026, 3, 2, 10), "UTC", "Monday 2 March 2026, 10:00 UTC"),
        (utc(2026, 3, 2, 23, 30), "Australia/Sydney", "Tuesday 3 March 2026, 10:30 AEDT (Australia/Sydney)"),
        (utc(2026, 3, 2, 10), "Asia/Kolkata", "Monday 2 March 2026, 15:30 IST (Asia/Kolkata)"),
        (utc(2026, 3, 2, 10), "Asia/Kathmandu", "Monday 2 March 2026, 15:45 UTC+05:45 (Asia/Kathmandu)"),
        (utc(2026, 3, 2, 10), "America/Sao_Paulo", "Monday 2 March 2026, 07:00 UTC-03:00 (America/Sao_Paulo)"),
        (utc(2026, 3, 2, 10), "Australia/Lord_Howe", "Monday 2 March 2026, 21:00 UTC+11:00 (Australia/Lord_Howe)"),
        # The two 01:30s of London's fall-back night, told apart by their abbreviations.
        (utc(2026, 10, 25, 0, 30), "Europe/London", "Sunday 25 October 2026, 01:30 BST (Europe/London)"),
        (utc(2026, 10, 25, 1, 30), "Europe/London", "Sunday 25 October 2026, 01:30 GMT (Europe/London)"),
        # To the minute, never rounded up: 16:59:59 is not shown as 17:00.
        (utc(2026, 3, 2, 16, 59, 59), "Europe/London", "Monday 2 March 2026, 16:59 GMT (Europe/London)"),
    ],
)
def test_an_instant_is_shown_in_the_reader_s_zone_with_the_zone_named(instant: datetime, zone: str | None, text: str) -> None:
    assert format_instant(instant, zone) == text


def test_formatting_refuses_naive_times_and_unknown_zones() -> None:
    with pytest.raises(ValueError, match=r"^the instant to show must be timezone-aware \(UTC\), got naive 2026-03-02T10:00:00$"):
        format_instant(wall(2026, 3, 2, 10), "Europe/London")
    with pytest.raises(ValueError, match="did you mean 'Europe/London'"):
        format_instant(utc(2026, 3, 2, 10), "Europe/Lodnon")
    assert format_day(date(2027, 1, 31)) == "Sunday 31 January 2027"


def test_a_zone_at_utc_without_letters_is_written_with_a_plus() -> None:
    # The Azores in summer: offset zero, abbreviation "+00".
    assert format_instant(utc(2026, 7, 1, 12), "Atlantic/Azores") == "Wednesday 1 July 2026, 12:00 UTC+00:00 (Atlantic/Azores)"
    assert format_instant(utc(2026, 1, 1, 12), "Atlantic/Azores") == "Thursday 1 January 2026, 11:00 UTC-01:00 (Atlantic/Azores)"


def test_a_reader_s_zone_from_outside_is_used_only_if_known() -> None:
    assert reader_zone("Europe/Berlin") == "Europe/Berlin"
    assert reader_zone("Europe/Nowhere") is None
    assert reader_zone(["Europe/Berlin"]) is None
    assert reader_zone("EST") is None
