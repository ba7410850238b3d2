"""Every template, rendered through the code that really renders it, with hostile markup in
every field a person or a definition controls: emails (the email activity, into the outbox),
the web pages (the real FastAPI app over HTTP), the status report (the report writer), the
MOU (the render activity, then its HTML), the calendar invitation and the Mermaid diagram
(`accord diagram`).

``REGISTRY`` names every template file and the case that renders it; a template added
without a case, or a case for a template that is gone, fails ``test_registry_covers_every_template``.
Each case checks its outputs: HTML has no element or attribute that came from user text
and shows the text literally; plain text carries it as typed; the .ics is read by a strict
RFC 5545 reader and gives the text back; the Mermaid keeps its structure.

The web pages read the partnership's state from Temporal. Here a stand-in answers those
queries with states built to carry a marker in every text field at once (no single real run
fills them all); everything from the HTTP request to the bytes sent back is the real app.
``test_markup_in_a_definition_and_a_form_is_accepted_and_shown_escaped`` runs the same kind
of input through a real workflow on the dev server.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import icalendar
import jinja2
import pytest
from temporalio.testing import ActivityEnvironment
from typer.testing import CliRunner

import worker as accord_worker
from accord import tokens
from accord.cli import app as cli
from accord.client import Listed
from accord.config import Settings
from accord.documents.mou import to_html
from accord.mail import outbox
from accord.models import (
    MOU,
    AcknowledgementRecord,
    ActionLink,
    Alignment,
    AlignmentResult,
    ApprovalState,
    CareNote,
    CareRecord,
    Channel,
    Decision,
    DecisionKind,
    Delegation,
    DocumentVersion,
    EmailEventRecord,
    EmailRequest,
    EscalationRecord,
    EscalationState,
    Event,
    Invitation,
    LevelChange,
    MetricLine,
    MetricObservation,
    MetricTrack,
    MouState,
    PartnershipState,
    Rag,
    RagPoint,
    Recipient,
    RenderMouRequest,
    Review,
    ReviewInput,
    ReviewKind,
    Stage,
    Statement,
    SupersededCareNote,
    Task,
    TaskKind,
    TaskStatus,
    UpdateResult,
    ValueBalanceRecord,
)
from accord.ops.stuck import Kind, StuckPartnership
from accord.reports.files import write_reports
from accord.storage import Storage, open_storage
from accord.web.app import create_app
from definitions import SAMPLES, parse
from tests.support.markup import (
    Html,
    Markers,
    check_html,
    check_text,
    hostile,
    hostile_yaml,
    numbers_in,
    poison_model,
    read_ics,
    read_mermaid,
)
from tests.support.paths import ROOT
from tests.support.signin_helpers import sign_in
from tests.support.web_helpers import csrf_value, until
from tests.support.workers import running_worker

PACKAGES = ("accord", "activities", "definitions", "workflows")
SAMPLE = SAMPLES / "consulting-creative-agency.yaml"
WF = "partnership-markup"
ESC_WF = "partnership-markup/escalation/esc-1"
NOW = datetime.now(UTC).replace(microsecond=0)


def template_files() -> set[str]:
    """Every file in a folder named ``templates`` and every ``*.j2`` file in the packages."""
    found = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and (
                    "templates" in path.relative_to(ROOT).parts or path.name.endswith(".j2")):
                found.add(path.relative_to(ROOT).as_posix())
    return found


# ---------------------------------------------------------------------- the hostile partnership


def definition_with_markup(mark: Markers):
    # Delegation on the go/no-go, so its page offers the delegation form (names in its options).
    return parse(hostile_yaml(SAMPLE.read_text(), mark, screening__go_no_go__allow_delegation=True,
                              reviews__weekly_status__prompt="What should the others know?"), "hostile.yaml")


def state_with_markup(d, mark: Markers, mou_hash: str) -> PartnershipState:
    """A partnership in screening, its MOU already out for signature, with a record of everything: every text in it is then
    replaced by a marker (see tests/support/markup.py: STATE_KEEP names the fields that hold ids)."""
    t0 = NOW - timedelta(days=60)
    alice, bob = "helen-mp", "ines-ceo"  # the go/no-go approvers; MOU signatories too
    text = "TEXT"
    tasks = {
        "capacity-audit": Task(id="capacity-audit", kind=TaskKind.checklist, stage=Stage.screening, title=text,
                               description=text, owner=alice, created_at=t0, due_at=NOW + timedelta(days=5)),
        "charter": Task(id="charter", kind=TaskKind.checklist, stage=Stage.screening, title=text, owner=bob,
                        created_at=t0, due_at=t0 + timedelta(days=9), status=TaskStatus.done, completed_by=bob,
                        completed_at=t0 + timedelta(days=3), result=text, channel=Channel.email_link),
        f"statement-{alice}": Task(id=f"statement-{alice}", kind=TaskKind.statement, stage=Stage.screening,
                                   title=text, description=text, owner=alice, created_at=t0,
                                   due_at=NOW + timedelta(days=2)),
        "action-1": Task(id="action-1", kind=TaskKind.action, stage=Stage.active, title=text, owner=alice,
                         created_at=t0, due_at=NOW + timedelta(days=9)),
    }
    statements = {who: Statement(stakeholder=who, party=d.party_of(who).id, text=text, at=t0, revision=2)
                  for who in (alice, bob, "kofi-ecd")}
    decision = Decision(approval_id="go-no-go", round=1, actor=bob, decision=DecisionKind.approve, comment=text,
                        at=t0 + timedelta(days=20), channel=Channel.email_link)
    approvals = {
        "go-no-go": ApprovalState(
            id="go-no-go", title=text, stage=Stage.screening, approvers=[alice, bob], policy="all",
            opened_at=t0, deadline_at=NOW + timedelta(days=3), allow_delegation=True, decisions=[decision],
            delegations=[Delegation(round=1, delegator="claire-gc", delegate=alice, reason=text, at=t0,
                                    channel=Channel.email_link)]),
        MOU: ApprovalState(
            id=MOU, title=text, stage=Stage.mou, approvers=d.mou.signatories, policy="quorum", quorum=3,
            opened_at=t0, deadline_at=NOW + timedelta(days=10), document_version=2, document_hash=mou_hash,
            decisions=[decision.model_copy(update={"approval_id": MOU, "actor": "claire-gc", "document_version": 2,
                                                   "document_hash": mou_hash})]),
    }
    weekly = Review(id="weekly_status-3", kind=ReviewKind.weekly_status, n=3, scheduled_for=NOW - timedelta(days=1),
                    opened_at=NOW - timedelta(days=1), inputs_due_at=NOW + timedelta(days=2),
                    participants=d.reviews.weekly_status.participants, actions_checked=["action-1"],
                    inputs={"raj-ed": ReviewInput(stakeholder="raj-ed", party="meridian", at=NOW, channel=Channel.web,
                                                  rag=Rag.amber, note=text)})
    monthly = Review(id="monthly-1", kind=ReviewKind.monthly, n=1, scheduled_for=t0, opened_at=t0,
                     inputs_due_at=t0 + timedelta(days=3), participants=[alice, "tom-am"], closed_at=t0 + timedelta(days=3),
                     decisions=[text], metrics=[MetricLine(metric_id=m.id, name=text, unit=text, baseline=1, target=9,
                                                           latest=4, on_target=False, missed=False, summary=text)
                                                for m in d.metrics])
    monthly_open = monthly.model_copy(update={"id": "monthly-2", "n": 2, "closed_at": None, "opened_at": NOW,
                                              "scheduled_for": NOW, "inputs_due_at": NOW + timedelta(days=3),
                                              "participants": ["tom-am", alice]})
    annual = Review(id="annual_mutual_value-1", kind=ReviewKind.annual_mutual_value, n=1, scheduled_for=t0,
                    opened_at=t0, inputs_due_at=t0 + timedelta(days=14), participants=[alice, bob],
                    closed_at=t0 + timedelta(days=14),
                    balance=ValueBalanceRecord(ratios={"meridian": 2.0, "loom": 0.5}, gap=1.5, tolerance=0.3,
                                               imbalanced=True, summary=text))
    state = PartnershipState(
        partnership_id=d.id, name=text, chain_id="chain", stage=Stage.screening, started_at=t0, stage_started_at=t0,
        launched_at=t0, term_started_at=t0, detail=text, closure_reason=text, unreachable=["dan-ba"],
        tasks=tasks,
        alignment=Alignment(statements=statements, result=AlignmentResult(
            divergence=0.61, across_parties=0.6, within_party={"meridian": 0.2, "loom": 0.3}, threshold=0.35,
            blocked=True, computed_at=t0)),
        approvals=approvals,
        mou=MouState(versions=[
            DocumentVersion(version=1, hash="0" * 64, created_at=t0, source="generated", author=text, note=text),
            DocumentVersion(version=2, hash=mou_hash, created_at=t0 + timedelta(days=1), source="uploaded",
                            author=text, note=text)]),
        email_events=[EmailEventRecord(send_key="k", event="bounce", reason=text, recipient="dan-ba", at=t0)],
        escalations=[EscalationRecord(id="esc-1", trigger="manual", subject=text, reason=text, level=1,
                                      raised_by=bob, channel=Channel.web, opened_at=t0, workflow_id=ESC_WF)],
        timeline=[Event(at=t0, kind="stage_changed", actor=bob, detail=text)],
        reviews={r.id: r for r in (weekly, monthly, monthly_open, annual)},
        metrics={m.id: MetricTrack(metric_id=m.id, baseline=1, baseline_at=t0, observations=[
            MetricObservation(value=3, at=t0 + timedelta(days=10), actor=m.owner, channel=Channel.api, note=text)])
            for m in d.metrics},
        rag_history=[RagPoint(at=NOW, review_id="weekly_status-3", overall=Rag.amber,
                              by_party={"meridian": Rag.amber, "loom": None})],
    )
    return poison_model(state, mark, "state")


def escalation_with_markup(mark: Markers) -> EscalationState:
    t0 = NOW - timedelta(days=3)
    note = CareNote(text="TEXT", by="ines-ceo", at=t0, channel=Channel.email_link)
    state = EscalationState(
        id="esc-1", trigger="manual", subject="TEXT", reason="TEXT", raised_by="ines-ceo", opened_at=t0,
        partnership_workflow_id=WF, partnership="TEXT", chain_id="chain", level=2, level_reached_at=t0,
        levels=[LevelChange(level=1, name="TEXT", contacts=["helen-mp"], at=t0, cause="TEXT", notified_at=t0),
                LevelChange(level=2, name="TEXT", contacts=["ines-ceo", "raj-ed"], at=t0, cause="TEXT")],
        acknowledgements=[AcknowledgementRecord(actor="raj-ed", note="TEXT", at=t0, level=2, channel=Channel.web)],
        care=CareRecord(clarify=note, acknowledge={"loom": note}, reframe=note,
                        superseded=[SupersededCareNote(step="clarify", note=note)]),
    )
    return poison_model(state, mark, "escalation")


class Recorded:
    """Answers the web app's Temporal queries with the states above; updates answer with a
    message that names the partnership, as the workflows' answers do."""

    def __init__(self, definition, state: PartnershipState, escalation: EscalationState, mark: Markers):
        self.recorded_definition, self.recorded_state, self.recorded_escalation = definition, state, escalation
        # A stuck run's failure message is a workflow's own text: it may quote anything people wrote.
        self.recorded_stuck = StuckPartnership(workflow_id=WF, run_id="run", kind=Kind.workflow_error,
                                               message=mark("stuck.message"), since=NOW, attempts=3, episode="e")

    async def stuck(self, listed: list[Listed]) -> dict[str, StuckPartnership]:
        return {WF: self.recorded_stuck}

    async def list(self, *args, **kwargs) -> list[Listed]:
        return [Listed(WF, self.recorded_state.name, "screening", "at_risk", NOW + timedelta(days=1), True)]

    async def state(self, workflow_id: str) -> PartnershipState:
        assert workflow_id == WF, workflow_id
        return self.recorded_state

    async def definition(self, workflow_id: str):
        return self.recorded_definition

    async def escalation_state(self, workflow_id: str) -> EscalationState:
        assert workflow_id == ESC_WF, workflow_id
        return self.recorded_escalation

    async def _done(self, *args, **kwargs) -> UpdateResult:
        name = self.recorded_state.name
        return UpdateResult(message=f"Recorded for {name}.", partnership=name)

    complete_task = submit_statement = decide = delegate = submit_review_input = record_metric = on_escalation = _done


