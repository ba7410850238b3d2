"""The calendar rule a definition will carry, read from YAML as the loader reads it, and its checks."""

from __future__ import annotations

from datetime import time

import pytest
import yaml
from pydantic import ValidationError

from definitions.calendar import CalendarRule, Period, Weekday
from definitions.calendar_checks import cadence_problems, rule_problems, zone_problem
from definitions.durations import Duration


def from_yaml(text: str) -> CalendarRule:
    return CalendarRule.model_validate(yaml.safe_load(text))


def problems(text: str) -> list[tuple[tuple, str]]:
    return list(rule_problems(from_yaml(text)))


def test_the_documented_examples_read_as_meant() -> None:
    weekly = from_yaml('{weekdays: [Monday], at: "10:00", minutes: 30, zone: Europe/London}')
    assert (weekly.weekdays, weekly.at, weekly.minutes, weekly.zone) == ([Weekday.monday], time(10), 30, "Europe/London")
    quarterly = from_yaml('{weekdays: [tuesday], nth: first, of: quarter, at: "15:00", minutes: 90, zone: Europe/Berlin}')
    assert (quarterly.nth, quarterly.of, quarterly.interval) == (1, Period.quarter, 1)
    assert from_yaml('{weekdays: [friday], nth: last, at: "9:05", zone: UTC}').nth == -1
    assert from_yaml('{day_of_month: -1, at: "16:00", zone: America/New_York}').day_of_month == -1
    assert from_yaml("{weekdays: [monday], at: 09:30, zone: UTC}").at == time(9, 30)  # a leading 0 stays text
    for text in (
        '{weekdays: [monday], at: "10:00", zone: Europe/London}',
        '{weekdays: [tuesday], nth: first, of: quarter, at: "15:00", zone: Europe/Berlin}',
        '{day_of_month: 31, at: "09:00", zone: America/New_York}',
        '{weekdays: [monday, thursday], interval: 2, at: "09:30", zone: Asia/Kolkata}',
    ):
        assert problems(text) == [], text


