"""The limits of rules version 1 (definitions/limits.py): durations, text, lists, size and the
MOU template, each at its boundary (exactly at a limit accepted, one past it refused); the
old rules (version 0) unchanged; short durations only where the deployment allows them."""

from __future__ import annotations

import types
import typing
from enum import Enum
from pathlib import Path

import httpx
import pytest
import yaml
from pydantic import BaseModel
from typer.testing import CliRunner

import definitions
from accord import apikeys
from accord.cli import app as cli
from accord.client import Accord, DefinitionInvalid
from accord.config import Settings
from accord.documents.mou import template_folders
from accord.web.app import create_app
from definitions import checks, limits
from definitions.durations import Duration
from definitions.loader import DefinitionError, parse, validate_files
from definitions.schema import (
    ChecklistItem,
    Deliverable,
    EscalationLevel,
    Metric,
    OpsContact,
    PartnershipDefinition,
    Party,
    Reminders,
    Stakeholder,
)
from tests.support.paths import DATA, ROOT

MINIMAL = DATA / "minimal.yaml"
SECOND = Duration(seconds=1)
MARKUP = "<b>&amp;</b> \"q\" 'a' {{ x }} {% raw %} <script>alert(1)</script> [l](javascript:x) é 漢 🙂"


def base() -> PartnershipDefinition:
    return definitions.load(MINIMAL)


def at(d: PartnershipDefinition, path: str, *, allow_short: bool = False) -> list[str]:
    """The messages reported at ``path`` (dotted)."""
    return [p.message for p in checks.problems(d, allow_short=allow_short) if p.dotted == path]


def plus(a: Duration, b: Duration) -> Duration:
    return Duration(months=a.months + b.months, seconds=a.seconds + b.seconds)


def minus_a_second(d: Duration) -> Duration:
    return Duration(months=d.months, seconds=d.seconds - 1)


# --- every field is classified -----------------------------------------------------


