"""Partnership definitions: samples, the broken-definition corpus, and durations.

Every file in ``tests/data/broken`` is ``tests/data/minimal.yaml`` with one mistake and
a first line ``# expect: <field.path> | <substring of the message>``: the loader must
report that path with that message, on the line where the field is written.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

import definitions
from definitions.durations import Duration, DurationField
from definitions.loader import DefinitionError, Issue, parse, validate_files
from tests.support.paths import DATA

MINIMAL = DATA / "minimal.yaml"
BROKEN = sorted((DATA / "broken").glob("*.yaml"))
SAMPLES = sorted(definitions.SAMPLES.glob("*.yaml"))


# --- helpers ----------------------------------------------------------------------


def expectation(path: Path) -> tuple[str, str]:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    m = re.fullmatch(r"#\s*expect:\s*(?P<path>[^|]+?)\s*\|\s*(?P<message>.+?)\s*", first)
    assert m, f"{path.name}: first line must be '# expect: <field.path> | <message substring>'"
    return m["path"], m["message"]


def _key_pattern(key: str) -> re.Pattern[str]:
    # `key:` as a block key (`  key:` / `- key:`) or inside a flow mapping (`{key: 1}`).
    return re.compile(rf"(?:^|[\s{{,-]){re.escape(key)}\s*:")


def check_line(text: str, issue: Issue) -> bool:
    """Assert the issue's line is where its field is written; False where that cannot be told.

    A missing field is reported at its parent. A list item is on a line starting with
    ``- `` or inside a flow list ``[...]``. A key is only checked when it is written
    somewhere in the file (a rule about an absent section points at the nearest parent).
    """
    if issue.path.startswith("("):
        return False
    parts = issue.path.split(".")
    if issue.message == "required field is missing":
        parts = parts[:-1]
    if not parts:
        return False
    lines = text.splitlines()
    assert 1 <= issue.line <= len(lines), f"line {issue.line} is outside the file"
    line = lines[issue.line - 1]
    last = parts[-1]
    if last.isdigit():
        assert line.lstrip().startswith("- ") or "[" in line, f"line {issue.line} {line!r} is not a list item ({issue})"
        return True
    key = _key_pattern(last)
    if not any(key.search(x) for x in lines if not x.lstrip().startswith("#")):
        return False
    assert key.search(line), f"line {issue.line} {line!r} does not write {last!r} ({issue})"
    return True


def issues_of(text: str) -> list[Issue]:
    with pytest.raises(DefinitionError) as exc:
        parse(text, "test.yaml")
    return exc.value.issues


def minimal_text() -> str:
    return MINIMAL.read_text(encoding="utf-8")


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


# --- valid definitions ------------------------------------------------------------


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_is_valid(path: Path) -> None:
    assert validate_files([path]) == []
    d = definitions.load(path)
    assert len(d.parties) >= 2
    for s in d.stakeholders():
        assert d.party_of(s) in d.parties


def test_samples_exist() -> None:
    names = {p.name for p in SAMPLES}
    assert {
        "public-sector-it-modernisation.yaml",
        "consulting-creative-agency.yaml",
        "informal-referral-partnership.yaml",
    } <= names


def test_informal_sample_is_light() -> None:
    d = definitions.load(definitions.SAMPLES / "informal-referral-partnership.yaml")
    assert d.formality == "informal"
    assert d.mou is None
    assert 1 <= len(d.screening.checklist) <= 2
    assert len(d.escalation.ladder) == 2


def test_consulting_sample_is_formal() -> None:
    d = definitions.load(definitions.SAMPLES / "consulting-creative-agency.yaml")
    assert d.formality == "formal"
    assert d.mou is not None and d.mou.policy in ("quorum", "all")
    assert d.mou.clauses.intellectual_property and d.mou.clauses.publication_rights
    assert all(getattr(d.reviews, name) is not None for name in type(d.reviews).model_fields)
    assert 2 <= len(d.escalation.ladder) <= 3


def test_minimal_is_valid() -> None:
    assert validate_files([MINIMAL]) == []


# --- the broken corpus ------------------------------------------------------------


def test_corpus_is_large_enough() -> None:
    assert len(BROKEN) >= 24


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_definition_is_reported(path: Path) -> None:
    expected_path, expected_message = expectation(path)
    issues = validate_files([path])
    found = [i for i in issues if i.path == expected_path and expected_message in i.message]
    assert found, f"expected {expected_path}: ...{expected_message}... in:\n" + "\n".join(map(str, issues))
    text = path.read_text(encoding="utf-8")
    for issue in issues:
        assert issue.file == str(path)
        check_line(text, issue)


def test_lines_are_checked_for_most_of_the_corpus() -> None:
    # Guard the generic line check above against silently checking nothing.
    checked = 0
    for path in BROKEN:
        expected_path, expected_message = expectation(path)
        text = path.read_text(encoding="utf-8")
        checked += any(
            check_line(text, i)
            for i in validate_files([path])
            if i.path == expected_path and expected_message in i.message
        )
    assert checked >= 0.7 * len(BROKEN)


def test_directory_reports_every_broken_file() -> None:
    files = {i.file for i in validate_files([DATA / "broken"])}
    assert files == {str(p) for p in BROKEN}


def _line_of(path: Path, needle: str, nth: int = 1) -> int:
    hits = [n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line]
    return hits[nth - 1]


@pytest.mark.parametrize(
    ("name", "path", "needle", "nth"),
    [
        # the second occurrence of the key is the mistake
        ("duplicate-yaml-key", "screening.go_no_go.deadline", "deadline: 4w", 1),
        ("yaml-syntax-error", "(yaml)", "title: Legal review: data", 1),
        ("tab-indentation", "(yaml)", "\t", 1),
        ("trigger-level-beyond-ladder", "escalation.triggers.red_status.level", "red_status:", 1),
        ("missing-required-field", "mou.deadline", "mou:", 1),
        ("signatory-missing-from-parties", "mou.signatories.1", "signatories: [ann, bea]", 1),
        ("duplicate-stakeholder-id", "parties.1.stakeholders.1.id", "- id: ben", 2),
        ("inputs-due-after-next-review", "reviews.weekly_status.inputs_due", "inputs_due: 10d", 1),
    ],
)
def test_reported_line(name: str, path: str, needle: str, nth: int) -> None:
    file = DATA / "broken" / f"{name}.yaml"
    lines = {i.line for i in validate_files([file]) if i.path == path}
    assert _line_of(file, needle, nth) in lines


def test_unclosed_bracket_names_where_it_opened() -> None:
    file = DATA / "broken" / "unclosed-bracket.yaml"
    [issue] = validate_files([file])
    assert f"(line {_line_of(file, 'participants: [ann, ben')})" in issue.message


def test_issue_format() -> None:
    [issue] = validate_files([DATA / "broken" / "bad-duration.yaml"])
    assert str(issue) == f"{issue.file}:{issue.line}: screening.checklist.0.due: {issue.message}"


# --- several mistakes at once -----------------------------------------------------


def test_several_rule_mistakes_are_all_reported() -> None:
    text = minimal_text()
    text = replace_once(text, "      owner: abe\n      due: 2w", "      owner: abby\n      due: 2w")
    text = replace_once(text, "    deadline: 3w\n", "    deadline: 3w\n    policy: quorum\n    quorum: 3\n")
    text = replace_once(text, "    inputs_due: 2d\n", "    inputs_due: 10d\n")
    text = replace_once(
        text, "      respond_within: 5d\n", "      respond_within: 5d\n  triggers:\n    imbalance: {level: 4}\n"
    )
    text = replace_once(text, "  notice: 2mo\n", "  notice: 1y\n")
    issues = issues_of(text)
    assert {i.path for i in issues} == {
        "screening.checklist.0.owner",
        "screening.go_no_go.quorum",
        "reviews.weekly_status.inputs_due",
        "escalation.triggers.imbalance.level",
        "renewal.notice",
    }
    assert [i.line for i in issues] == sorted(i.line for i in issues)
    for issue in issues:
        assert check_line(text, issue)


def test_several_schema_mistakes_are_all_reported() -> None:
    text = minimal_text()
    text = replace_once(text, "ben@beta.example", "ben(at)beta.example")
    text = replace_once(text, "      due: 2w\n", "      due: 2 weeks\n")
    text = replace_once(text, "    target: 10\n", "    target: ten\n")
    text = replace_once(text, "reviews:\n", "reveiws:\n")
    text = replace_once(text, "    deadline: 3w\n", "    deadline: 3w\n    deadline: 4w\n")
    issues = issues_of(text)
    assert {(i.path, i.message.split(" ")[0]) for i in issues} >= {
        ("parties.1.stakeholders.0.email", "String"),
        ("screening.checklist.0.due", "'2"),
        ("metrics.0.target", "Input"),
        ("reveiws", "unknown"),
        ("screening.go_no_go.deadline", "duplicate"),
    }
    assert len(issues) == 5
    for issue in issues:
        check_line(text, issue)


def test_rules_across_fields_are_reported_despite_type_errors() -> None:
    """Type errors and rule problems elsewhere, in one run (what `accord validate` promises);
    workflow code, which judges amendments as it always has, still stops at the type errors."""
    text = minimal_text()
    text = replace_once(text, "ben@beta.example", "ben(at)beta.example")  # type errors...
    text = replace_once(text, "    target: 10\n", "    target: ten\n")
    text = replace_once(text, "reviews:\n", "reveiws:\n")
    text = replace_once(text, "      due: 2w\n", "      due: 2 weeks\n")
    text = replace_once(text, "    deadline: 3w\n", "    deadline: 3w\n    policy: quorum\n    quorum: 3\n")  # ...and rules
    text = replace_once(
        text, "      respond_within: 5d\n", "      respond_within: 5d\n  triggers:\n    imbalance: {level: 4}\n"
    )
    text = replace_once(text, "  notice: 2mo\n", "  notice: 1y\n")
    types = {"parties.1.stakeholders.0.email", "screening.checklist.0.due", "metrics.0.target", "reveiws"}
    rules = {"screening.go_no_go.quorum", "escalation.triggers.imbalance.level", "renewal.notice"}

    with pytest.raises(DefinitionError) as everything:
        parse(text, "test.yaml", all_problems=True)
    issues = everything.value.issues
    assert {i.path for i in issues} == types | rules
    assert [i.line for i in issues] == sorted(i.line for i in issues)
    for issue in issues:
        check_line(text, issue)
    assert {i.path for i in issues_of(text)} == types


def test_the_stand_ins_for_wrong_values_make_up_no_problem() -> None:
    """Each broken file has one mistake: judging the rest despite a type error finds nothing more."""
    for path in BROKEN:
        assert validate_files([path]) == validate_files([path], all_problems=False), path.name
    # A wrong default reminder: its stand-in must not make every task's deadline look too short.
    text = minimal_text().replace("screening:\n", "reminders: {before: [soon, 1d]}\nscreening:\n", 1)
    with pytest.raises(DefinitionError) as found:
        parse(text, "test.yaml", all_problems=True)
    assert [i.path for i in found.value.issues] == ["reminders.before.0"]


def test_a_wrong_shape_still_reports_its_type_errors() -> None:
    """The limit: a section of the wrong shape has no stand-in; its type errors are reported alone."""
    text = replace_once(minimal_text(), "      owner: abe\n      due: 2w", "      owner: abby\n      due: 2w")
    text = text.replace("screening:\n", "screening: 5\nold_screening:\n", 1)
    with pytest.raises(DefinitionError) as found:
        parse(text, "test.yaml", all_problems=True)
    assert {i.path for i in found.value.issues} == {"screening", "old_screening"}


def test_rule_messages_read_right() -> None:
    text = minimal_text().replace("    target: 10\n", "    target: -5\n", 1)
    assert [i.message for i in issues_of(text)] == ["target -5.0 is not an increase from baseline 0.0"]
    # A deadline equal to the first default reminder (2d) is not "shorter" than it.
    text = replace_once(minimal_text(), "      due: 2w\n", "      due: 2d\n")
    assert [i.message for i in issues_of(text)] == ["deadline 2d is the same as the default first reminder (2d before it)"]
    text = replace_once(minimal_text(), "      due: 2w\n", "      due: 1d\n")
    assert [i.message for i in issues_of(text)] == ["deadline 1d is shorter than the default first reminder (2d before it)"]


def test_validate_files_collects_across_files() -> None:
    files = [DATA / "broken" / "bad-email.yaml", MINIMAL, DATA / "broken" / "single-party.yaml"]
    assert [Path(i.file).name for i in validate_files(files)] == ["bad-email.yaml", "single-party.yaml"]


def test_unreadable_file(tmp_path: Path) -> None:
    [issue] = validate_files([tmp_path / "missing.yaml"])
    assert issue.path == "(file)" and "cannot read" in issue.message


# --- durations --------------------------------------------------------------------

DAY = 86400


@pytest.mark.parametrize(
    ("text", "months", "seconds"),
    [
        ("30s", 0, 30),
        ("30m", 0, 1800),
        ("15min", 0, 900),
        ("4h", 0, 4 * 3600),
        ("36h", 0, 36 * 3600),
        ("5d", 0, 5 * DAY),
        ("2w", 0, 14 * DAY),
        ("6mo", 6, 0),
        ("1y", 12, 0),
        ("1w2d", 0, 9 * DAY),
        ("1y6mo", 18, 0),
        ("2d12h", 0, 2 * DAY + 12 * 3600),
        ("1mo2w", 1, 14 * DAY),
        (" 1w 2d ", 0, 9 * DAY),
        ("2W", 0, 14 * DAY),
        ("0d", 0, 0),
    ],
)
def test_parse_human(text: str, months: int, seconds: int) -> None:
    assert Duration.parse(text) == Duration(months=months, seconds=seconds)


@pytest.mark.parametrize(
    ("text", "months", "seconds"),
    [
        ("P2W", 0, 14 * DAY),
        ("P1M", 1, 0),
        ("PT4H", 0, 4 * 3600),
        ("PT30M", 0, 1800),
        ("P1Y", 12, 0),
        ("P3D", 0, 3 * DAY),
        ("P1Y2M3DT4H5M6S", 14, 3 * DAY + 4 * 3600 + 5 * 60 + 6),
        ("p1d", 0, DAY),
        ("P0D", 0, 0),
    ],
)
def test_parse_iso(text: str, months: int, seconds: int) -> None:
    assert Duration.parse(text) == Duration(months=months, seconds=seconds)


@pytest.mark.parametrize(
    "text",
    ["", "   ", "5", "d", "2 weeks", "5 days", "1.5d", "-1d", "1d 2", "abc"]
    + ["P", "PT", "P1DT", "P1H", "PT1D", "6M", "1M"],
)
def test_bad_durations_raise(text: str) -> None:
    with pytest.raises(ValueError):
        Duration.parse(text)


def test_uppercase_m_is_ambiguous_but_iso_months_are_fine() -> None:
    with pytest.raises(ValueError, match="ambiguous.*6mo"):
        Duration.parse("6M")
    assert Duration.parse("P6M") == Duration(months=6)
    assert Duration.parse("PT6M") == Duration(seconds=360)
    assert Duration.parse("6MO") == Duration(months=6)
    assert Duration.parse("6MIN") == Duration(seconds=360)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("1mo", datetime(2023, 1, 31), datetime(2023, 2, 28)),
        ("1mo", datetime(2024, 1, 31), datetime(2024, 2, 29)),
        ("1mo", datetime(2024, 3, 31), datetime(2024, 4, 30)),
        ("1mo", datetime(2024, 12, 15, 9, 30), datetime(2025, 1, 15, 9, 30)),
        ("13mo", datetime(2024, 12, 1), datetime(2026, 1, 1)),
        ("1y", datetime(2024, 2, 29), datetime(2025, 2, 28)),
        ("3mo", datetime(2024, 11, 30), datetime(2025, 2, 28)),
        ("1mo1d", datetime(2024, 1, 31), datetime(2024, 3, 1)),
        ("2w", datetime(2024, 2, 20), datetime(2024, 3, 5)),
        ("36h", datetime(2024, 1, 1, 12), datetime(2024, 1, 3)),
    ],
)
def test_after_is_calendar_arithmetic(text: str, start: datetime, end: datetime) -> None:
    assert Duration.parse(text).after(start) == end


@pytest.mark.parametrize(
    ("text", "end", "start"),
    [
        ("1mo", datetime(2024, 3, 31), datetime(2024, 2, 29)),
        ("1mo", datetime(2023, 3, 31), datetime(2023, 2, 28)),
        ("1mo", datetime(2024, 1, 15), datetime(2023, 12, 15)),
        ("1y", datetime(2025, 2, 28), datetime(2024, 2, 28)),
        ("2w", datetime(2024, 3, 5), datetime(2024, 2, 20)),
        ("1d", datetime(2024, 3, 1), datetime(2024, 2, 29)),
        ("1mo1d", datetime(2024, 3, 1), datetime(2024, 1, 29)),
    ],
)
def test_before(text: str, end: datetime, start: datetime) -> None:
    assert Duration.parse(text).before(end) == start


def test_before_undoes_after_when_no_day_is_clamped() -> None:
    t = datetime(2024, 5, 10, 8, 0, tzinfo=UTC)
    for text in ["1mo", "6mo", "1y", "1w2d", "1mo2w", "P1Y2M3DT4H"]:
        d = Duration.parse(text)
        assert d.before(d.after(t)) == t
        assert d.after(t).tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "rendered"),
    [("36h", "1d12h"), ("14mo", "1y2mo"), ("P1Y2M", "1y2mo"), ("P2W", "2w"), ("90m", "1h30m"), ("0d", "0s")],
)
def test_str(text: str, rendered: str) -> None:
    assert str(Duration.parse(text)) == rendered


@pytest.mark.parametrize("text", ["30s", "15min", "4h", "5d", "1w2d", "6mo", "1y", "1y6mo2w3d4h5m6s", "P1Y2M3DT4H5M6S"])
def test_str_round_trip(text: str) -> None:
    d = Duration.parse(text)
    assert Duration.parse(str(d)) == d


@given(st.integers(0, 600), st.integers(0, 10**9))
def test_str_round_trip_any(months: int, seconds: int) -> None:
    d = Duration(months=months, seconds=seconds)
    assert Duration.parse(str(d)) == d


def test_approx_and_zero() -> None:
    assert Duration.parse("1mo").approx == timedelta(days=30)
    assert Duration.parse("1y").approx == timedelta(days=365)
    assert Duration.parse("12mo").approx == Duration.parse("1y").approx
    assert Duration.parse("1y1mo").approx == timedelta(days=395)
    assert Duration.parse("1w2d").approx == timedelta(days=9)
    assert Duration.parse("0w").is_zero and Duration.parse("P0D").is_zero
    assert not Duration.parse("1s").is_zero


def test_duration_field() -> None:
    adapter = TypeAdapter(DurationField)
    assert adapter.validate_python("2w") == Duration(seconds=14 * DAY)
    assert adapter.validate_python(timedelta(hours=4)) == Duration(seconds=4 * 3600)
    assert adapter.validate_python(Duration(months=1)) == Duration(months=1)
    assert adapter.dump_python(Duration(months=14)) == "1y2mo"
    assert adapter.dump_json(Duration(seconds=9 * DAY)) == b'"1w2d"'
    for bad in ["2 weeks", 14, None, "6M"]:
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)
