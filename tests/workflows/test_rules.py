"""Rules version 1 (workflows/versions.py) through the real workflows.

Each test drives a partnership started on this code (so it runs rules 1) on the
time-skipping server, or on the dev server with the real SendGrid client against
tests/support/fake_sendgrid.py, and checks what a person would notice: a refusal and its words,
an amendment that waits for the party whose people it changes, emails not sent again, ops
told of an email stuck in a provider outage. Every one of them fails on the rules before
(rules version 0: tests/replay/test_upgrade.py shows those still apply to partnerships started
on the previous release).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import httpx
import pytest
import yaml
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from accord.client import ActionRefused
from accord.logic import approvals
from accord.mail import outbox
from accord.models import (
    Acknowledge,
    AmendmentProposal,
    AmendmentStatus,
    CareEntry,
    Channel,
    DecisionInput,
    DecisionKind,
    EscalationRequest,
    Health,
    StatementSubmission,
)
from accord.ops.telemetry import build_runtime
from definitions.loader import parse
from definitions.schema import PartnershipDefinition
from tests.support.fake_sendgrid import Chaos, FakeSendGrid, Request
from tests.support.fault_worker import build
from tests.support.faults import API_KEY, quiescent, sendgrid_settings
from tests.support.helpers import (
    ALIGNED,
    DIVERGENT,
    eventually,
    pass_checklist,
    state_where,
    submit_statements,
    unique,
)
from tests.support.mail_helpers import subjects_to
from tests.support.ops_helpers import parse_prometheus, total
from tests.support.paths import DATA
from tests.support.workers import running_worker
from workflows import versions

REQUIRED = {"capability": "arun", "legal": "bo"}



def with_go_no_go(definition: PartnershipDefinition, **rules) -> PartnershipDefinition:
    """The definition with other go/no-go rules (they govern amendments when there is no MOU)."""
    data = definition.model_dump(mode="json", exclude_none=True)
    data["screening"]["go_no_go"].update(rules)
    return parse(yaml.safe_dump(data, sort_keys=False))


def with_person(definition: PartnershipDefinition, stakeholder: str, **fields: str) -> PartnershipDefinition:
    """The definition with a stakeholder's name or email changed (an amendment)."""
    data = definition.model_dump(mode="json", exclude_none=True)
    for party in data["parties"]:
        for person in party["stakeholders"]:
            if person["id"] == stakeholder:
                person.update(fields)
    return parse(yaml.safe_dump(data, sort_keys=False))


async def decide(accord, wf, approval_id: str, who: str, decision=DecisionKind.approve, comment: str = ""):
    return await accord.decide(wf, DecisionInput(approval_id=approval_id, actor=who, decision=decision,
                                                 comment=comment, channel=Channel.api))


# ---------------------------------------------------------------------- amendments


async def test_an_amendment_of_another_partys_address_waits_for_that_partys_approval(ts_env, settings, accord_for):
    """Policy "any": Ann (Alpha) proposes moving Ben's (Beta) links to another address and
    approves it herself. Under the old rules that applied it; now Beta must approve."""
    accord = accord_for(ts_env)
    definition = with_go_no_go(unique(DATA / "operating.yaml"), policy="any")
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(definition)
        assert (await accord.state(wf)).rules_version == versions.LATEST
        amended = with_person(definition, "ben", email="ben@elsewhere.example")
        result = await accord.propose_amendment(wf, AmendmentProposal(definition=amended, actor="ann",
                                                                      reason="Ben's new address", channel=Channel.api))
        assert "It changes the people of Beta GmbH, so Beta GmbH must approve it too." in result.message
        await state_where(accord, wf, lambda s: "amendment-1" in s.approvals)
        with pytest.raises(ActionRefused, match="This decision has no document to change: approve or reject."):
            await decide(accord, wf, "amendment-1", "ann", DecisionKind.request_changes, "Not this way")
        await decide(accord, wf, "amendment-1", "ann")

        state = await accord.state(wf)
        approval = state.approvals["amendment-1"]
        assert state.amendments[0].status == AmendmentStatus.pending, "one approval from Alpha is not Beta's"
        assert approval.parties == {"beta": ["ben"]} and approval.parties_waiting == ["beta"]
        assert approvals.of(approval).waiting_on == ["ben"]
        assert (await accord.definition(wf)).stakeholders()["ben"].email == "ben@beta.example"

        await decide(accord, wf, "amendment-1", "ben")
        state = await state_where(accord, wf, lambda s: s.amendments[0].status == AmendmentStatus.applied)
        assert (await accord.definition(wf)).stakeholders()["ben"].email == "ben@elsewhere.example"
    assert state.approvals["amendment-1"].parties_waiting == []