def _field_kinds(annotation) -> set[str]:
    """What kinds of values a field annotation can hold (str, duration, list, dict, model)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _field_kinds(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_field_kinds(a) for a in typing.get_args(annotation)))
    if origin is list:
        return {"list"} | {f"item-{k}" for k in _field_kinds(typing.get_args(annotation)[0])}
    if origin is dict:
        return {"dict"}
    if origin is typing.Literal or annotation is type(None):
        return set()
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return set()
    if annotation is str:
        return {"str"}
    if annotation is Duration:
        return {"duration"}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {"model"}
    return set()


def _models(model: type[BaseModel], seen: set[type]) -> None:
    seen.add(model)
    for info in model.model_fields.values():
        for arg in [info.annotation, *typing.get_args(info.annotation)]:
            for inner in [arg, *typing.get_args(arg)]:
                if isinstance(inner, type) and issubclass(inner, BaseModel) and inner not in seen:
                    _models(inner, seen)


def test_every_field_of_the_schema_has_a_limit() -> None:
    """A field added to the schema without a bound fails here (and would fail the check's lookup)."""
    seen: set[type] = set()
    _models(PartnershipDefinition, seen)
    unbounded = []
    for model in seen:
        for name, info in model.model_fields.items():
            kinds = _field_kinds(info.annotation)
            if {"str", "item-str"} & kinds and name not in limits.TEXTS and name not in limits.REFERENCES:
                unbounded.append(f"{model.__name__}.{name} (text)")
            if {"duration", "item-duration"} & kinds and name not in limits.DURATIONS:
                unbounded.append(f"{model.__name__}.{name} (duration)")
            # (A list the schema itself caps, such as a calendar rule's seven weekdays, is bounded.)
            capped = any(getattr(m, "max_length", None) is not None for m in info.metadata)
            if {"list", "dict"} & kinds and name not in limits.LISTS and not capped:
                unbounded.append(f"{model.__name__}.{name} (list)")
    assert unbounded == []


# --- durations ---------------------------------------------------------------------

# (dotted path, how to set it, its limit)
DURATION_FIELDS = [
    ("screening.checklist.0.due", lambda d, v: setattr(d.screening.checklist[0], "due", v), limits.DEADLINE),
    ("screening.go_no_go.deadline", lambda d, v: setattr(d.screening.go_no_go, "deadline", v), limits.DEADLINE),
    ("screening.alignment.due", lambda d, v: setattr(d.screening.alignment, "due", v), limits.DEADLINE),
    ("mou.deadline", lambda d, v: setattr(d.mou, "deadline", v), limits.DEADLINE),
    ("reviews.weekly_status.every", lambda d, v: setattr(d.reviews.weekly_status, "every", v), limits.CADENCE),
    ("reviews.weekly_status.inputs_due", lambda d, v: setattr(d.reviews.weekly_status, "inputs_due", v), limits.DEADLINE),
    ("metrics.0.cadence", lambda d, v: setattr(d.metrics[0], "cadence", v), limits.CADENCE),
    ("metrics.0.target_by", lambda d, v: setattr(d.metrics[0], "target_by", v), limits.HORIZON),
    ("escalation.ladder.0.respond_within", lambda d, v: setattr(d.escalation.ladder[0], "respond_within", v),
     limits.DEADLINE),
    ("renewal.term", lambda d, v: setattr(d.renewal, "term", v), limits.TERM),
    ("renewal.notice", lambda d, v: setattr(d.renewal, "notice", v), limits.DEADLINE),
    ("reminders.overdue_every", lambda d, v: setattr(d.reminders, "overdue_every", v), limits.REMINDER),
    ("reminders.escalate_after", lambda d, v: setattr(d.reminders, "escalate_after", v), limits.REMINDER),
    ("reminders.before.0", lambda d, v: setattr(d.reminders, "before", [v]), limits.REMINDER),
]
IDS = [f[0] for f in DURATION_FIELDS]


def limit_messages(messages: list[str]) -> list[str]:
    return [m for m in messages if m.startswith(("is longer than", "is shorter than", checks.ZERO))]


@pytest.mark.parametrize(("path", "put", "limit"), DURATION_FIELDS, ids=IDS)
def test_longest_duration_is_accepted_and_a_second_more_refused(path, put, limit) -> None:
    d = base()
    put(d, limit.longest)
    assert limit_messages(at(d, path)) == []
    put(d, plus(limit.longest, SECOND))
    assert limit_messages(at(d, path)) == [f"is longer than {limit.longest}, the longest {limit.kind} a partnership can have"]


@pytest.mark.parametrize(("path", "put", "limit"), [f for f in DURATION_FIELDS if f[2].shortest], ids=[
    f[0] for f in DURATION_FIELDS if f[2].shortest])
def test_shortest_duration_is_accepted_and_a_second_less_refused_unless_the_deployment_allows(path, put, limit) -> None:
    d = base()
    put(d, limit.shortest)
    assert limit_messages(at(d, path)) == []
    put(d, minus_a_second(limit.shortest))
    [message] = limit_messages(at(d, path))
    assert message.startswith(f"is shorter than {limit.shortest}, the shortest {limit.kind}")
    assert "allow_short_durations" in message
    assert limit_messages(at(d, path, allow_short=True)) == []
    put(d, Duration())
    assert limit_messages(at(d, path, allow_short=True)) == [checks.ZERO], "zero is never allowed"


@pytest.mark.parametrize(
    ("text", "refused"),
    [("P5Y", False), ("P60M", False), ("P1825D", False), ("P5YT1S", True), ("P1826D", True), ("5000y", True),
     ("PT1H", False), ("PT59M59S", True), ("60min", False), ("3599s", True)],
)
def test_iso_and_human_forms_are_bounded_alike(text: str, refused: bool) -> None:
    d = base()
    d.screening.go_no_go.deadline = Duration.parse(text)
    assert bool(limit_messages(at(d, "screening.go_no_go.deadline"))) == refused


def test_a_duration_too_long_even_to_compare_is_reported_not_raised() -> None:
    """Millions of years overflow timedelta in the old rules' comparisons; the new rules say
    what is wrong (the old ones raised OverflowError: a traceback in `accord validate`)."""
    d = base()
    d.screening.checklist[0].due = Duration.parse("99999999y")
    d.renewal.term = Duration.parse("P99999999Y")
    found = {p.dotted: p.message for p in checks.problems(d)}
    assert found["screening.checklist.0.due"].startswith("is longer than 5y")
    assert found["renewal.term"].startswith("is longer than 10y")
    with pytest.raises(OverflowError):
        checks.problems(d, rules=0)


def test_zero_is_refused_where_the_old_rules_missed_it_and_said_once_where_they_did_not() -> None:
    d = base()
    d.screening.checklist[0].reminders = Reminders(before=[Duration()], escalate_after=Duration())
    d.metrics[0].target_by = Duration()
    d.reminders.before = [Duration()]
    found = [(p.dotted, p.message) for p in checks.problems(d)]
    for path in ("screening.checklist.0.reminders.before.0", "screening.checklist.0.reminders.escalate_after",
                 "metrics.0.target_by", "reminders.before.0"):
        assert found.count((path, checks.ZERO)) == 1, path


# --- text --------------------------------------------------------------------------


def test_names_and_titles_up_to_the_limit_with_markup_are_accepted() -> None:
    d = base()
    name = (MARKUP * 10)[: limits.NAME.longest]
    d.name = name
    d.parties[0].stakeholders[0].name = name
    d.screening.checklist[0].title = name
    d.escalation.ladder[0].name = name
    d.description = (MARKUP + "\n\t") * 10
    assert checks.problems(d) == []


@pytest.mark.parametrize(
    ("path", "put", "limit"),
    [
        ("name", lambda d, v: setattr(d, "name", v), limits.NAME),
        ("parties.0.stakeholders.0.name", lambda d, v: setattr(d.parties[0].stakeholders[0], "name", v), limits.NAME),
        ("parties.1.role", lambda d, v: setattr(d.parties[1], "role", v), limits.NAME),
        ("screening.checklist.0.title", lambda d, v: setattr(d.screening.checklist[0], "title", v), limits.NAME),
        ("metrics.0.unit", lambda d, v: setattr(d.metrics[0], "unit", v), limits.NAME),
        ("description", lambda d, v: setattr(d, "description", v), limits.TEXT),
        ("screening.checklist.0.description", lambda d, v: setattr(d.screening.checklist[0], "description", v),
         limits.TEXT),
        ("screening.alignment.prompt", lambda d, v: setattr(d.screening.alignment, "prompt", v), limits.TEXT),
        ("mou.clauses.termination", lambda d, v: setattr(d.mou.clauses, "termination", v), limits.CLAUSE),
        ("mou.clauses.other.Audit", lambda d, v: setattr(d.mou.clauses, "other", {"Audit": v}), limits.CLAUSE),
    ],
)
def test_text_at_its_limit_is_accepted_and_one_character_more_refused(path, put, limit) -> None:
    d = base()
    put(d, "x" * limit.longest)
    assert at(d, path) == []
    put(d, "x" * (limit.longest + 1))
    assert at(d, path) == [f"is {limit.longest + 1:,} characters long; at most {limit.longest:,}"]


def test_a_clause_title_is_a_bounded_single_line_and_its_path_stays_one_line() -> None:
    d = base()
    d.mou.clauses.other = {"t" * limits.NAME.longest: "text"}
    assert checks.problems(d) == []
    d.mou.clauses.other = {"t" * (limits.NAME.longest + 1): "text", "Audit\n\x00<b>": "text"}
    found = {p.dotted: p.message for p in checks.problems(d)}
    assert found[f"mou.clauses.other.{'t' * 201}"] == "its title is 201 characters long; at most 200"
    key_path = "mou.clauses.other.Audit\\u000a\\u0000<b>"
    assert found[key_path].startswith("its title has a line break (U+000A) at character 6")
    assert all("\n" not in p.dotted for p in checks.problems(d))


@pytest.mark.parametrize(
    ("char", "kind"),
    [("\n", "a line break"), ("\r", "a line break"), ("\u2028", "a line break"), ("\x00", "a control character"),
     ("\x1b", "a control character"), ("\x85", "a control character"), ("\t", "a control character"),
     ("\u202e", "a bidirectional override"), ("\u202a", "a bidirectional override"),
     ("\u2066", "a bidirectional override"), ("\u2069", "a bidirectional override")],
    ids=lambda v: f"U+{ord(v):04X}" if len(v) == 1 else v,
)
def test_single_line_fields_refuse_breaks_controls_and_bidi_overrides(char: str, kind: str) -> None:
    d = base()
    d.parties[0].stakeholders[0].name = f"Ann{char}Alpha"
    d.screening.checklist[0].title = f"Legal{char}"
    d.ops[0].email = f"ops{char}@alpha.example" if char.strip() else d.ops[0].email
    found = {p.dotted: p.message for p in checks.problems(d)}
    assert found["parties.0.stakeholders.0.name"] == (
        f"has {kind} (U+{ord(char):04X}) at character 4; it must be one line of plain text")
    assert found["screening.checklist.0.title"].startswith(f"has {kind}")
    if char.strip():
        assert found["ops.0.email"].startswith(f"has {kind}")


def test_names_may_hold_what_real_names_hold() -> None:
    d = base()
    d.parties[0].name = "Société\u00a0Générale \u200fשלום\u200f 👨\u200d👩\u200d👧 O'Brien & Co. <Ltd>"
    assert checks.problems(d) == []


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\x9b"], ids=lambda c: f"U+{ord(c):04X}")
def test_multi_line_text_takes_lines_and_tabs_but_no_nul_or_other_controls(char: str) -> None:
    d = base()
    d.description = "Line one\r\nline two\n\tindented"
    d.mou.clauses.termination = "A\nB"
    assert checks.problems(d) == []
    d.description = f"Line one\n{char}"
    d.mou.clauses.other = {"Audit": f"x{char}"}
    found = {p.dotted: p.message for p in checks.problems(d)}
    assert found["description"] == f"has a control character (U+{ord(char):04X}) at character 10"
    assert found["mou.clauses.other.Audit"].startswith("has a control character")


def test_the_whole_definition_is_bounded() -> None:
    d = base()
    d.mou.clauses.other = {f"Clause {i}": "x" * limits.CLAUSE.longest for i in range(13)}
    [problem] = [p for p in checks.problems(d) if p.path == ()]
    assert problem.dotted == "(top level)" and "bytes as JSON; at most 128,000" in problem.message


# --- lists -------------------------------------------------------------------------


def add_people(d: PartnershipDefinition, n: int) -> list[str]:
    """n more stakeholders, alternating between the two parties; their ids."""
    ids = []
    for i in range(n):
        person = Stakeholder(id=f"p{i}", name=f"P {i}", email=f"p{i}@people.example", role="member")
        d.parties[i % 2].stakeholders.append(person)
        ids.append(person.id)
    return ids


def _checklist(n: int) -> list[ChecklistItem]:
    return [ChecklistItem(id=f"c{i}", title="T", owner="abe", due=Duration.parse("2w")) for i in range(n)]


LIST_FIELDS = {
    "ops": ("ops", lambda d, n: setattr(d, "ops", [OpsContact(name=f"O{i}", email=f"o{i}@ops.example")
                                                   for i in range(n)])),
    "parties": ("parties", lambda d, n: d.parties.extend(
        Party(id=f"x{i}", name="X", stakeholders=[Stakeholder(id=f"x{i}p", name="P", email=f"x{i}@x.example", role="r")])
        for i in range(n - 2))),
    "stakeholders": ("parties.0.stakeholders", lambda d, n: d.parties[0].stakeholders.extend(
        Stakeholder(id=f"s{i}", name="S", email=f"s{i}@s.example", role="r") for i in range(n - 2))),
    "checklist": ("screening.checklist", lambda d, n: setattr(d.screening, "checklist", _checklist(n))),
    "deliverables": ("launch.deliverables", lambda d, n: setattr(d.launch, "deliverables", [
        Deliverable(id=f"d{i}", title="D", owner="abe", definition_of_done="Done.", due=Duration.parse("1w"))
        for i in range(n)])),
    "metrics": ("metrics", lambda d, n: setattr(d, "metrics", [
        Metric(id=f"m{i}", name="M", owner="abe", unit="u", target=1, cadence=Duration.parse("1mo")) for i in range(n)])),
    "participants": ("screening.alignment.participants",
                     lambda d, n: setattr(d.screening.alignment, "participants", add_people(d, n))),
    "approvers": ("screening.go_no_go.approvers", lambda d, n: setattr(d.screening.go_no_go, "approvers", add_people(d, n))),
    "signatories": ("mou.signatories", lambda d, n: setattr(d.mou, "signatories", add_people(d, n))),
    "override_by": ("screening.alignment.override_by",
                    lambda d, n: setattr(d.screening.alignment, "override_by", add_people(d, n))),
    "ladder": ("escalation.ladder", lambda d, n: setattr(d.escalation, "ladder", [
        EscalationLevel(name=f"L{i}", contacts=["ann"], respond_within=Duration.parse("2d")) for i in range(n)])),
    "contacts": ("escalation.ladder.0.contacts", lambda d, n: setattr(d.escalation.ladder[0], "contacts", add_people(d, n))),
    "before": ("reminders.before", lambda d, n: setattr(d.reminders, "before", [Duration.parse(f"{i + 1}h")
                                                                                  for i in range(n)])),
    "other": ("mou.clauses.other", lambda d, n: setattr(d.mou.clauses, "other", {f"C{i}": "x" for i in range(n)})),
}


def test_every_list_limit_is_tested() -> None:
    assert set(LIST_FIELDS) == set(limits.LISTS)


@pytest.mark.parametrize("name", sorted(LIST_FIELDS))
def test_a_list_at_its_limit_is_accepted_and_one_more_refused(name: str) -> None:
    path, fill = LIST_FIELDS[name]
    most = limits.LISTS[name]
    d = base()
    fill(d, most)
    assert [p for p in checks.problems(d) if p.message.startswith(checks.TOO_MANY)] == []
    d = base()
    fill(d, most + 1)
    kind = "clauses" if name == "other" else "entries"
    assert at(d, path) == [f"has too many {kind}: {most + 1}; at most {most}"]


def test_thousands_of_entries_are_refused_without_the_quadratic_rules() -> None:
    d = base()
    ids = add_people(d, 3000)
    d.screening.alignment.participants = ids
    d.screening.checklist = _checklist(3000)
    found = {p.dotted: p.message for p in checks.problems(d)}
    assert found["screening.alignment.participants"] == "has too many entries: 3,000; at most 20"
    assert found["screening.checklist"] == "has too many entries: 3,000; at most 30"
    assert found["parties.0.stakeholders"].startswith("has too many entries")


# --- the MOU template --------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["../mou.md.j2", "sub/../../etc/passwd", "/etc/passwd", "C:\\mou.md.j2", "c:mou.md.j2", "sub\\mou.md.j2",
             "", "   ", "mou.md.j2\n"])
