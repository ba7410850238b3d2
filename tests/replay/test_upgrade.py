"""Partnerships started on the previous release are finished by this one.

The previous release's worker (tests/support/previous_release.py) runs four partnerships of the
compressed lifecycle into the middle of their lives: one in screening with some tasks
done and an escalation open, one in MOU signature with one signature given, one active with
an escalation open and acknowledged, one active with an amendment waiting for approval. Then
it is stopped (SIGTERM, as a deployment does) and this release's worker takes over: the one
in screening is declined at its go/no-go (its escalation is withdrawn), every other one is
driven to its close. Nothing may fail a workflow task on the way, in the partnerships
or their escalations, and each partnership's history shows both workers at work. The
histories join the run's recorded set, so the replay test replays them on this code too.

The rules (workflows/versions.py): a run started on the previous release keeps its rules
(version 0) to its end on this code, even for a rule this release changed (a stakeholder
of Alpha records Beta's CARE perspective in the escalation raised before the upgrade);
a fifth partnership, with a short history limit, shows that its next run after a
continue-as-new on this code takes the new rules; and a partnership started on this
release follows them (a request for changes on its go/no-go is refused, and so is a CARE
perspective recorded for another party).
"""

from __future__ import annotations

import asyncio
import json

import pytest
import yaml

from accord import search_attributes as sa
from accord.client import ActionRefused, workflow_id_for
from accord.config import Settings
from accord.logic import schedule
from accord.models import (
    Acknowledge,
    AmendmentStatus,
    CareEntry,
    Channel,
    DecisionInput,
    DecisionKind,
    EscalationRequest,
    PartnershipState,
    Resolve,
    Stage,
)
from accord.storage import open_storage
from definitions.loader import parse
from tests.support import history_files, lifecycle
from tests.support.lifecycle import Inbox
from tests.support.paths import DATA
from tests.support.previous_release import OLD_IDENTITY, extract, old_worker, stop
from tests.support.workers import running_worker
from workflows.versions import LATEST

NEW_IDENTITY = "this-release"
TIMEOUT = 150


def identities(histories) -> set[str]:
    """The workers that completed workflow tasks in these histories."""
    return {e.workflow_task_completed_event_attributes.identity for h in histories for e in h.events
            if e.HasField("workflow_task_completed_event_attributes")}


def first_worker(history) -> str:
    return next(e.workflow_task_completed_event_attributes.identity for e in history.events
                if e.HasField("workflow_task_completed_event_attributes"))


def rules_at_end(history) -> int:
    """The rules version of the state a run handed over (continue-as-new) or returned."""
    last = history.events[-1]
    if last.HasField("workflow_execution_continued_as_new_event_attributes"):
        state = json.loads(last.workflow_execution_continued_as_new_event_attributes.input.payloads[0].data)["state"]
    else:
        state = json.loads(last.workflow_execution_completed_event_attributes.result.payloads[0].data)
    return state.get("rules_version", 0)  # the previous release's states have no such field