async def test_a_party_without_an_approver_is_asked_through_its_people(ts_env, settings, accord_for):
    """Only Alpha's people approve amendments; an amendment renaming Ben and moving his address
    adds Beta's people (in force) as approvers: Ben is asked by email, and decides it."""
    accord = accord_for(ts_env)
    definition = with_go_no_go(unique(DATA / "operating.yaml"), policy="any", approvers=["ann", "abe"])
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(definition)
        amended = with_person(definition, "ben", email="b.beta@beta.example", name="Benedikt Beta")
        result = await accord.propose_amendment(wf, AmendmentProposal(definition=amended, actor="abe",
                                                                      reason="Ben's full name", channel=Channel.api))
        assert "(ben asked as well)" in result.message
        await state_where(accord, wf, lambda s: "amendment-1" in s.approvals)
        await decide(accord, wf, "amendment-1", "abe")

        state = await accord.state(wf)
        approval = state.approvals["amendment-1"]
        assert approval.approvers == ["ann", "abe", "ben"] and approval.party_approvers == ["ben"]
        assert approval.parties_waiting == ["beta"] and state.amendments[0].status == AmendmentStatus.pending
        # Ben is asked at his address in force, not at the one the amendment proposes.
        await eventually(lambda: _asked(settings, "ben@beta.example"))
        assert not subjects_to(settings, "b.beta@beta.example")

        await decide(accord, wf, "amendment-1", "ben")
        await state_where(accord, wf, lambda s: s.amendments[0].status == AmendmentStatus.applied)
        assert (await accord.definition(wf)).stakeholders()["ben"].name == "Benedikt Beta"


async def _asked(settings, address: str) -> None:
    assert subjects_to(settings, address, "Decision needed: Amendment 1"), f"{address} was not asked"


# ---------------------------------------------------------------------- CARE


async def test_a_partys_perspective_comes_from_its_people_or_ops(ts_env, settings, accord_for):
    accord = accord_for(ts_env)
    definition = unique(DATA / "operating.yaml")
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(definition)
        _, record = await accord.raise_escalation(wf, EscalationRequest(reason="The referral data is late"))
        assert (await accord.escalation(wf, record.id)).rules_version == versions.LATEST, "the escalation follows its partnership"
        await accord.acknowledge(wf, record.id, Acknowledge(actor="abe", channel=Channel.email_link))

        # Abe (Alpha), through his own email link, cannot speak for Beta; nor can "ops" by a link.
        for actor, channel in (("abe", Channel.email_link), ("ann", Channel.api), ("ops", Channel.email_link)):
            with pytest.raises(ActionRefused, match="Beta GmbH's perspective is recorded by Beta GmbH's people or by ops."):
                await accord.record_care(wf, record.id, CareEntry(actor=actor, step="acknowledge", party="beta",
                                                                  text="Beta is fine with it", channel=channel))
        assert "beta" not in (await accord.escalation(wf, record.id)).care.acknowledge

        await accord.record_care(wf, record.id, CareEntry(actor="ops", step="acknowledge", party="beta",
                                                          text="Beta said on the phone: the feed broke", channel=Channel.cli))
        await accord.record_care(wf, record.id, CareEntry(actor="ben", step="acknowledge", text="The feed broke",
                                                          channel=Channel.email_link))
        await accord.record_care(wf, record.id, CareEntry(actor="abe", step="acknowledge", text="We need it weekly",
                                                          channel=Channel.email_link))
        care = (await accord.escalation(wf, record.id)).care
    assert {p: n.by for p, n in care.acknowledge.items()} == {"alpha": "abe", "beta": "ben"}
    assert [s.note.by for s in care.superseded] == ["ops"]


# ---------------------------------------------------------------------- decisions without a document