def test_the_mou_template_must_be_a_plain_relative_name(name: str) -> None:
    d = base()
    d.mou.template = name
    assert at(d, "mou.template"), name


@pytest.mark.parametrize("name", ["mou.md.j2", "./mou.md.j2", "partners/acme.md.j2", "mou..md.j2"])
def test_relative_template_names_pass_the_rules(name: str) -> None:
    d = base()
    d.mou.template = name
    assert at(d, "mou.template") == []


def test_the_template_must_exist_where_the_deployment_looks(tmp_path: Path) -> None:
    text = MINIMAL.read_text().replace("mou:\n", "mou:\n  template: acme/mou.md.j2\n", 1)
    # Workflow code (no filesystem) does not look; accord validate, start and the API do.
    assert parse(text).mou.template == "acme/mou.md.j2"
    with pytest.raises(DefinitionError) as exc:
        parse(text, "x.yaml", templates=template_folders())
    [issue] = exc.value.issues
    assert issue.path == "mou.template" and "'acme/mou.md.j2' is in none of the template folders" in issue.message
    assert text.splitlines()[issue.line - 1].strip() == "template: acme/mou.md.j2"
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "mou.md.j2").write_text("MOU {{ d.name }}")
    assert parse(text, templates=template_folders([tmp_path])).mou.template == "acme/mou.md.j2"
    assert parse(MINIMAL.read_text(), templates=template_folders([tmp_path])).mou.template == "mou.md.j2"