# ---------------------------------------------------------------------- the world the cases render


@dataclass
class World:
    settings: Settings
    mark: Markers
    definition: object
    state: PartnershipState
    escalation: EscalationState
    mou_markdown: str
    temporal: Recorded
    http: httpx.AsyncClient
    mails: dict[str, EmailMessage] = field(default_factory=dict)
    store: Storage | None = None  # the app's store, for a document of a case's own

    def link(self, action: str, ref: str, recipient: str, workflow_id: str = WF, round: int = 1) -> str:
        claim = ActionLink(action=action, ref=ref, round=round, expires_at=NOW + timedelta(days=5))
        return "/a/" + tokens.mint(workflow_id, recipient, claim, self.settings.keys)

    async def page(self, path: str, status: int = 200) -> str:
        response = await self.http.get(path)
        assert response.status_code == status, (path, response.status_code, response.text[:2000])
        return response.text

    async def post(self, path: str, form: dict[str, str], status: int = 200) -> str:
        page = await self.http.get(path)
        response = await self.http.post(path, data={"csrf": csrf_value(page.text), **form})
        assert response.status_code == status, (path, response.status_code, response.text[:2000])
        return response.text


async def send_emails(settings: Settings, store: Storage, mark: Markers) -> dict[str, EmailMessage]:
    """Both email templates through the email activity (the worker's own), into the outbox."""
    email_activities = next(a.__self__ for a in accord_worker.activities_for(settings, store=store)
                            if getattr(a, "__name__", "") == "send_email")
    recipient = Recipient(id="helen-mp", name=mark("email.to.name"), email="helen@meridian.example")
    common = {"partnership": mark("email.partnership"), "recipient_name": mark("email.recipient_name"),
              "heading": mark("email.heading"), "due_at": NOW + timedelta(days=2), "consequence": mark("email.consequence"),
              "reference": mark("email.reference"),
              "sections": [{"title": mark("email.sections[0].title"), "lines": [mark("email.sections[0].lines[0]")]}]}
    requests = {
        "action_request": EmailRequest(
            send_key="markup/action", workflow_id=WF, template="action_request", to=recipient,
            subject=mark("email.subject"), action=ActionLink(action="task", ref="capacity-audit", expires_at=NOW + timedelta(days=5)),
            context={**common, "ask": mark("email.ask"), "overdue": True, "action_label": mark("email.action_label"),
                     "approvers": [mark("email.approvers[0]"), mark("email.approvers[1]")],
                     "statements": [{"stakeholder": mark("email.statement.stakeholder"), "party": mark("email.statement.party"),
                                     "text": mark("email.statement.text")}]},
            invitation=Invitation(uid="markup-review-1", title=mark("ics.title"), start=NOW + timedelta(days=7), minutes=45,
                                  organizer="ops@meridian.example",
                                  attendees=[recipient, Recipient(id="ines-ceo", name=mark("ics.attendee"), email="ines@loom.example")],
                                  agenda=[mark("ics.agenda[0]"), mark("ics.agenda[1]")]),
        ),
        "notice": EmailRequest(
            send_key="markup/notice", workflow_id=WF, template="notice", to=recipient, subject=mark("email.notice.subject"),
            context={**common, "body": mark("email.body (a bounce reason, an escalation reason)")},
        ),
    }
    sent = {}
    for template, request in requests.items():
        receipt = await ActivityEnvironment().run(email_activities.send_email, request)
        assert receipt.status == "sent", receipt
        sent[template] = outbox.read(outbox.Outbox(settings.outbox_dir).path_for(request.send_key))
    return sent


