"""Durations as a person writes them (definitions/durations.py): what `accord validate` says about
one it cannot read, and calendar arithmetic at the edges (year ends, clamped days, zones).
tests/unit/test_definitions.py has the forms it reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter, ValidationError

from definitions.durations import Duration, DurationField

NOT_ISO = "is not an ISO 8601 duration (e.g. P2W, P1M, PT4H)"
NOT_A_DURATION = "is not a duration; write e.g. 30m, 4h, 5d, 2w, 6mo, 1y, 1w2d or ISO 8601 (P2W)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty duration"),
        ("   ", "empty duration"),
        ("P", f"'P' {NOT_ISO}"),
        ("pt", f"'pt' {NOT_ISO}"),
        ("P1DT", f"'P1DT' {NOT_ISO}"),
        ("P1H", f"'P1H' {NOT_ISO}"),
        ("PT1D", f"'PT1D' {NOT_ISO}"),
        ("6M", "'6M' is ambiguous: write 6mo for months or 6min for minutes"),
        ("1d 12 M", "'1d 12 M' is ambiguous: write 12mo for months or 12min for minutes"),
        ("2 weeks", f"'2 weeks' {NOT_A_DURATION}"),
        ("1d 2", f"'1d 2' {NOT_A_DURATION}"),
        ("1.5d", f"'1.5d' {NOT_A_DURATION}"),
        ("-1d", f"'-1d' {NOT_A_DURATION}"),
        ("x1d", f"'x1d' {NOT_A_DURATION}"),
    ],
)
def test_what_cannot_be_read_says_what_would_be(text: str, message: str) -> None:
    with pytest.raises(ValueError) as exc:
        Duration.parse(text)
    assert str(exc.value) == message


def test_a_field_that_is_not_text_says_what_a_duration_is() -> None:
    with pytest.raises(ValidationError, match="a duration is a string such as 5d, 2w, 6mo or P2W"):
        TypeAdapter(DurationField).validate_python(14)


def test_each_iso_part_counts_once_and_years_are_twelve_months() -> None:
    assert Duration.parse("P2Y") == Duration(months=24)
    assert Duration.parse("P1W1D") == Duration(seconds=8 * 86400)
    assert Duration.parse("PT1H1M1S") == Duration(seconds=3661)
    assert Duration.parse("P1MT1M") == Duration(months=1, seconds=60)
    assert Duration.parse("2y3mo") == Duration(months=27)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("1mo", datetime(2024, 12, 31, 8, 15, tzinfo=UTC), datetime(2025, 1, 31, 8, 15, tzinfo=UTC)),
        ("11mo", datetime(2024, 3, 31, tzinfo=UTC), datetime(2025, 2, 28, tzinfo=UTC)),
        ("2y", datetime(2024, 2, 29, tzinfo=UTC), datetime(2026, 2, 28, tzinfo=UTC)),
        ("4y", datetime(2024, 2, 29, tzinfo=UTC), datetime(2028, 2, 29, tzinfo=UTC)),
        ("1s", datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)),
    ],
)
def test_after_across_year_ends_and_short_months(text: str, start: datetime, end: datetime) -> None:
    assert Duration.parse(text).after(start) == end


@pytest.mark.parametrize(
    ("text", "end", "start"),
    [
        ("1mo", datetime(2025, 1, 31, 8, 15, tzinfo=UTC), datetime(2024, 12, 31, 8, 15, tzinfo=UTC)),
        ("13mo", datetime(2026, 1, 31, tzinfo=UTC), datetime(2024, 12, 31, tzinfo=UTC)),
        ("1y", datetime(2024, 2, 29, tzinfo=UTC), datetime(2023, 2, 28, tzinfo=UTC)),
        ("1mo1d", datetime(2025, 1, 1, tzinfo=UTC), datetime(2024, 11, 30, tzinfo=UTC)),  # the day first, then the month
    ],
)
def test_before_across_year_ends_and_short_months(text: str, end: datetime, start: datetime) -> None:
    assert Duration.parse(text).before(end) == start


def test_a_month_after_a_local_time_keeps_the_local_time_and_zone() -> None:
    london = ZoneInfo("Europe/London")
    start = datetime(2026, 3, 15, 10, 0, tzinfo=london)  # GMT; a month on is BST
    assert Duration.parse("1mo").after(start) == datetime(2026, 4, 15, 10, 0, tzinfo=london)
    assert Duration.parse("1mo").after(start).tzinfo is london


@pytest.mark.parametrize(
    ("text", "days", "seconds"),
    [("11mo", 330, 0), ("2y", 730, 0), ("2y11mo", 1060, 0), ("1mo36h", 31, 43200), ("0s", 0, 0)],
)
def test_approx_counts_30_day_months_and_365_day_years(text: str, days: int, seconds: int) -> None:
    assert Duration.parse(text).approx == timedelta(days=days, seconds=seconds)


@pytest.mark.parametrize(
    ("duration", "written"),
    [
        (Duration(months=12), "1y"),
        (Duration(months=25), "2y1mo"),
        (Duration(months=11), "11mo"),
        (Duration(seconds=1), "1s"),
        (Duration(seconds=61), "1m1s"),
        (Duration(seconds=7 * 86400 + 3600), "1w1h"),
        (Duration(months=1, seconds=86400), "1mo1d"),
    ],
)
def test_written_back_as_a_person_would(duration: Duration, written: str) -> None:
    assert str(duration) == written


def test_zero_is_zero_months_and_zero_seconds() -> None:
    assert Duration().is_zero
    assert not Duration(months=1).is_zero
    assert not Duration(seconds=1).is_zero