# --- the old rules (version 0) ------------------------------------------------------


def shaped(path: Path) -> PartnershipDefinition | None:
    try:
        return PartnershipDefinition.model_validate(yaml.safe_load(path.read_text()))
    except (yaml.YAMLError, ValueError):
        return None


def test_rules_0_judge_exactly_as_before() -> None:
    """Partnerships started before the limits keep being judged by the old rules: everything
    the old rules accepted (the cases above) is still accepted by rules 0, and on the broken
    corpus rules 0 report exactly what they reported, which rules 1 report too."""
    d = base()
    d.name = "x" * 200_000
    d.description = "a\x00b"
    d.parties[0].stakeholders[0].name = "Ann\r\nBcc: everyone@example.com"
    d.screening.checklist = _checklist(1000)
    d.screening.go_no_go.deadline = Duration.parse("5000y")
    d.reviews.weekly_status.every = Duration.parse("6s")
    d.reviews.weekly_status.inputs_due = Duration.parse("5s")
    d.mou.template = "../../etc/passwd"
    assert checks.problems(d, rules=0) == []
    assert len(checks.problems(d)) >= 7

    compared = 0
    for path in sorted((DATA / "broken").glob("*.yaml")):
        broken = shaped(path)
        if broken is None:  # a shape mistake: the cross-field rules never see it
            continue
        old = checks.problems(broken, rules=0)
        assert set(old) <= set(checks.problems(broken)), path.name
        compared += bool(old)
    assert compared >= 20