async def render_mou(settings: Settings, store: Storage, definition, note: str) -> str:
    """The MOU through the render activity (the worker's own), read back from the store."""
    documents = next(a.__self__ for a in accord_worker.activities_for(settings, store=store)
                     if getattr(a, "__name__", "") == "render_mou")
    stored = await ActivityEnvironment().run(
        documents.render_mou, RenderMouRequest(workflow_id=WF, definition=definition, version=2, note=note))
    return await store.get_document(stored.hash)


@pytest.fixture
async def world(settings: Settings, local_store: Storage, loaded: list[str]) -> AsyncIterator[World]:
    mark = Markers()
    definition = definition_with_markup(mark)
    mou_markdown = await render_mou(settings, local_store, definition, mark("mou.note"))
    mou_hash = await local_store.put_document(mou_markdown)
    state = state_with_markup(definition, mark, mou_hash)
    escalation = escalation_with_markup(mark)
    mails = await send_emails(settings, local_store, mark)
    temporal = Recorded(definition, state, escalation, mark)
    app = create_app(settings, temporal)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.web_base_url) as http:
        await sign_in(http, settings)  # the ops pages are among those rendered
        yield World(settings, mark, definition, state, escalation, mou_markdown, temporal, http, mails, local_store)


@pytest.fixture
def loaded(monkeypatch) -> list[str]:
    """The template files Jinja loads (every environment, every get_template, extends and include)."""
    files: list[str] = []
    original = jinja2.Environment._load_template  # noqa: SLF001 - wrapping Jinja's one loading method records every template any environment loads

    def spy(self, name, globals):
        template = original(self, name, globals)
        if template.filename:
            files.append(Path(template.filename).resolve().relative_to(ROOT).as_posix())
        return template

    monkeypatch.setattr(jinja2.Environment, "_load_template", spy)
    return files