def test_it_serialises_back_to_what_a_person_writes() -> None:
    quarterly = from_yaml('{weekdays: [tuesday], nth: first, of: quarter, at: "15:00", zone: Europe/Berlin}')
    dumped = quarterly.model_dump(mode="json")
    assert dumped == {
        "weekdays": ["tuesday"], "day_of_month": None, "nth": 1, "of": "quarter", "interval": 1,
        "at": "15:00", "minutes": 60, "zone": "Europe/Berlin",
    }
    assert CalendarRule.model_validate(dumped) == quarterly
    assert CalendarRule.model_json_schema()["properties"]["at"]["pattern"] == r"^([01]?\d|2[0-3]):[0-5]\d$"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # YAML 1.1 reads an unquoted 10:00 as 600 and 9:30 as 570: say so, with the time meant.
        ("{weekdays: [monday], at: 10:00, zone: UTC}", 'write the time in quotes, e.g. at: "10:00"'),
        ("{weekdays: [monday], at: 9:30, zone: UTC}", 'e.g. at: "09:30"'),
        ('{weekdays: [monday], at: "24:00", zone: UTC}', "'24:00' is not a time of day"),
        ('{weekdays: [monday], at: "10:00:30", zone: UTC}', "hours and minutes on the 24-hour clock"),
        ('{weekdays: [monday], at: "10am", zone: UTC}', "'10am' is not a time of day"),
        ('{weekdays: [funday], at: "10:00", zone: UTC}', "Input should be 'monday'"),
        ('{weekdays: [monday], nth: 5, at: "10:00", zone: UTC}', "less than or equal to 4"),
        ('{weekdays: [monday], nth: fifth, at: "10:00", zone: UTC}', "valid integer"),
        ('{day_of_month: 32, at: "10:00", zone: UTC}', "less than or equal to 31"),
        ('{weekdays: [monday], at: "10:00", minutes: 0, zone: UTC}', "greater than or equal to 1"),
        ('{weekdays: [monday], of: year, at: "10:00", zone: UTC}', "'month' or 'quarter'"),
        ('{weekdays: [monday], at: "10:00"}', "zone\n  Field required"),
        # The YAML trap the field name avoids: a key spelled `on` is the boolean true.
        ('{on: [monday], at: "10:00", zone: UTC}', "YAML reads a key spelled on, yes or no as true/false"),
    ],
)
def test_what_cannot_be_read_says_why(text: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        from_yaml(text)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{weekdays: [monday, monday], at: "10:00", zone: UTC}', [(("weekdays",), "monday is listed 2 times")]),
        ('{weekdays: [monday, friday], nth: 1, at: "10:00", zone: UTC}',
         [(("weekdays",), "nth needs exactly one weekday (e.g. weekdays: [tuesday], nth: first), not 2")]),
        ('{nth: 1, at: "10:00", zone: UTC}',
         [(("weekdays",), "nth needs exactly one weekday (e.g. weekdays: [tuesday], nth: first), not 0")]),
        ('{weekdays: [friday], day_of_month: 13, at: "10:00", zone: UTC}',
         [(("weekdays",), "give either weekdays or day_of_month, not both")]),
        ('{weekdays: [friday], nth: 1, day_of_month: 13, at: "10:00", zone: UTC}',
         [(("nth",), "give either nth (the nth weekday) or day_of_month, not both")]),
        ('{at: "10:00", zone: UTC}',
         [((), "say when: weekdays (every week on those days), day_of_month, or nth with one weekday")]),
        ('{weekdays: [friday], nth: 0, at: "10:00", zone: UTC}',
         [(("nth",), "nth is first (1) to fourth (4) or last (-1); 0 is none of them")]),
        ('{day_of_month: 0, at: "10:00", zone: UTC}',
         [(("day_of_month",), "day_of_month counts from 1 (the first day) or back from -1 (the last); 0 is neither")]),
        ('{weekdays: [monday], of: quarter, at: "10:00", zone: UTC}',
         [(("of",), "'of: quarter' applies to nth and day_of_month; a weekly rule takes interval (every n weeks)")]),
        ('{weekdays: [monday], at: "10:00", zone: Europe/Lodnon}',
         [(("zone",), ("unknown time zone 'Europe/Lodnon' in the time zone database 2026f;"
                      " did you mean 'Europe/London' or 'Europe/Lisbon' or 'Europe/Vienna'?"))]),
        # Every problem at once, not just the first.
        ('{weekdays: [monday, monday], at: "10:00", zone: CET}', [
            (("zone",), ("'CET' is a legacy zone name, not a place: write the zone of a place, such as"
                        " America/New_York or Europe/Berlin, so daylight saving follows that place")),
            (("weekdays",), "monday is listed 2 times"),
        ]),
    ],
)
def test_combinations_that_make_no_sense_are_reported(text: str, expected: list) -> None:
    assert problems(text) == expected


def test_a_cadence_has_either_every_or_a_rule() -> None:
    weekly = from_yaml('{weekdays: [monday], at: "10:00", zone: Europe/London}')
    assert list(cadence_problems(Duration.parse("1w"), None)) == []
    assert list(cadence_problems(None, weekly)) == []
    assert list(cadence_problems(Duration.parse("1w"), weekly)) == [
        (("rule",), "give either every (a fixed interval from launch) or rule (a calendar rule), not both")
    ]
    assert list(cadence_problems(None, None)) == [
        ((), 'give either every (e.g. 1w) or rule (e.g. {weekdays: [monday], at: "10:00", zone: Europe/London})')
    ]
    broken = from_yaml('{weekdays: [monday], at: "10:00", zone: Mars/Base}')
    assert list(cadence_problems(None, broken)) == [(("rule", "zone"), zone_problem("Mars/Base"))]


def test_a_person_s_or_party_s_zone() -> None:
    assert zone_problem(None) is None  # not given: UTC, as today
    assert zone_problem("Australia/Lord_Howe") is None
    assert zone_problem("australia/sydney") == (
        "unknown time zone 'australia/sydney': zone names are case-sensitive, did you mean 'Australia/Sydney'?"
    )
