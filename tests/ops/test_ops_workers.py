"""Real `accord worker` processes on the dev server: scale-out, metrics, JSON logs, SIGTERM.

- Two workers on one task queue complete a batch of partnerships together: both
  identities appear in the histories, and each worker's /metrics counts its share.
- Accord's metrics move as work happens (emails, stages, overdue tasks, escalations).
- SIGTERM while an email is being sent: the send completes (exactly once), the process
  exits 0, and the workflow goes on with a new worker.
"""

from __future__ import annotations

import asyncio

import httpx
import yaml
from pydantic import SecretStr

from accord.config import Settings
from accord.mail.sendgrid_backend import SendGridMailer
from accord.models import Channel, DecisionInput, DecisionKind, EscalationRequest, Stage
from accord.storage import open_storage
from tests.support.fake_sendgrid import FakeSendGrid, slow
from tests.support.helpers import (
    ALIGNED,
    eventually,
    pass_checklist,
    state_where,
    submit_statements,
    unique,
)
from tests.support.ops_helpers import (
    identities,
    start_worker,
    total,
    workflow_task_retries,
)
from tests.support.paths import DATA
from tests.support.workers import running_worker

KEY = "k" * 32


def fast_definition(tmp_path):
    """screening.yaml with the capability audit due 2 s after the start, and no reminders for it."""
    raw = yaml.safe_load((DATA / "screening.yaml").read_text())
    raw["screening"]["checklist"][0].update(due="2s", reminders={"before": []})
    path = tmp_path / "fast.yaml"
    path.write_text(yaml.safe_dump(raw))
    return unique(path)


def worker_env(dev_env, settings: Settings, **more) -> dict[str, str]:
    return {
        "temporal_address": dev_env.client.service_client.config.target_host,
        "task_queue": settings.task_queue,
        "data_dir": str(settings.data_dir),
        "signing_keys": KEY,
        "web_base_url": settings.web_base_url,
        **more,
    }


async def to_mou(accord, wf: str) -> None:
    await pass_checklist(accord, wf, {"capability": "arun", "legal": "bo"})
    await submit_statements(accord, wf, ALIGNED)
    await state_where(accord, wf, lambda s: "go-no-go" in s.approvals, timeout=30)
    for who in ("alice", "bea"):
        await accord.decide(wf, DecisionInput(approval_id="go-no-go", actor=who, decision=DecisionKind.approve,
                                              channel=Channel.api))
    await state_where(accord, wf, lambda s: s.stage == Stage.mou and "mou" in s.approvals, timeout=30)


async def test_two_workers_share_a_batch_with_metrics_and_json_logs(dev_env, settings, accord_for, tmp_path):
    workers = [start_worker(name, tmp_path, **worker_env(dev_env, settings)) for name in ("worker-a", "worker-b")]
    try:
        await asyncio.gather(*(asyncio.to_thread(w.wait_ready) for w in workers))
        accord = accord_for(dev_env)
        batch = [await accord.start(fast_definition(tmp_path)) for _ in range(4)]

        def emails_sent() -> float:
            return sum(total(w.metrics(), "accord_emails_sent_total") for w in workers)

        async def first_emails_out() -> float:
            sent = emails_sent()
            assert sent >= 4 * 7, sent  # every task's first email, in every partnership
            return sent

        sent_before = await eventually(first_emails_out, timeout=60, interval=0.3)

        async def retries() -> int:
            return sum([await workflow_task_retries(dev_env.client, wf) for wf in batch])

        async def overdue_counted() -> None:
            counted = sum(total(w.metrics(), "accord_tasks_overdue_total", kind="checklist") for w in workers)
            # The capability audit of each, once, whichever worker saw it; a workflow task that
            # timed out on a loaded machine ran once more, and may have counted once more.
            assert 4 <= counted <= 4 + await retries(), counted
        await eventually(overdue_counted, timeout=30, interval=0.3)

        await asyncio.gather(*(to_mou(accord, wf) for wf in batch))

        samples = [w.metrics() for w in workers]
        assert sum(total(s, "accord_emails_sent_total") for s in samples) > sent_before  # go/no-go and MOU emails
        assert 4 <= sum(total(s, "accord_stage_entered_total", stage="mou") for s in samples) <= 4 + await retries()
        assert 4 <= sum(total(s, "accord_tasks_overdue_closed_total", kind="checklist") for s in samples) <= 4 + await retries()
        # Both did work: their own counters, and their identities in the histories.
        assert all(total(s, "accord_emails_sent_total") > 0 for s in samples), samples
        assert all(total(s, "temporal_activity_execution_latency_count") > 0 for s in samples)
        seen: set[str] = set()
        for wf in batch:
            seen |= await identities(dev_env.client, wf)
        assert {"worker-a", "worker-b"} <= seen, seen

        # Escalations open by level, from visibility (each worker reports the same number).
        def open_at_level_3() -> float:
            return max(total(w.metrics(), "accord_escalations_open", level="3") for w in workers)

        before = open_at_level_3()
        await accord.escalate(batch[0], EscalationRequest(reason="Data migration slipping", level=2, raised_by="ops",
                                                          channel=Channel.api))

        async def escalation_gauge() -> None:
            # Level 2 of 2 is the last: the child reports level 2 (3 = with ops, after it).
            assert max(total(w.metrics(), "accord_escalations_open", level="2") for w in workers) >= 1
            assert max(total(w.metrics(), "accord_partnerships", stage="mou") for w in workers) >= 4
        await eventually(escalation_gauge, timeout=30, interval=0.3)
        assert open_at_level_3() == before
        state = await state_where(accord, batch[0], lambda s: s.escalations and s.escalations[0].workflow_id)
        await dev_env.client.get_workflow_handle(state.escalations[0].workflow_id).terminate(reason="test finished")

        async with httpx.AsyncClient() as http:
            health = (await http.get(workers[0].url + "/healthz")).json()
            ready = (await http.get(workers[0].url + "/readyz")).json()
        assert health == {"status": "ok"} and ready["status"] == "ready" and ready["temporal"] == "ok"
    finally:
        codes = [await asyncio.to_thread(w.terminate) for w in workers]
    assert codes == [0, 0], "\n\n".join(f"{w.identity} exited {c}:\n" + "\n".join(w.log_lines()[-20:])
                                        for w, c in zip(workers, codes, strict=True) if c)

    # Structured logs: one JSON object a line; workflow and activity lines carry the workflow id.
    logs = [entry for w in workers for entry in w.json_logs()]
    assert all(w.log_lines() and len(w.json_logs()) == len(w.log_lines()) for w in workers)
    stages = [e for e in logs if "entered stage mou" in e["message"]]
    assert {e["workflow_id"] for e in stages} == set(batch)
    assert all(e["workflow_type"] == "PartnershipWorkflow" and e["stage"] == "mou" for e in stages)
    sent = [e for e in logs if e["message"].startswith("email ") and " sent as " in e["message"]]
    assert sent and all(e["workflow_id"] and e["activity_type"] == "send_email" for e in sent)
    assert {e["workflow_id"] for e in sent if e["workflow_type"] == "PartnershipWorkflow"} == set(batch)
    overdue = [e for e in logs if "is overdue" in e["message"]]
    assert len(overdue) == 4 and all(e["level"] == "WARNING" and e["task_id"] == "capability" for e in overdue)