async def test_request_changes_is_refused_on_a_go_no_go(ts_env, settings, accord_for):
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(unique(DATA / "screening.yaml"))
        await pass_checklist(accord, wf, REQUIRED)
        await submit_statements(accord, wf, ALIGNED)
        await state_where(accord, wf, lambda s: "go-no-go" in s.approvals)
        with pytest.raises(ActionRefused, match="This decision has no document to change: approve or reject."):
            await decide(accord, wf, "go-no-go", "alice", DecisionKind.request_changes, "Tighten the goals")
        assert (await accord.state(wf)).approvals["go-no-go"].decisions == []
        # The request says what can be done.
        await eventually(lambda: _asked_plainly(settings))
        await decide(accord, wf, "go-no-go", "alice")
        await decide(accord, wf, "go-no-go", "bea")
        state = await state_where(accord, wf, lambda s: s.stage.value == "mou")
    assert state.approvals["go-no-go"].outcome.value == "approved"


async def _asked_plainly(settings) -> None:
    mails = [m for _, m in outbox.messages(settings.outbox_dir)
             if "alice@acme.example" in m["To"] and m["Subject"].startswith("Decision needed: Go/no-go")]
    assert mails and "Go/no-go decision: approve or reject." in outbox.body(mails[0], "plain")


# ---------------------------------------------------------------------- goal statements


async def test_the_same_statement_again_is_not_a_revision(ts_env, settings, accord_for):
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(unique(DATA / "screening.yaml"))
        await pass_checklist(accord, wf, REQUIRED)
        await submit_statements(accord, wf, {**ALIGNED, "bo": DIVERGENT})
        blocked = await state_where(accord, wf, lambda s: any(e.trigger == "alignment" for e in s.escalations))
        asked = {who: subjects_to(settings, f"{who}@", "Goal statements diverge") for who in ALIGNED}
        assert all(len(subjects) == 1 for subjects in asked.values()), asked

        # Bo sends the same text again, spaced differently: nothing happens, and Bo is told so.
        again = "  " + DIVERGENT.replace(" ", "  \n", 2) + "\n"
        result = await accord.submit_statement(wf, StatementSubmission(stakeholder="bo", text=again, channel=Channel.api))
        assert result.message.startswith("Your statement is unchanged")

        # A real revision is scored, passes, and the go/no-go opens.
        await submit_statements(accord, wf, {"bo": ALIGNED["bo"]})
        state = await state_where(accord, wf, lambda s: "go-no-go" in s.approvals)
    assert state.alignment.statements["bo"].revision == 2
    # Four statements and one revision: the repeat is not in the record as a statement.
    assert [e.kind for e in state.timeline].count("statement_submitted") == 5
    assert not state.alignment.result.blocked and blocked.alignment.result.blocked
    # Nobody was emailed again about the repeated statement.
    assert {who: subjects_to(settings, f"{who}@", "Goal statements diverge") for who in ALIGNED} == asked


# ---------------------------------------------------------------------- emails stuck in a provider outage


@pytest.fixture
def sg() -> Iterator[FakeSendGrid]:
    with FakeSendGrid() as fake:
        yield fake


def _to(request: Request) -> set[str]:
    body = request.body if isinstance(request.body, dict) else {}
    return {to.get("email") for p in body.get("personalizations", []) for to in p.get("to", [])}