# --- short durations: the deployment's setting, never the definition's --------------


def test_the_setting_defaults_to_off_and_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACCORD_ALLOW_SHORT_DURATIONS")
    assert Settings().allow_short_durations is False
    monkeypatch.setenv("ACCORD_ALLOW_SHORT_DURATIONS", "true")
    assert Settings().allow_short_durations is True


def test_a_definition_cannot_switch_it_on() -> None:
    text = (DATA / "lifecycle.yaml").read_text() + "allow_short_durations: true\n"
    with pytest.raises(DefinitionError) as exc:
        parse(text)
    assert [(i.path, i.message.split(" ")[0]) for i in exc.value.issues] == [("allow_short_durations", "unknown")]


@pytest.mark.parametrize("allowed", ["false", "true"])
def test_accord_validate_follows_the_deployment(allowed: str) -> None:
    result = CliRunner().invoke(cli, ["validate", str(DATA / "lifecycle.yaml")],
                                env={"ACCORD_ALLOW_SHORT_DURATIONS": allowed})
    if allowed == "true":
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 1
        assert "lifecycle.yaml:40: reviews.weekly_status.every: is shorter than 1d" in result.stdout
        assert "Traceback" not in result.output


def test_accord_start_refuses_what_the_deployment_refuses_before_connecting() -> None:
    result = CliRunner().invoke(cli, ["start", str(DATA / "lifecycle.yaml"), "--address", "127.0.0.1:9"],
                                env={"ACCORD_ALLOW_SHORT_DURATIONS": "false"})
    assert result.exit_code == 1
    assert "lifecycle.yaml:40: reviews.weekly_status.every: is shorter than 1d" in result.stderr
    assert "Traceback" not in result.output