async def test_sigterm_lets_the_running_send_finish_then_a_new_worker_continues(dev_env, settings, accord_for, tmp_path):
    with FakeSendGrid() as sg:
        sg.script(slow(4))  # the first email takes 4 s to be accepted
        mail = {"mail_backend": "sendgrid", "sendgrid_api_key": "SG.test", "sendgrid_host": sg.url,
                "sendgrid_timeout": "30", "worker_shutdown_grace": "20"}
        old = start_worker("old-worker", tmp_path, **worker_env(dev_env, settings, **mail))
        try:
            await asyncio.to_thread(old.wait_ready)
            accord = accord_for(dev_env)
            wf = await accord.start(unique(DATA / "screening.yaml"))
            await asyncio.to_thread(sg.wait_for_send, 1, 30)
            slow_key = sg.sends()[0].send_key
            old.process.send_signal(__import__("signal").SIGTERM)
            code = await asyncio.to_thread(old.process.wait, 30)
        finally:
            old.kill()
        assert code == 0, old.log_lines()[-20:]
        # The send in flight finished during the grace period: recorded as sent, delivered once.
        async with await open_storage(settings) as store:
            entry = await store.get_send(slow_key)
        assert entry is not None and entry.status == "sent", entry
        assert sg.deliveries(slow_key) == 1
        messages = [e["message"] for e in old.json_logs()]
        assert any(m.startswith("shutting down") for m in messages) and messages[-1] == "worker stopped"

        new_settings = settings.model_copy(update={"mail_backend": "sendgrid", "worker_identity": "new-worker",
                                                   "signing_keys": SecretStr(KEY)})
        mailer = SendGridMailer("SG.test", host=sg.url, timeout=10)
        async with running_worker(dev_env.client, new_settings, mailer=mailer):
            await pass_checklist(accord, wf, {"legal": "bo"})
            state = await state_where(accord, wf, lambda s: s.tasks["legal"].completed_by == "bo", timeout=30)

            async def every_email_once() -> None:
                keys = {r.send_key for r in sg.sends()}
                assert len(keys) >= 7 and all(sg.deliveries(k) == 1 for k in keys)
            await eventually(every_email_once, timeout=30)
        assert state.stage == Stage.screening
        ran = await identities(dev_env.client, wf)
        assert {"old-worker", "new-worker"} <= ran, ran
        # The slow send's activity was completed by the old worker, during its shutdown.
        scheduled, completed_by = None, {}
        async for event in dev_env.client.get_workflow_handle(wf).fetch_history_events():
            attrs = event.activity_task_scheduled_event_attributes
            if attrs.activity_type.name == "send_email" and slow_key.encode() in attrs.input.payloads[0].data:
                scheduled = event.event_id
            done = event.activity_task_completed_event_attributes
            if done.scheduled_event_id:
                completed_by[done.scheduled_event_id] = done.identity
        assert scheduled is not None and completed_by[scheduled] == "old-worker"