async def test_an_email_still_failing_after_the_alert_time_reaches_ops(dev_env, settings, accord_for, sg, caplog):
    """SendGrid answers 503 to every email for Bo. Retries go on without end, but once an email
    has failed for longer than mail_alert_after (1 s here), ops are alerted once per email: an
    error in the log, a metric, the partnership's status and timeline, and one notice email per
    outage from each workflow (the partnership, and the escalation whose email is stuck too).
    When SendGrid takes Bo's email again, everything goes out once and the status clears."""
    down = True
    sg.chaos = Chaos(0, {"503": 1.0}, applies=lambda r: down and "bo@beta.example" in _to(r))
    settings = sendgrid_settings(settings, sg, mail_alert_after=1.0)
    accord = accord_for(dev_env)
    runtime, metrics_address = build_runtime(settings.model_copy(update={"metrics_port": 0}))
    client = await Client.connect(dev_env.client.service_client.config.target_host, runtime=runtime,
                                  data_converter=pydantic_data_converter)
    from accord.mail.sendgrid_backend import SendGridMailer

    mailer = SendGridMailer(API_KEY, host=sg.url, timeout=0.5, unknown_outcome_delay=0.3)
    caplog.set_level(logging.ERROR, logger="temporalio.activity")
    async with build(client, settings, mailer=mailer):
        wf = await accord.start(unique(DATA / "screening.yaml"))
        bo_tasks = {f"{wf}/{(await accord.state(wf)).chain_id}/task/{t}/assigned/0/bo" for t in ("legal", "statement-bo")}
        state = await state_where(accord, wf, lambda s: set(s.email_delays) == bo_tasks, timeout=60)
        assert state.health == Health.at_risk
        assert [e.kind for e in state.timeline].count("email_delayed") == 2
        _, record = await accord.raise_escalation(wf, EscalationRequest(reason="Legal is silent", level=1))
        escalation = await _escalation_where(accord, wf, record.id, lambda e: len(e.email_delays) == 1)
        [stuck] = escalation.email_delays.values()
        assert stuck.recipient == "bo" and "503" in stuck.error, stuck

        # The sends keep being retried after the alert: the alert is not repeated.
        await asyncio.to_thread(sg.wait_for_send, len(sg.sends()) + 6, 30)
        state = await accord.state(wf)
        assert [e.kind for e in state.timeline].count("email_delayed") == 2
        notices = [k for k in sg.accepted_keys() if "/email-delayed/" in k]
        assert len(notices) == 2, notices  # one per workflow and outage, to the one ops address
        assert all(k.endswith("/ops-0") for k in notices)
        partnership_notice = next(a for a in sg.accepted if a.send_key in notices and a.send_key.startswith(wf + "/"))
        assert partnership_notice.body["subject"] == "Email to Bo Beta (bo) delayed: Test screening partnership"
        assert total(await _metrics(metrics_address), "accord_emails_delayed_total") == 3
        errors = [r.getMessage() for r in caplog.records if "still failing" in r.getMessage()]
        assert len(errors) == 3 and all("bo" in m for m in errors), errors

        down = False
        state = await state_where(accord, wf, lambda s: not s.email_delays, timeout=60)
        await _escalation_where(accord, wf, record.id, lambda e: not e.email_delays)
    assert [e.kind for e in state.timeline].count("email_delay_ended") == 2
    accepted = sg.accepted_keys()
    assert all(accepted[k] == 1 for k in bo_tasks), "delivered once each"
    assert len([k for k in accepted if "/email-delayed/" in k]) == 2


RULES_PATCHES = {patch for _, patch, _ in versions.RULES}


async def test_under_the_old_rules_a_delayed_email_is_only_recorded(dev_env, settings, accord_for, sg):
    """A run on rules 0, as a run under way at the upgrade is (here a worker leaves the rules
    patch off for new runs: ``patch_activation_callback``), shows the delay in its status and
    timeline, and sends no notice about it."""
    down = True
    sg.chaos = Chaos(0, {"503": 1.0}, applies=lambda r: down and "bo@beta.example" in _to(r))
    settings = sendgrid_settings(settings, sg, mail_alert_after=1.0)
    accord = accord_for(dev_env)
    from accord.mail.sendgrid_backend import SendGridMailer

    mailer = SendGridMailer(API_KEY, host=sg.url, timeout=0.5, unknown_outcome_delay=0.3)
    async with build(dev_env.client, settings, mailer=mailer,
                     patch_activation_callback=lambda patch: patch.patch_id not in RULES_PATCHES):
        wf = await accord.start(unique(DATA / "screening.yaml"))
        state = await state_where(accord, wf, lambda s: len(s.email_delays) == 2, timeout=60)
        assert state.rules_version == 0 and state.health == Health.at_risk
        assert [e.kind for e in state.timeline].count("email_delayed") == 2
        down = False
        await state_where(accord, wf, lambda s: not s.email_delays, timeout=60)
        await quiescent(accord, [wf])  # every email settled: a notice would be out by now
    assert not [k for k in sg.accepted_keys() if "/email-delayed/" in k]


async def _escalation_where(accord, wf: str, escalation_id: str, predicate, timeout: float = 60):
    async def check():
        escalation = await accord.escalation(wf, escalation_id)
        assert predicate(escalation), escalation.email_delays
        return escalation

    return await eventually(check, timeout)


async def _metrics(address: str) -> dict:
    async with httpx.AsyncClient() as http:
        return parse_prometheus((await http.get(f"http://{address}/metrics", timeout=5)).text)