def with_template(name: str) -> tuple[str, int]:
    """The minimal definition naming MOU template ``name``, and the line where it does."""
    text = MINIMAL.read_text().replace("mou:\n", f"mou:\n  template: {name}\n", 1)
    return text, text.splitlines().index(f"  template: {name}") + 1


def test_accord_validate_looks_for_the_template_in_the_configured_folders(tmp_path: Path) -> None:
    file = tmp_path / "d.yaml"
    text, line = with_template("ours.md.j2")
    file.write_text(text)
    result = CliRunner().invoke(cli, ["validate", str(file)])
    assert result.exit_code == 1 and f"{file}:{line}: mou.template: MOU template 'ours.md.j2' is in none" in result.stdout
    (tmp_path / "ours.md.j2").write_text("Our MOU")
    result = CliRunner().invoke(cli, ["validate", str(file)], env={"ACCORD_TEMPLATE_DIRS": f'["{tmp_path}"]'})
    assert result.exit_code == 0, result.output


async def test_starting_checks_the_definition_against_the_deployment(ts_env, settings: Settings) -> None:
    """A definition built in code is refused by the client before anything reaches Temporal."""
    strict = settings.model_copy(update={"allow_short_durations": False})
    short = definitions.load(DATA / "lifecycle.yaml", allow_short=True)
    with pytest.raises(DefinitionInvalid) as exc:
        await Accord(ts_env.client, strict).start(short)
    assert "reviews.weekly_status.every: is shorter than 1d" in exc.value.message
    missing = base()
    missing.mou.template = "nowhere.md.j2"
    with pytest.raises(DefinitionInvalid) as exc:
        await Accord(ts_env.client, settings).start(missing)
    assert "mou.template: MOU template 'nowhere.md.j2' is in none of the template folders" in exc.value.message


