"""Partnerships started on the previous release are finished by this one.

The previous release's worker (tests/previous_release.py) runs four partnerships of the
compressed lifecycle into the middle of their lives: one in screening with some tasks
done, one in MOU signature with one signature given, one active with an escalation open
and acknowledged, one active with an amendment waiting for approval. Then it is stopped
(SIGTERM, as a deployment does) and this release's worker takes over: every partnership
is driven to its close. Nothing may fail a workflow task on the way, in the partnerships
or their escalations, and each partnership's history shows both workers at work. The
histories join the run's recorded set, so the replay test replays them on this code too.
"""

from __future__ import annotations

import asyncio
import yaml

from accord import search_attributes as sa
from accord.config import Settings
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
from accord.client import workflow_id_for
from definitions.loader import parse
from tests import history_files, lifecycle
from tests.conftest import DATA, running_worker
from tests.previous_release import OLD_IDENTITY, extract, old_worker, stop
from tests.lifecycle import Inbox

NEW_IDENTITY = "this-release"
TIMEOUT = 150


def identities(histories) -> set[str]:
    """The workers that completed workflow tasks in these histories."""
    return {e.workflow_task_completed_event_attributes.identity for h in histories for e in h.events
            if e.HasField("workflow_task_completed_event_attributes")}


async def test_partnerships_started_on_the_previous_release_finish_on_this_one(dev_env, accord_for, tmp_path):
    old_tree = extract(tmp_path / "previous")
    settings = Settings(data_dir=tmp_path / "accord", task_queue=f"upgrade-{tmp_path.name[-8:]}",
                        web_base_url="http://accord.test", worker_identity=NEW_IDENTITY,
                        signing_keys="upgrade-test-signing-key-0123456789abcdef")
    address = dev_env.client.service_client.config.target_host
    env = {"ACCORD_TEMPORAL_ADDRESS": address, "ACCORD_TASK_QUEUE": settings.task_queue,
           "ACCORD_DATA_DIR": str(settings.data_dir), "ACCORD_WEB_BASE_URL": settings.web_base_url,
           "ACCORD_SIGNING_KEYS": settings.signing_keys.get_secret_value()}
    accord = accord_for(dev_env)
    accord.settings = settings
    inbox = Inbox(settings.ledger_path)
    raw = yaml.safe_load((DATA / "lifecycle.yaml").read_text())

    async def start(name: str) -> tuple[str, object]:
        data = {**raw, "id": f"upgrade-{name}-{tmp_path.name[-8:]}".lower()}
        definition = parse(yaml.safe_dump(data))
        wf = workflow_id_for(definition.id)
        # The definition as plain data, as the previous release's client would send it.
        await dev_env.client.start_workflow("PartnershipWorkflow", {"definition": data}, id=wf,
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
            first_two = lifecycle.screening_steps(d1, Channel.api)[:2]
            await asyncio.gather(
                drive(screening, first_two, lambda s: "ann" in s.alignment.statements),
                drive(signing, lifecycle.screening_steps(d2, Channel.api) + lifecycle.mou_steps(d2, Channel.api)[:1],
                      lambda s: "mou" in s.approvals and len(s.approvals["mou"].decisions) == 1),
                drive(escalated, lifecycle.script(d3, through=Stage.active, reviews=0), Stage.active),
                drive(amending, lifecycle.script(d4, through=Stage.active, reviews=0), Stage.active),
            )
            _, record = await accord.raise_escalation(escalated, EscalationRequest(reason="Kickoff notes never arrived"))
            await accord.acknowledge(escalated, record.id, Acknowledge(actor="abe", note="On it"))
            amended = {**raw, "id": d4.id, "name": "Lifecycle partnership (amended)"}
            await dev_env.client.get_workflow_handle(amending).execute_update(
                "propose_amendment", {"definition": amended, "actor": "ops", "reason": "A clearer name"})
            assert stop(process) == 0, log.read_text()[-3000:]

        async with running_worker(dev_env.client, settings):
            for step, actor, party in (("clarify", "abe", None), ("acknowledge", "abe", None),
                                       ("acknowledge", "ben", None), ("reframe", "ben", None), ("explore", "ann", None)):
                await accord.record_care(escalated, record.id, CareEntry(actor=actor, step=step, text=f"{step} by {actor}",
                                                                        party=party))
            await accord.resolve(escalated, record.id, Resolve(actor="ann", resolution="Notes go out the same day"))
            for who in ("ann", "ben"):
                await accord.decide(amending, DecisionInput(approval_id="amendment-1", actor=who,
                                                            decision=DecisionKind.approve, channel=Channel.api))
            ends = await asyncio.gather(*(
                drive(wf, lifecycle.script(d, through=Stage.closed, reviews=2), Stage.closed)
                for wf, d in ((screening, d1), (signing, d2), (escalated, d3), (amending, d4))))
    except BaseException:
        print(f"--- the previous release's worker log ({log}):\n{log.read_text()[-5000:]}")
        raise

    finals: list[PartnershipState] = [e.final for e in ends]
    assert [s.stage for s in finals] == [Stage.closed] * 4
    assert finals[2].escalations[0].status == "resolved"
    assert finals[3].amendments[0].status == AmendmentStatus.applied
    assert finals[3].name == "Lifecycle partnership (amended)"
    for wf in (screening, signing, escalated, amending):
        recorded = await history_files.everything_of(dev_env.client, wf)
        for r in recorded:
            assert history_files.task_failures(r.history) == [], f"{r.workflow_id} failed a workflow task"
        parent = [r.history for r in recorded if r.workflow_id == wf]
        assert {OLD_IDENTITY, NEW_IDENTITY} <= identities(parent), f"{wf} was not run by both releases"