# ---------------------------------------------------------------------- the cases

Case = Callable[[World], Awaitable[set[int]]]


def shown(world: World, numbers: set[int], *fields: str) -> set[int]:
    """Assert the markers of ``fields`` are among those shown; return all shown."""
    missing = [f for f in fields if world.mark.numbers[f] not in numbers]
    assert not missing, f"not shown: {missing}"
    return numbers


async def email_action_request(world: World) -> set[int]:
    mail = world.mails["action_request"]
    html = check_html(outbox.body(mail, "html"), "action_request.html")
    text = check_text(outbox.body(mail, "plain"), "action_request.txt")
    fields = ("email.partnership", "email.recipient_name", "email.heading", "email.ask", "email.consequence",
              "email.action_label", "email.approvers[1]", "email.statement.text", "email.statement.party",
              "email.reference", "email.sections[0].title", "email.sections[0].lines[0]")
    shown(world, html, *fields)
    shown(world, text, *fields)
    assert str(mail["Subject"]) == world.mark.of("email.subject")  # a header: plain text, whole
    check_invitation(world, mail)
    return html | text


def check_invitation(world: World, mail: EmailMessage) -> None:
    ics = next(p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar").get_payload(decode=True)
    lines = read_ics(ics)
    names = [name for name, _, _ in lines]
    assert names.count("ATTENDEE") == 2 and names.count("BEGIN") == names.count("END") == 2
    assert set(names) <= {"BEGIN", "END", "VERSION", "PRODID", "CALSCALE", "METHOD", "UID", "SEQUENCE", "DTSTAMP",
                          "DTSTART", "DTEND", "SUMMARY", "DESCRIPTION", "STATUS", "TRANSP", "ORGANIZER", "ATTENDEE"}
    values = {name: value for name, _, value in lines}
    assert values["SUMMARY"] == world.mark.of("ics.title")
    assert values["DESCRIPTION"] == f"- {world.mark.of('ics.agenda[0]')}\n- {world.mark.of('ics.agenda[1]')}"
    assert [p["CN"] for n, p, _ in lines if n == "ATTENDEE"] == [world.mark.of("email.to.name"), world.mark.of("ics.attendee")]
    # A second reader agrees.
    event = icalendar.Calendar.from_ical(ics).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == world.mark.of("ics.title")


async def email_notice(world: World) -> set[int]:
    mail = world.mails["notice"]
    html = check_html(outbox.body(mail, "html"), "notice.html")
    text = check_text(outbox.body(mail, "plain"), "notice.txt")
    fields = ("email.partnership", "email.recipient_name", "email.heading", "email.consequence",
              "email.body (a bounce reason, an escalation reason)", "email.reference", "email.sections[0].title",
              "email.sections[0].lines[0]")
    return shown(world, html, *fields) | shown(world, text, *fields)


async def report(world: World) -> set[int]:
    written = write_reports(world.definition, world.state, WF, world.settings.data_dir / "reports", NOW)
    numbers = check_html(written.report.read_text(encoding="utf-8"), "report.html")
    audit = json.loads(written.audit.read_text(encoding="utf-8"))  # JSON carries the text as it is
    assert world.mark.of("d.name") in strings(audit) and world.mark.of("state.escalations[0].reason") in strings(audit)
    return shown(world, numbers, "state.name", "d.parties[0].name", "d.metrics[0].name",
                 "state.approvals[go-no-go].decisions[0].comment", "state.escalations[0].reason",
                 "state.reviews[monthly-1].decisions[0]", "state.tasks[action-1].title")


async def mou_document(world: World) -> set[int]:
    html = check_html(to_html(world.mou_markdown), "MOU (Markdown to HTML)")
    fields = ["d.name", "d.description", "d.parties[1].name", "d.parties[1].role", "d.parties[0].value_statement",
              "d.parties[0].stakeholders[0].name", "d.parties[0].stakeholders[0].role", "d.launch.deliverables[0].title",
              "d.launch.deliverables[0].definition_of_done", "d.metrics[0].name", "d.metrics[0].unit", "d.metrics[0].goal",
              "d.mou.clauses.roles_and_responsibilities", "d.mou.clauses.termination", "d.escalation.ladder[0].name",
              "d.reviews.weekly_status.prompt", "mou.note"]
    fields += [f for f in world.mark.numbers if f.startswith("d.mou.clauses.other")]
    # The table of people keeps its rows and columns whatever the names hold.
    people_rows = [row for row in html_rows(to_html(world.mou_markdown)) if len(row) == 3]
    assert len(people_rows) == 1 + sum(len(p.stakeholders) for p in world.definition.parties)
    return shown(world, html, *fields)


def strings(data) -> list[str]:
    if isinstance(data, dict):
        return [*data.keys(), *(x for v in data.values() for x in strings(v))]
    if isinstance(data, list):
        return [x for v in data for x in strings(v)]
    return [data] if isinstance(data, str) else []


def html_rows(html: str) -> list[list[str]]:
    rows: list[list[str]] = []
    doc = Html(html)
    for tag, _, _ in doc.elements:
        if tag == "tr":
            rows.append([])
        elif tag in ("td", "th"):
            rows[-1].append(tag)
    return rows


async def diagram(world: World) -> set[int]:
    hostile_file = world.settings.data_dir / "hostile.yaml"
    hostile_file.write_text(hostile_yaml(SAMPLE.read_text(), Markers(), screening__go_no_go__allow_delegation=True))
    plain_file = world.settings.data_dir / "plain.yaml"
    plain_file.write_text(SAMPLE.read_text().replace("allow_delegation: false", "allow_delegation: true", 1))
    runs = [CliRunner().invoke(cli, ["diagram", str(f)]) for f in (hostile_file, plain_file)]
    assert all(r.exit_code == 0 for r in runs), [r.output for r in runs]
    (structure, labels), (plain_structure, _) = (read_mermaid(r.output) for r in runs)
    assert structure == plain_structure, "markup in names changed the diagram's nodes or edges"
    numbers = numbers_in("\n".join(labels))
    for n in numbers:
        assert any(hostile(n) in label for label in labels), f"marker {n} not literal in the diagram"
    assert len(numbers) >= 20  # names, titles, people, units, levels
    return numbers


async def page_dashboard(world: World) -> set[int]:
    return shown(world, check_html(await world.page("/"), "dashboard"), "state.name", "stuck.message")


async def page_status(world: World) -> set[int]:
    html = check_html(await world.page(f"/p/{WF}"), "status")
    return shown(world, html, "state.name", "state.detail", "state.tasks[capacity-audit].title",
                 "state.tasks[charter].result", "state.alignment.statements[ines-ceo].text",
                 "state.approvals[go-no-go].title", "state.approvals[go-no-go].decisions[0].comment",
                 "state.approvals[go-no-go].delegations[0].reason", "state.mou.versions[1].note",
                 "state.mou.versions[1].author", "state.escalations[0].subject", "state.escalations[0].reason",
                 "state.timeline[0].detail")


async def page_mou(world: World) -> set[int]:
    html = check_html(await world.page(f"/p/{WF}/mou/2"), "mou page")
    return shown(world, html, "state.name", "state.mou.versions[1].note", "state.mou.versions[1].author",
                 f"state.approvals[{MOU}].decisions[0].comment", "d.parties[0].name", "d.mou.clauses.data_use", "mou.note")


async def page_problem(world: World) -> set[int]:
    # A problem page names the partnership: "<name> has no MOU version 9."
    html = check_html(await world.page(f"/p/{WF}/mou/9", 404), "problem page")
    overridden = world.state.model_copy(deep=True)
    overridden.alignment.overridden_by, overridden.alignment.override_reason = "ines-ceo", world.mark("override reason")
    world.temporal.recorded_state = overridden
    personal = check_html(await world.page(world.link("statement", "statement-helen-mp", "helen-mp"), 409),
                          "problem page (action link)")
    return shown(world, html, "state.name") | shown(world, personal, "override reason")


async def page_mou_revise(world: World) -> set[int]:
    # Changes asked on the current version: ops see who asked what, and the text to edit; a form
    # sent back (its note too long) shows what was typed, as text.
    state = world.state.model_copy(deep=True)
    state.mou.awaiting_revision = True
    # The current version's text, shown as typed to be edited (a generated MOU escapes its Markdown).
    digest = await world.store.put_document(f"# MOU\n\n{world.mark('revise.current')}\n")
    state.mou.versions[-1] = state.mou.versions[-1].model_copy(update={"hash": digest})
    asked = state.approvals[MOU].decisions[0]
    state.approvals[MOU].decisions[0] = asked.model_copy(update={"decision": DecisionKind.request_changes})
    world.temporal.recorded_state = state
    path = f"/p/{WF}/mou/revise"
    page = await world.page(path)
    html = check_html(page, "MOU revision page")
    csrf = re.search(r'aria-labelledby="upload-heading">.*?name="csrf" value="([^"]+)"', page, re.DOTALL)[1]
    sent = await world.http.post(path, data={"csrf": csrf, "version": "2", "action": "upload",
                                             "markdown": world.mark("revise.markdown"), "note": world.mark("revise.note") * 50})
    assert sent.status_code == 422, sent.text[:2000]
    again = check_html(sent.text, "MOU revision page, sent back")
    return shown(world, html, "state.name", f"state.approvals[{MOU}].decisions[0].comment", "state.mou.versions[1].author",
                 "revise.current") | shown(world, again, "revise.markdown", "revise.note")


def header_forms(world: World) -> dict[int, str]:
    # The To header shows the name as the header writes it (quoted, with backslash escapes).
    to = str(world.mails["action_request"]["To"])
    return {world.mark.numbers["email.to.name"]: to}


async def page_outbox(world: World) -> set[int]:
    html = check_html(await world.page("/outbox"), "outbox", header_forms(world))
    return shown(world, html, "email.subject", "email.to.name")


async def page_email(world: World) -> set[int]:
    name = outbox.Outbox(world.settings.outbox_dir).path_for("markup/action").stem
    # The plain-text part is shown with its web addresses as links, as mail clients show them:
    # the address in a statement is a link there too (only there, and only http(s)).
    page = check_html(await world.page(f"/outbox/{name}"), "outbox email page", header_forms(world), plain_links=True)
    framed = check_html(await world.page(f"/outbox/{name}/html"), "outbox email frame")
    return shown(world, page, "email.subject", "email.to.name", "email.ask") | shown(world, framed, "email.ask")


async def page_task(world: World) -> set[int]:
    html = check_html(await world.page(world.link("task", "capacity-audit", "helen-mp")), "task page")
    return shown(world, html, "state.name", "state.tasks[capacity-audit].title", "state.tasks[capacity-audit].description")


async def page_statement(world: World) -> set[int]:
    html = check_html(await world.page(world.link("statement", "statement-helen-mp", "helen-mp")), "statement page")
    return shown(world, html, "state.tasks[statement-helen-mp].description", "state.alignment.statements[ines-ceo].text",
                 "state.alignment.statements[helen-mp].text")


async def page_decision(world: World) -> set[int]:
    link = world.link("decision", "go-no-go", "helen-mp")
    html = check_html(await world.page(link), "decision page")
    # Sent back with an error (no delegate chosen): the reason typed is refilled, escaped.
    refill = check_html(await world.post(link, {"decision": "delegate", "to": "", "reason": world.mark("form.reason")}, 422),
                        "decision page, refilled")
    return (shown(world, html, "state.approvals[go-no-go].title", "state.approvals[go-no-go].decisions[0].comment",
                  "d.parties[1].stakeholders[0].name", "d.parties[0].stakeholders[2].name", "d.parties[0].stakeholders[2].role")
            | shown(world, refill, "form.reason"))


async def page_signature(world: World) -> set[int]:
    html = check_html(await world.page(world.link("decision", MOU, "helen-mp")), "signature page")
    return shown(world, html, f"state.approvals[{MOU}].title", "state.mou.versions[1].note", "d.name",
                 "d.parties[0].name", "d.mou.clauses.intellectual_property")


async def page_review(world: World) -> set[int]:
    weekly = check_html(await world.page(world.link("review", "weekly_status-3", "raj-ed")), "weekly review page")
    link = world.link("review", "monthly-2", "tom-am")
    monthly = check_html(await world.page(link), "monthly review page")
    # A metric value that is not a number comes back in the error message and the field.
    metric = next(m for m in world.definition.metrics if m.owner == "tom-am")
    refill = check_html(await world.post(link, {"note": world.mark("form.note"), f"metric-{metric.id}": world.mark("form.metric")}, 422),
                        "monthly review page, refilled")
    return (shown(world, weekly, "state.reviews[weekly_status-3].inputs[raj-ed].note", "d.reviews.weekly_status.prompt",
                  "state.tasks[action-1].title")
            | shown(world, monthly, "d.metrics[0].name", "d.metrics[0].unit")
            | shown(world, refill, "form.note", "form.metric"))


async def page_escalation(world: World) -> set[int]:
    link = world.link("escalation", "esc-1", "ines-ceo", workflow_id=ESC_WF)
    html = check_html(await world.page(link), "escalation page")
    long_note = world.mark("form.note") * 60  # over the note's limit: sent back, refilled
    refill = check_html(await world.post(link, {"do": "acknowledge", "note": long_note}, 422), "escalation page, refilled")
    return (shown(world, html, "escalation.reason", "escalation.partnership", "escalation.subject", "escalation.levels[1].name",
                  "escalation.levels[0].cause", "escalation.acknowledgements[0].note", "escalation.care.clarify.text",
                  "escalation.care.acknowledge[loom].text", "d.parties[1].name", "d.parties[0].stakeholders[1].name")
            | shown(world, refill, "form.note"))


async def page_done(world: World) -> set[int]:
    html = check_html(await world.post(world.link("task", "capacity-audit", "helen-mp"), {"result": world.mark("form.result")}),
                      "done page")
    return shown(world, html, "state.name")


async def page_signin(world: World) -> set[int]:
    """A person's name comes from the identity provider's claims: hostile like any other text."""
    from accord.web.auth import sessions

    session = secrets.token_urlsafe(32)
    async with await open_storage(world.settings) as store:
        await store.create_session(sessions.digest(session), world.mark("person.name"), None, "oidc",
                                   lifetime=timedelta(hours=1))
    async with httpx.AsyncClient(transport=world.http._transport, base_url=world.settings.web_base_url) as http:  # noqa: SLF001 - the same app's transport, without the first client's cookies
        http.cookies.set(sessions.PLAIN_COOKIE, session)
        signin, forbidden = await http.get("/signin"), await http.get("/")
    assert (signin.status_code, forbidden.status_code) == (200, 403)
    return (shown(world, check_html(signin.text, "sign-in page"), "person.name")
            | shown(world, check_html(forbidden.text, "no-role page"), "person.name"))


WEB = "accord/web/templates/"
MAIL = "accord/mail/templates/"
REPORTS = "accord/reports/templates/"
REGISTRY: dict[str, Case] = {
    MAIL + "_layout.html.j2": email_notice,
    MAIL + "_sections.html.j2": email_notice,
    MAIL + "_sections.txt.j2": email_notice,
    MAIL + "action_request.html.j2": email_action_request,
    MAIL + "action_request.txt.j2": email_action_request,
    MAIL + "notice.html.j2": email_notice,
    MAIL + "notice.txt.j2": email_notice,
    REPORTS + "report.html.j2": report,
    REPORTS + "_charts.html.j2": report,
    REPORTS + "report.css": report,
    "definitions/templates/mou.md.j2": mou_document,
    WEB + "base.html": page_dashboard,
    WEB + "dashboard.html": page_dashboard,
    WEB + "status.html": page_status,
    WEB + "mou.html": page_mou,
    WEB + "mou_revise.html": page_mou_revise,
    WEB + "problem.html": page_problem,
    WEB + "outbox.html": page_outbox,
    WEB + "email.html": page_email,
    WEB + "action_base.html": page_task,
    WEB + "action_task.html": page_task,
    WEB + "action_statement.html": page_statement,
    WEB + "action_decision.html": page_decision,
    WEB + "action_review.html": page_review,
    WEB + "action_escalation.html": page_escalation,
    WEB + "action_done.html": page_done,
    WEB + "signin.html": page_signin,
    WEB + "signin_forbidden.html": page_signin,
}
# Outputs that are no template file, each checked the same way.
NOT_TEMPLATES: dict[str, Case] = {"signature page (MOU in a decision)": page_signature, "accord diagram (Mermaid)": diagram}


def test_registry_covers_every_template():
    found = template_files()
    assert found - REGISTRY.keys() == set(), "templates no case renders: add them to REGISTRY"
    assert REGISTRY.keys() - found == set(), "REGISTRY names templates that no longer exist"


@pytest.mark.parametrize("template", sorted(REGISTRY))
async def test_template_shows_markup_as_text(template: str, world: World, loaded: list[str]):
    numbers = await REGISTRY[template](world)
    assert template in loaded, f"the case for {template} did not render it (it rendered {sorted(set(loaded))})"
    assert numbers, "no marker reached the output: the case proves nothing"


@pytest.mark.parametrize("output", sorted(NOT_TEMPLATES))
async def test_output_shows_markup_as_text(output: str, world: World):
    assert await NOT_TEMPLATES[output](world)


def test_every_free_text_of_the_definition_carries_a_marker():
    """The hostile definition is still valid (markup is accepted), and the walk reached every
    kind of text: a new field in the schema is poisoned unless named in DEFINITION_KEEP."""
    mark = Markers()
    d = definition_with_markup(mark)
    assert d.name == mark.of("d.name")
    kinds = {f.split(".")[-1].split("[")[0] for f in mark.fields.values()}
    assert {"name", "title", "description", "role", "value_statement", "goal", "unit", "definition_of_done", "prompt",
            "roles_and_responsibilities", "termination"} <= kinds
    assert len(mark.fields) > 60


# ---------------------------------------------------------------------- the calendar file on its own


def test_invitation_text_with_line_breaks_and_control_characters_stays_in_its_property():
    from accord.mail import ics

    title = "Review\r\nATTENDEE;CN=Evil:mailto:evil@example.com\rX-INJECTED:1\nDESCRIPTION:x"
    name = 'Ann "A;B,C" \\ ^ \x00\x1b\x7f\r\nORGANIZER:mailto:evil@example.com'
    agenda = "a;b,c\\d\r\n- line two\x0bend"
    data = ics.invitation("uid-1", title, NOW, timedelta(minutes=30), ("Ops", "ops@example.com"),
                          [(name, "ann@example.com")], agenda, location="Room; 1, \\2")
    lines = read_ics(data)
    names = [n for n, _, _ in lines]
    assert "X-INJECTED" not in names and names.count("ATTENDEE") == 1 and names.count("ORGANIZER") == 1
    values = {n: v for n, _, v in lines}
    assert values["SUMMARY"] == "Review\nATTENDEE;CN=Evil:mailto:evil@example.com\nX-INJECTED:1\nDESCRIPTION:x"
    assert values["DESCRIPTION"] == "a;b,c\\d\n- line two\ufffdend"
    assert values["LOCATION"] == "Room; 1, \\2"
    cn = next(p["CN"] for n, p, _ in lines if n == "ATTENDEE")
    assert cn == 'Ann "A;B,C" \\ ^ \ufffd\ufffd\ufffd\nORGANIZER:mailto:evil@example.com'


# ---------------------------------------------------------------------- Mermaid in a real renderer


def _mermaid_js() -> Path | None:
    for candidate in (os.environ.get("ACCORD_MERMAID_JS"), ROOT / "node_modules/mermaid/dist/mermaid.min.js"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@pytest.mark.browser
@pytest.mark.skipif(_mermaid_js() is None, reason="mermaid.min.js not here (npm install mermaid, or set ACCORD_MERMAID_JS)")
async def test_mermaid_draws_the_hostile_diagram_with_the_names_as_text(tmp_path: Path):
    from playwright.async_api import async_playwright

    mark = Markers()
    path = tmp_path / "hostile.yaml"
    path.write_text(hostile_yaml(SAMPLE.read_text(), mark))
    run = CliRunner().invoke(cli, ["diagram", str(path)])
    assert run.exit_code == 0, run.output
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=os.environ.get("ACCORD_CHROMIUM", "/usr/bin/chromium"),
                                          args=["--no-sandbox"])
        page = await browser.new_page()
        await page.set_content("<!doctype html><body></body>")
        await page.add_script_tag(path=str(_mermaid_js()))
        drawn = await page.evaluate("""async (source) => {
            mermaid.initialize({startOnLoad: false});
            try {
                const {svg} = await mermaid.render('diagram', source);
                const box = document.createElement('div');
                box.innerHTML = svg;
                document.body.appendChild(box);
                return {injected: box.querySelectorAll('[data-x], [onerror], script, img, a').length,
                        nodes: box.querySelectorAll('g.node').length, text: box.textContent};
            } catch (error) { return {error: String(error)}; }
        }""", run.output)
        await browser.close()
    assert "error" not in drawn, drawn
    assert drawn["injected"] == 0
    assert drawn["nodes"] >= 20
    assert mark.of("d.name") in drawn["text"] and mark.of("d.parties[0].stakeholders[0].name") in drawn["text"]


# ---------------------------------------------------------------------- a real partnership


async def test_markup_in_a_definition_and_a_form_is_accepted_and_shown_escaped(dev_env, settings, accord_for):
    """A definition full of markup starts (nothing refused), its emails and pages show the
    text escaped, and a statement with a link, an image and a script is accepted through the form."""
    mark = Markers()
    definition = parse(hostile_yaml((ROOT / "tests/data/screening.yaml").read_text(), mark,
                                    id=f"markup-{uuid.uuid4().hex[:8]}"))
    accord = accord_for(dev_env)
    async with running_worker(dev_env.client, settings):
        wf = await accord.start(definition)
        who = definition.screening.alignment.participants[0]
        mails = await until(lambda: [m for _, m in outbox.messages(settings.outbox_dir)
                                     if who in str(m[outbox.KEY_HEADER])] or None, 30)
        for _, mail in outbox.messages(settings.outbox_dir):
            check_html(outbox.body(mail, "html"), f"email {mail['Subject']}")
            check_text(outbox.body(mail, "plain"), f"email {mail['Subject']}")
        assert mark.of("d.name") in outbox.body(mails[0], "plain")
        assert mark.of("d.name") in Html(outbox.body(mails[0], "html")).text()

        app = create_app(settings, accord)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.web_base_url) as http:
            await sign_in(http, settings)
            link = "/a/" + tokens.mint(wf, who, ActionLink(action="statement", ref=f"statement-{who}",
                                                           expires_at=NOW + timedelta(days=3)), settings.keys)
            page = await http.get(link)
            assert page.status_code == 200, page.text
            check_html(page.text, "statement page")
            statement = ('We grow <a href="https://evil.example/login">sign in</a> '
                         '<img src=x onerror=alert(1)> </textarea><script>alert(2)</script> together')
            done = await http.post(link, data={"csrf": csrf_value(page.text), "text": statement})
            assert done.status_code == 200, done.text
            status = await http.get(f"/p/{wf}")
            check_html(status.text, "status page")
            shown = Html(status.text).text()
            assert mark.of("d.name") in shown and statement in shown
        assert (await accord.state(wf)).alignment.statements[who].text == statement
