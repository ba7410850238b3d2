"""Time zones and calendar-rule cadences in definition files: what `accord validate` says.

The rule and zone checks themselves are tested in tests/unit/test_definitions_calendar.py; here
they are read from a whole file, reported as ``file:line: path: message``, and the
``every`` form keeps working beside the new ``rule`` form.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from accord.cli import app
from definitions.calendar import CalendarRule, Period
from definitions.calendar_checks import shortest_gap
from definitions.loader import DefinitionError, parse
from tests.support.paths import DATA

MINIMAL = (DATA / "minimal.yaml").read_text(encoding="utf-8")
ISSUE = re.compile(r"^(?P<file>[^:\s][^:]*\.yaml):(?P<line>\d+): (?P<path>[^:]+): (?P<message>\S.*)$")
WEEKLY_EVERY = "  weekly_status:\n    every: 1w\n    inputs_due: 2d\n"


def with_zones(party: str | None = "Europe/London", person: str | None = None, cadence: str | None = None) -> str:
    text = MINIMAL
    if party is not None:
        text = text.replace("    name: Alpha Ltd\n", f"    name: Alpha Ltd\n    timezone: {party}\n")
    if person is not None:
        text = text.replace("        email: ben@beta.example\n", f"        email: ben@beta.example\n        timezone: {person}\n")
    if cadence is not None:
        text = text.replace(WEEKLY_EVERY, f"  weekly_status:\n{cadence}")
    return text


def validate(tmp_path: Path, text: str) -> list[re.Match[str]]:
    file = tmp_path / "partnership.yaml"
    file.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(file)])
    lines = result.stdout.splitlines()
    assert all(ISSUE.match(line) for line in lines), lines
    assert result.exit_code == (1 if lines else 0), result.output
    return [m for line in lines if (m := ISSUE.match(line))]


def written_at(text: str, match: re.Match[str]) -> str:
    return text.splitlines()[int(match["line"]) - 1]


def test_zones_and_a_calendar_rule_are_read_and_the_person_inherits_the_party_zone() -> None:
    rule = '    rule: {weekdays: [tuesday], nth: first, of: quarter, at: "15:00", minutes: 90, zone: Europe/Berlin}\n' \
           "    inputs_due: 1w\n"
    definition = parse(with_zones("Europe/London", "America/New_York", rule))
    assert [p.timezone for p in definition.parties] == ["Europe/London", None]
    cadence = definition.reviews.weekly_status
    assert cadence.every is None and cadence.rule.of is Period.quarter and cadence.rule.minutes == 90
    # ann has no zone of her own: her party's; ben has his own; abe's party has none: UTC (None).
    assert definition.timezone_of("ann") == "Europe/London"
    assert definition.timezone_of("ben") == "America/New_York"
    assert parse(MINIMAL).timezone_of("ben") is None
    assert cadence.rule.describe() == "the first Tuesday of each quarter at 15:00 Europe/Berlin (90 min)"


def test_the_every_form_keeps_working_unchanged() -> None:
    definition = parse(MINIMAL)
    assert str(definition.reviews.weekly_status.every) == "1w" and definition.reviews.weekly_status.rule is None


@pytest.mark.parametrize(
    ("party", "person", "path", "message", "written"),
    [
        ("Europe/Lodnon", None, "parties.0.timezone", "did you mean 'Europe/London'", "timezone: Europe/Lodnon"),
        ("europe/london", None, "parties.0.timezone", "case-sensitive, did you mean 'Europe/London'", "timezone:"),
        ("EST", None, "parties.0.timezone", "legacy zone name", "timezone: EST"),
        (None, "Mars/Olympus_Mons", "parties.1.stakeholders.0.timezone", "unknown time zone 'Mars/Olympus_Mons'",
         "timezone: Mars/Olympus_Mons"),
        ("'<script>'", None, "parties.0.timezone", "is not a time zone name", "timezone:"),
    ],
)
def test_a_bad_zone_is_reported_at_its_line(tmp_path: Path, party, person, path, message, written) -> None:
    text = with_zones(party, person)
    [issue] = validate(tmp_path, text)
    assert issue["path"] == path and message in issue["message"]
    assert written in written_at(text, issue)


@pytest.mark.parametrize(
    ("cadence", "path", "message", "written"),
    [
        ('    rule: {weekdays: [monday], at: "10:00", zone: Europe/Londn}\n    inputs_due: 2d\n',
         "reviews.weekly_status.rule.zone", "did you mean 'Europe/London'", "rule:"),
        ("    rule: {weekdays: [monday], at: 10:00, zone: Europe/London}\n    inputs_due: 2d\n",
         "reviews.weekly_status.rule.at", 'write the time in quotes, e.g. at: "10:00"', "rule:"),
        ('    rule: {weekdays: [monday, friday], nth: first, at: "10:00", zone: UTC}\n    inputs_due: 2d\n',
         "reviews.weekly_status.rule.weekdays", "nth needs exactly one weekday", "rule:"),
        ('    every: 1w\n    rule: {weekdays: [monday], at: "10:00", zone: UTC}\n    inputs_due: 2d\n',
         "reviews.weekly_status.rule", "not both", "rule:"),
        ("    inputs_due: 2d\n", "reviews.weekly_status", "give either every", "weekly_status:"),
        # Mondays and Tuesdays are one day apart: inputs asked for 2 days before a meeting would
        # open the next review before the last one met.
        ('    rule: {weekdays: [monday, tuesday], at: "10:00", zone: UTC}\n    inputs_due: 2d\n',
         "reviews.weekly_status.inputs_due", "as close as 1 day(s) apart", "inputs_due: 2d"),
    ],
)
def test_a_bad_rule_is_reported_at_its_line(tmp_path: Path, cadence, path, message, written) -> None:
    text = with_zones(None, None, cadence)
    [issue] = validate(tmp_path, text)
    assert issue["path"] == path and message in issue["message"], issue.group(0)
    assert written in written_at(text, issue)


def test_every_problem_is_reported_not_just_the_first() -> None:
    text = with_zones("Nowhere/Town", "Europe/Pariss", '    rule: {weekdays: [monday], at: "10:00", zone: Asia/Tokio}\n'
                                                       "    inputs_due: 2d\n")
    with pytest.raises(DefinitionError) as exc:
        parse(text, "p.yaml")
    paths = [i.path for i in exc.value.issues]
    assert paths == ["parties.0.timezone", "parties.1.stakeholders.0.timezone", "reviews.weekly_status.rule.zone"]


@pytest.mark.parametrize(
    ("rule", "days"),
    [
        ('{weekdays: [monday], at: "10:00", zone: UTC}', 7),
        ('{weekdays: [monday, thursday], at: "10:00", zone: UTC}', 3),  # Thursday to Monday is 4
        ('{weekdays: [monday, thursday], interval: 2, at: "10:00", zone: UTC}', 3),  # then 11 to the next
        ('{weekdays: [friday, monday], at: "10:00", zone: UTC}', 3),  # Friday to Monday, in any order
        ('{weekdays: [tuesday], nth: first, at: "15:00", zone: UTC}', 28),
        ('{day_of_month: 31, interval: 2, at: "15:00", zone: UTC}', 56),
        ('{weekdays: [tuesday], nth: first, of: quarter, at: "15:00", zone: UTC}', 84),
    ],
)
def test_the_shortest_gap_between_meetings(rule: str, days: int) -> None:
    assert shortest_gap(CalendarRule.model_validate(yaml.safe_load(rule))) == timedelta(days=days)


@pytest.mark.parametrize(
    ("rule", "said"),
    [
        ('{weekdays: [monday], at: "10:00", minutes: 30, zone: Europe/London}', "Monday, each week at 10:00 Europe/London (30 min)"),
        ('{weekdays: [monday, thursday], interval: 2, at: "09:30", zone: Asia/Kolkata}',
         "Monday and Thursday, every 2 weeks at 09:30 Asia/Kolkata (60 min)"),
        ('{day_of_month: -1, at: "16:00", zone: America/New_York}', "the last day of each month at 16:00 America/New_York (60 min)"),
        ('{day_of_month: 15, of: quarter, at: "16:00", zone: UTC}', "day 15 of each quarter at 16:00 UTC (60 min)"),
        ('{weekdays: [friday], nth: last, at: "16:00", zone: UTC}', "the last Friday of each month at 16:00 UTC (60 min)"),
    ],
)
def test_a_rule_is_described_in_words(rule: str, said: str) -> None:
    assert CalendarRule.model_validate(yaml.safe_load(rule)).describe() == said