async def test_partnerships_started_on_the_previous_release_finish_on_this_one(dev_env, accord_for, tmp_path):
    old_tree = extract(tmp_path / "previous")
    settings = Settings(data_dir=tmp_path / "accord", task_queue=f"upgrade-{tmp_path.name[-8:]}", allow_short_durations=True,
                        web_base_url="http://accord.test", worker_identity=NEW_IDENTITY,
                        signing_keys="upgrade-test-signing-key-0123456789abcdef")
    address = dev_env.client.service_client.config.target_host
    env = {"ACCORD_TEMPORAL_ADDRESS": address, "ACCORD_TASK_QUEUE": settings.task_queue,
           "ACCORD_DATA_DIR": str(settings.data_dir), "ACCORD_WEB_BASE_URL": settings.web_base_url,
           "ACCORD_SIGNING_KEYS": settings.signing_keys.get_secret_value()}
    accord = accord_for(dev_env)
    accord.settings = settings
    store = await open_storage(settings)  # what both releases' workers write: this release reads it
    inbox = Inbox(store)
    raw = yaml.safe_load((DATA / "lifecycle.yaml").read_text())

    async def start(name: str, **options) -> tuple[str, object]:
        data = {**raw, "id": f"upgrade-{name}-{tmp_path.name[-8:]}".lower()}
        definition = parse(yaml.safe_dump(data), allow_short=True)
        wf = workflow_id_for(definition.id)
        # The definition as plain data, as the previous release's client would send it.
        await dev_env.client.start_workflow("PartnershipWorkflow", {"definition": data, **options}, id=wf,
                                            task_queue=settings.task_queue, search_attributes=sa.initial(definition))
        accord.started.append(wf)
        return wf, definition

    def drive(wf, steps, until):
        return lifecycle.drive(accord, wf, steps, inbox=inbox, until=until, timeout=TIMEOUT)

    log = tmp_path / "previous-worker.log"
    try:
        with old_worker(old_tree, env, log) as process:
            (screening, d1), (signing, d2), (escalated, d3), (amending, d4) = [
                await start(n) for n in ("screening", "signing", "escalated", "amending")]
            # Continues as new every hundred events or so: weekly statuses every 6 s add them.
            continuing, d5 = await start("continuing", history_limit=100)
            first_two = lifecycle.screening_steps(d1, Channel.api)[:2]
            await asyncio.gather(
                drive(screening, first_two, lambda s: "ann" in s.alignment.statements),
                drive(signing, lifecycle.screening_steps(d2, Channel.api) + lifecycle.mou_steps(d2, Channel.api)[:1],
                      lambda s: "mou" in s.approvals and len(s.approvals["mou"].decisions) == 1),
                drive(escalated, lifecycle.script(d3, through=Stage.active, reviews=0), Stage.active),
                drive(amending, lifecycle.script(d4, through=Stage.active, reviews=0), Stage.active),
                drive(continuing, lifecycle.script(d5, through=Stage.active, reviews=0), Stage.active),
            )
            _, record = await accord.raise_escalation(escalated, EscalationRequest(reason="Kickoff notes never arrived"))
            await accord.acknowledge(escalated, record.id, Acknowledge(actor="abe", note="On it"))
            # Still open when this release declines that partnership at its go/no-go.
            await accord.raise_escalation(screening, EscalationRequest(reason="The sponsor left Beta"))
            amended = {**raw, "id": d4.id, "name": "Lifecycle partnership (amended)"}
            await dev_env.client.get_workflow_handle(amending).execute_update(
                "propose_amendment", {"definition": amended, "actor": "ops", "reason": "A clearer name"})
            assert stop(process) == 0, log.read_text()[-3000:]

        async with running_worker(dev_env.client, settings):
            # Raised before the upgrade, the escalation keeps the rules it started with: Abe
            # (Alpha) may still record Beta's perspective there.
            for step, actor, party in (("clarify", "abe", None), ("acknowledge", "abe", None),
                                       ("acknowledge", "abe", "beta"), ("reframe", "ben", None), ("explore", "ann", None)):
                await accord.record_care(escalated, record.id, CareEntry(actor=actor, step=step, text=f"{step} by {actor}",
                                                                        party=party))
            old_escalation = await accord.escalation(escalated, record.id)
            assert old_escalation.rules_version == 0 and old_escalation.care.acknowledge["beta"].by == "abe"

            # A partnership started on this release follows the new rules.
            fresh, d6 = await start("fresh")
            await drive(fresh, lifecycle.screening_steps(d6, Channel.api)[:3], lambda s: "go-no-go" in s.approvals)
            assert (await accord.state(fresh)).rules_version == LATEST
            assert (await accord.state(fresh)).schedule_version == 1  # new partnerships keep dates locally
            with pytest.raises(ActionRefused, match="This decision has no document to change: approve or reject."):
                await accord.decide(fresh, DecisionInput(approval_id="go-no-go", actor="ann", comment="Not yet",
                                                         decision=DecisionKind.request_changes, channel=Channel.api))
            _, new_record = await accord.raise_escalation(fresh, EscalationRequest(reason="Kickoff notes never arrived"))
            await accord.acknowledge(fresh, new_record.id, Acknowledge(actor="abe"))
            with pytest.raises(ActionRefused, match="Beta GmbH's perspective is recorded by Beta GmbH's people or by ops."):
                await accord.record_care(fresh, new_record.id, CareEntry(actor="abe", step="acknowledge", party="beta",
                                                                          text="Beta agrees", channel=Channel.email_link))
            await accord.resolve(escalated, record.id, Resolve(actor="ann", resolution="Notes go out the same day"))
            for who in ("ann", "ben"):
                await accord.decide(amending, DecisionInput(approval_id="amendment-1", actor=who,
                                                            decision=DecisionKind.approve, channel=Channel.api))
            async def continue_then_close():
                # Its run from the previous release continues as new on this code: the next run
                # takes the new rules. Then ops close it.
                await drive(continuing, [], lambda s: s.rules_version == LATEST)
                closed = await drive(continuing, lifecycle.closure_steps(d5, Channel.api, reviews=0), Stage.closed)
                await dev_env.client.get_workflow_handle(continuing).result()  # its last run returns its state
                return closed

            async def decline():
                # Its go/no-go rejected on this release: it ends there and withdraws the escalation
                # raised on the previous one (patch withdraw-escalations-when-declined).
                go_no_go = d1.screening.go_no_go.approvers
                await drive(screening, lifecycle.screening_steps(d1, Channel.api)[:-len(go_no_go)],
                            lambda s: "go-no-go" in s.approvals)
                await accord.decide(screening, DecisionInput(approval_id="go-no-go", actor=go_no_go[0],
                                                             decision=DecisionKind.reject, comment="Not this year",
                                                             channel=Channel.api))
                await dev_env.client.get_workflow_handle(screening).result()
                return await drive(screening, [], Stage.rejected)

            *ends, continued = await asyncio.gather(decline(), *(
                drive(wf, lifecycle.script(d, through=Stage.closed, reviews=2), Stage.closed)
                for wf, d in ((signing, d2), (escalated, d3), (amending, d4))), continue_then_close())
    except BaseException:
        print(f"--- the previous release's worker log ({log}):\n{log.read_text()[-5000:]}")
        raise
    finally:
        await store.close()

    finals: list[PartnershipState] = [e.final for e in ends]
    assert [s.stage for s in finals] == [Stage.rejected] + [Stage.closed] * 3
    withdrawn = finals[0].escalations[0]
    assert withdrawn.status == "withdrawn" and "The partnership ended (screening -> rejected" in withdrawn.closed_cause
    assert [s.rules_version for s in finals] == [0] * 4, "started on the previous release, finished on its rules"
    assert continued.final.stage == Stage.closed and continued.final.rules_version == LATEST
    # Unlike the rules, the schedule is the partnership's for life: its runs on this code,
    # after continue-as-new, still compute dates as the previous release did (launch + n x every).
    assert [s.schedule_version for s in [*finals, continued.final]] == [0] * 5
    every = d5.reviews.weekly_status.every
    weekly = [r for r in continued.final.reviews.values() if r.kind.value == "weekly_status"]
    assert weekly and all(r.scheduled_for == schedule.occurrence(continued.final.launched_at, every, r.n) for r in weekly)
    assert finals[2].escalations[0].status == "resolved"
    assert finals[3].amendments[0].status == AmendmentStatus.applied
    assert finals[3].name == "Lifecycle partnership (amended)"
    for wf in (screening, signing, escalated, amending, continuing, fresh):
        recorded = await history_files.everything_of(dev_env.client, wf)
        for r in recorded:
            assert history_files.task_failures(r.history) == [], f"{r.workflow_id} failed a workflow task"
        parent = [r.history for r in recorded if r.workflow_id == wf]
        if wf != fresh:
            assert {OLD_IDENTITY, NEW_IDENTITY} <= identities(parent), f"{wf} was not run by both releases"

    # Run by run: each run keeps the rules it started with, whichever worker finishes it; only
    # a run started on this release (after a continue-as-new) takes the new ones.
    runs = [r.history for r in await history_files.everything_of(dev_env.client, continuing)
            if r.workflow_id == continuing]
    by_worker = [(first_worker(h), NEW_IDENTITY in identities([h]), rules_at_end(h)) for h in runs]
    print(f"runs of {continuing} (first worker, carried on by this release, rules at the end): {by_worker}")
    assert all(rules == 0 for first, _, rules in by_worker if first == OLD_IDENTITY), by_worker
    assert all(rules == LATEST for first, _, rules in by_worker if first == NEW_IDENTITY), by_worker
    assert any(first == OLD_IDENTITY and carried_on for first, carried_on, _ in by_worker), \
        f"no run of the previous release was carried on by this one: {by_worker}"
    assert by_worker[-1][0] == NEW_IDENTITY
