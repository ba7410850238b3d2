"""The rule book gives the same dates, times and words whatever the machine's time zone and locale.

The suite's machines run with ``TZ=UTC`` and ``LANG=C.UTF-8``, so a stray ``datetime.now()``,
``astimezone()`` without a zone or ``strftime("%A")`` would pass everywhere else unnoticed. Here
the process is moved to Pacific/Chatham (UTC+13:45, the oddest offset there is) and a German
locale (compiled from the system's locale sources with ``localedef``, since a test machine has
no locale but C installed), the move is checked to have taken effect, and the answers are
compared with the ones a person expects (the same as tests/workflows/test_logic_zones_in_workflow.py's).
"""

from __future__ import annotations

import calendar
import locale
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from accord.logic import working_hours
from accord.logic.business_days import BusinessCalendar, JointCalendar
from accord.logic.metrics import assess as assess_metric
from accord.logic.mutual_value import assess as assess_value
from accord.logic.recurrence import next_occurrence, occurrence
from accord.logic.time_display import format_day, format_instant
from definitions.calendar import CalendarRule
from definitions.durations import Duration
from definitions.schema import Metric

GERMAN = "de_DE.UTF-8"


@pytest.fixture(scope="session")
def locale_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the German locale, compiled once per machine (LOCPATH points glibc to it)."""
    if shutil.which("localedef") is None or not Path("/usr/share/i18n/locales/de_DE").exists():
        pytest.skip("no localedef or locale sources to build a German locale from (apt-get install locales)")
    shared = tmp_path_factory.getbasetemp().parent / "accord-locales"
    if not (shared / GERMAN).exists():
        building = tmp_path_factory.mktemp("locale")
        subprocess.run(["localedef", "-i", "de_DE", "-f", "UTF-8", str(building / GERMAN)], check=True, capture_output=True)
        shared.mkdir(exist_ok=True)
        os.replace(building / GERMAN, shared / GERMAN)  # another test process may be building it too
    return shared


@pytest.fixture
def foreign_machine(monkeypatch: pytest.MonkeyPatch, locale_path: Path) -> Iterator[None]:
    saved = locale.setlocale(locale.LC_ALL)
    monkeypatch.setenv("TZ", "Pacific/Chatham")
    monkeypatch.setenv("LOCPATH", str(locale_path))
    for name in ("LANG", "LC_ALL", "LC_TIME"):
        monkeypatch.setenv(name, GERMAN)
    monkeypatch.setenv("LANGUAGE", "de")
    time.tzset()
    locale.setlocale(locale.LC_ALL, GERMAN)
    calendar.setfirstweekday(calendar.SUNDAY)  # process-wide, as a US-minded library might leave it
    try:
        # The move took effect: a test that passed without it would prove nothing.
        assert date(2026, 3, 2).strftime("%A %B") == "Montag März"
        assert datetime(2026, 1, 1, tzinfo=UTC).astimezone().utcoffset() == timedelta(hours=13, minutes=45)
        yield
    finally:
        calendar.setfirstweekday(calendar.MONDAY)
        locale.setlocale(locale.LC_ALL, saved)
        monkeypatch.undo()
        time.tzset()


def test_dates_and_times_are_written_in_english_in_the_reader_s_zone(foreign_machine) -> None:
    moment = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert format_day(date(2026, 3, 2)) == "Monday 2 March 2026"
    assert format_instant(moment) == "Monday 2 March 2026, 10:00 UTC"
    assert format_instant(moment, "Europe/London") == "Monday 2 March 2026, 10:00 GMT (Europe/London)"
    assert format_instant(moment, "Asia/Kathmandu") == "Monday 2 March 2026, 15:45 UTC+05:45 (Asia/Kathmandu)"


def test_reviews_deadlines_and_holidays_fall_where_they_fall_on_a_utc_machine(foreign_machine) -> None:
    launch = datetime(2026, 12, 20, tzinfo=UTC)
    parties = JointCalendar([BusinessCalendar("NZ", zone="Pacific/Chatham"), BusinessCalendar("GB", zone="Europe/London")])
    cadence = CalendarRule.model_validate({"weekdays": ["monday"], "at": "09:00", "zone": "America/St_Johns"})
    held, after = [], launch
    for _ in range(3):
        _, after = next_occurrence(launch, cadence, after, parties)
        held.append(format_instant(after, "Pacific/Chatham"))
    assert held == [
        "Tuesday 22 December 2026, 02:15 UTC+13:45 (Pacific/Chatham)",
        "Wednesday 30 December 2026, 02:15 UTC+13:45 (Pacific/Chatham)",
        "Tuesday 5 January 2027, 02:15 UTC+13:45 (Pacific/Chatham)",
    ]
    owner = working_hours.WorkingHours("America/St_Johns", "CA-NL")
    due = working_hours.deadline(launch, Duration.parse("5d"), owner)
    assert format_instant(due, "America/St_Johns") == "Thursday 24 December 2026, 17:00 NST (America/St_Johns)"
    assert BusinessCalendar("DE-BY").holiday_name(date(2026, 10, 3)) == "German Unity Day (DE-BY)"
    # A calendar without a zone judges and moves in UTC, not in the machine's zone.
    saturday = datetime(2026, 3, 7, 10, 30, tzinfo=UTC)
    assert BusinessCalendar(["GB"]).next_business_day(saturday) == datetime(2026, 3, 9, 10, 30, tzinfo=UTC)
    # Every other week on Sunday and Monday: weeks run Monday to Sunday whatever the process says.
    fortnightly = CalendarRule.model_validate(
        {"weekdays": ["sunday", "monday"], "interval": 2, "at": "10:00", "zone": "UTC"})
    assert [occurrence(datetime(2026, 3, 4, tzinfo=UTC), fortnightly, n).day for n in (1, 2, 3, 4)] == [8, 16, 22, 30]
    assert Duration.parse("1mo").after(datetime(2026, 1, 31, 12, tzinfo=UTC)) == datetime(2026, 2, 28, 12, tzinfo=UTC)


def test_numbers_people_read_do_not_take_the_locale_s_separators(foreign_machine) -> None:
    metric = Metric.model_validate({"id": "revenue", "name": "Revenue", "owner": "abe", "unit": "EUR",
                                    "baseline": 1000, "target": 250000.5, "cadence": "1mo"})
    at = datetime(2026, 3, 10, 12, tzinfo=UTC)
    summary = assess_metric(metric, None, [(at, 12345.678)], at, at - timedelta(days=30)).summary
    assert summary.startswith("Revenue: 12,345.678 EUR on 2026-03-10 (target 250,000.5, from 1,000)")
    balance = assess_value({"alpha": (4, 5), "beta": (6, 3)}, 0.3)
    assert balance.summary == (
        "Imbalanced: beta gets the least back for what it gives"
        " (benefit per unit of contribution: beta 0.5, alpha 1.25; gap 0.75, tolerance 0.3)"
    )
