"""`accord validate` and `accord schema`: what a person sees in the terminal."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import definitions
from accord.cli import app
from tests.support.paths import DATA

BROKEN = DATA / "broken"
ISSUE = re.compile(r"^(?P<file>[^:\s][^:]*\.ya?ml):(?P<line>\d+): (?P<path>[^:]+): (?P<message>\S.*)$")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_validate_reports_every_broken_file_one_problem_per_line(runner: CliRunner) -> None:
    result = runner.invoke(app, ["validate", str(BROKEN)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output

    lines = result.stdout.splitlines()
    assert lines, "no problems printed"
    bad = [line for line in lines if not ISSUE.match(line)]
    assert bad == [], f"lines not in file:line: field.path: message form: {bad}"

    files = {Path(ISSUE.match(line)["file"]).name for line in lines}
    expected = {p.name for p in BROKEN.glob("*.yaml")}
    assert files == expected
    for line in lines:
        m = ISSUE.match(line)
        assert int(m["line"]) >= 1
        assert Path(m["file"]).exists()

    # The summary goes to stderr, so stdout stays one problem per line for scripts.
    assert f"{len(lines)} problem(s) found" in result.stderr


def test_validate_points_at_the_field_and_line_of_a_known_mistake(runner: CliRunner) -> None:
    file = BROKEN / "quorum-larger-than-approvers.yaml"
    result = runner.invoke(app, ["validate", str(file)])
    assert result.exit_code == 1
    [line] = result.stdout.splitlines()
    m = ISSUE.match(line)
    assert m and m["path"] == "screening.go_no_go.quorum"
    assert "quorum 3 is more than the 2 approvers" in m["message"]
    written = file.read_text(encoding="utf-8").splitlines()[int(m["line"]) - 1]
    assert "quorum" in written


def test_validate_samples_is_clean(runner: CliRunner) -> None:
    samples = sorted(definitions.SAMPLES.glob("*.yaml"))
    assert samples
    result = runner.invoke(app, ["validate", str(definitions.SAMPLES)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == ""
    assert "ok" in result.stderr


def test_validate_several_files_mixing_good_and_bad(runner: CliRunner) -> None:
    good = min(definitions.SAMPLES.glob("*.yaml"))
    bad = BROKEN / "bad-email.yaml"
    result = runner.invoke(app, ["validate", str(good), str(bad)])
    assert result.exit_code == 1
    assert {Path(ISSUE.match(line)["file"]).name for line in result.stdout.splitlines()} == {"bad-email.yaml"}


def test_validate_a_missing_file_says_so_without_a_traceback(runner: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-definition.yaml"
    result = runner.invoke(app, ["validate", str(missing)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    [line] = result.stdout.splitlines()
    assert line.startswith(f"{missing}:1: ")
    assert "cannot read" in line
    assert "No such file" in line


def test_validate_without_arguments_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_schema_prints_the_json_schema(runner: CliRunner) -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    assert schema["title"] == "Accord partnership definition"
    assert "parties" in schema["properties"]
    assert "parties" in schema.get("required", [])


def test_schema_output_option_writes_the_file(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "accord.schema.json"
    result = runner.invoke(app, ["schema", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == ""
    written = json.loads(target.read_text(encoding="utf-8"))
    assert written["title"] == "Accord partnership definition"
    assert "parties" in written["properties"]
    # The same schema as the one printed.
    assert written == json.loads(runner.invoke(app, ["schema"]).stdout)
    assert str(target) in result.stderr