async def test_the_api_start_answers_422_with_the_deployments_checks(ts_env, settings: Settings) -> None:
    key, entry = apikeys.create("deploy-bot", "ops")
    strict = settings.model_copy(update={"allow_short_durations": False, "api_keys": [entry]})
    app = create_app(strict, Accord(ts_env.client, strict))
    short = (DATA / "lifecycle.yaml").read_text()
    climbing, missing = with_template("../secret.j2"), with_template("nowhere.md.j2")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.test") as http:
        for text, path, line in ((short, "reviews.weekly_status.every", 40), (*climbing[:1], "mou.template", climbing[1]),
                                 (*missing[:1], "mou.template", missing[1])):
            r = await http.post("/api/v1/partnerships", content=text.encode(),
                                headers={"content-type": "application/yaml", "Authorization": f"Bearer {key}"})
            assert r.status_code == 422, r.text
            assert {"path": path, "line": line} in [{"path": p["path"], "line": p["line"]} for p in r.json()["problems"]]


def test_every_test_definition_validates_where_short_durations_are_allowed() -> None:
    files = [*DATA.glob("*.yaml"), *definitions.SAMPLES.glob("*.yaml"), *(ROOT / "bench" / "data").glob(
        "*.yaml")]
    assert validate_files(files, allow_short=True, templates=template_folders()) == []
    # The samples are real partnerships: they validate without the allowance.
    assert validate_files([definitions.SAMPLES], templates=template_folders()) == []

