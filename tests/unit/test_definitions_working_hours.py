"""Working-hours windows in definition files: what `accord validate` says, and whose window applies.

A party may give its people's working day (``working_hours: {start: "08:00", end: "16:30"}``),
a stakeholder their own; without one it is 09:00-17:00, as before windows could be set.
"""

from __future__ import annotations

import re
from datetime import date, time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from accord.cli import app
from accord.logic import working_hours
from definitions.loader import parse
from tests.support.paths import DATA
from workflows.toolkit.hours import working_hours_of

MINIMAL = (DATA / "minimal.yaml").read_text(encoding="utf-8")
ISSUE = re.compile(r"^(?P<file>[^:\s][^:]*\.yaml):(?P<line>\d+): (?P<path>[^:]+): (?P<message>\S.*)$")


def with_windows(party: str | None = None, person: str | None = None) -> str:
    text = MINIMAL
    if party is not None:
        text = text.replace("    name: Alpha Ltd\n", f"    name: Alpha Ltd\n    timezone: Europe/London\n    working_hours: {party}\n")
    if person is not None:
        text = text.replace("        email: ann@alpha.example\n", f"        email: ann@alpha.example\n        working_hours: {person}\n")
    return text


def validate(tmp_path: Path, text: str) -> list[re.Match[str]]:
    file = tmp_path / "partnership.yaml"
    file.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(file)])
    lines = result.stdout.splitlines()
    assert all(ISSUE.match(line) for line in lines), lines
    assert result.exit_code == (1 if lines else 0), result.output
    return [m for line in lines if (m := ISSUE.match(line))]


def test_a_party_window_applies_to_its_people_and_a_person_window_overrides_it(tmp_path: Path) -> None:
    text = with_windows('{start: "08:00", end: "16:30"}', '{start: "07:00", end: "15:00"}')
    assert validate(tmp_path, text) == []
    definition = parse(text)
    assert definition.working_hours_of("ann").describe() == "07:00-15:00"  # her own
    assert definition.working_hours_of("abe").describe() == "08:00-16:30"  # Alpha's
    assert definition.working_hours_of("ben") is None  # Beta gives none: 09:00-17:00
    hours = {who: working_hours_of(definition, who, {}) for who in ("ann", "abe", "ben")}
    assert (hours["abe"].window.start, hours["abe"].window.end) == (time(8), time(16, 30))
    assert hours["abe"].zone == "Europe/London"
    assert hours["ben"].window == working_hours.Window()


def test_a_definition_without_windows_keeps_nine_to_five() -> None:
    definition = parse(MINIMAL)
    assert all(definition.working_hours_of(who) is None for who in definition.stakeholders())
    assert working_hours_of(definition, "ann", {}).window == working_hours.Window(time(9), time(17))


@pytest.mark.parametrize(
    ("window", "says"),
    [
        ('{start: "17:00", end: "09:00"}', "working hours end after they start on the same day: 17:00-09:00"),
        ('{start: "09:00", end: "09:00"}', "working hours end after they start on the same day: 09:00-09:00"),
        ('{start: "09:00", end: "09:30"}', "are 30 minutes a day; give at least 60 minutes"),
    ],
)
def test_a_window_that_ends_before_it_starts_or_is_too_short_is_refused_where_it_is_written(
    tmp_path: Path, window: str, says: str
) -> None:
    text = with_windows(person=window)
    [issue] = validate(tmp_path, text)
    assert issue["path"] == "parties.0.stakeholders.0.working_hours.end"
    assert says in issue["message"]
    assert "working_hours" in text.splitlines()[int(issue["line"]) - 1]


@pytest.mark.parametrize(
    ("window", "says"),
    [
        ("{start: 08:00, end: 16:00}", "is a number, not a time of day: write the time in quotes"),
        ('{start: "8am", end: "16:00"}', "is not a time of day"),
        ('{start: "24:00", end: "16:00"}', "is not a time of day"),
        ('{start: "08:00", end: "16:00", days: 5}', "days"),
    ],
)
def test_what_is_not_a_time_of_day_is_refused_with_how_to_write_one(tmp_path: Path, window: str, says: str) -> None:
    issues = validate(tmp_path, with_windows(party=window))
    assert issues and any(says in issue["message"] or says in issue["path"] for issue in issues), issues
    assert all(issue["path"].startswith("parties.0.working_hours") for issue in issues)


def test_every_window_validate_accepts_can_be_built_by_the_workflow(tmp_path: Path) -> None:
    # The bound that matters: what passes `accord validate` never fails the workflow's Window.
    for start, end in [("00:00", "23:59"), ("22:00", "23:00"), ("08:15", "09:15")]:
        text = with_windows(party=f'{{start: "{start}", end: "{end}"}}')
        assert validate(tmp_path, text) == []
        hours = working_hours_of(parse(text), "abe", {})
        opens, closes = hours.hours_on(date(2026, 3, 4)) or (None, None)  # a Wednesday
        assert opens is not None and closes is not None
        assert f"{opens.astimezone(hours.tz):%H:%M}-{closes.astimezone(hours.tz):%H:%M}" == f"{start}-{end}"
