"""Stuck partnerships on the real dev server: detected, shown (metric, `accord list`, the watchdog's
email to ops, once), explained by `accord doctor`, and reset only when the failure is the SDK's
replay bug (temporalio/sdk-python#1591) and every safety condition holds.

Partnerships are made stuck on purpose by tests/support/stuck_helpers.py (a test worker interceptor): a
workflow task that raises forever (a bug: never reset), and the #1591 history shape (a timer
written before an update's acceptance in one workflow task; replay puts the acceptance first).
"""

from __future__ import annotations

import json
import os
from datetime import timedelta

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

import worker as accord_worker
from accord.ops import doctor, stuck
from accord.ops.monitor import VisibilityGauges
from accord.storage import open_storage
from tests.support import stuck_helpers
from tests.support.helpers import eventually, state_where
from tests.support.ops_helpers import cli, parse_prometheus, total
from tests.support.paths import DATA
from tests.support.stuck_helpers import WINDOW, started, stuck_as, tainted
from workflows.partnership import PartnershipWorkflow

FIXTURE = DATA / "stuck" / "sdk-1591-shape.json"










async def run_id(client, wf: str) -> str:
    return (await client.get_workflow_handle(wf).describe()).run_id


async def test_a_workflow_code_error_is_detected_shown_and_emailed_once_and_never_reset(
        dev_env, settings, accord_for, cli_env):
    client = dev_env.client
    settings = settings.model_copy(update={"watchdog_interval": 1.0, "stuck_task_attempts": 2,
                                           "ops_emails": ["night-desk@accord.test"]})
    accord = accord_for(dev_env)
    async with stuck_helpers.worker(client, settings):
        wf = await started(accord, settings)
        before = await run_id(client, wf)
        await accord.handle(wf).signal(PartnershipWorkflow.email_event, stuck_helpers.event("boom"))
        watchdog = await accord_worker.ensure_watchdog(client, settings)
        accord.started.append(watchdog)  # recorded (and replayed) like the partnerships
        assert await accord_worker.ensure_watchdog(client, settings) == watchdog  # idempotent: one per task queue

        problem = await stuck_as(client, wf, stuck.Kind.workflow_error)
        assert "boom: a bug in workflow code" in problem.message and problem.reset_event_id is None

        # The ops email: to the partnership's own ops and the configured address, once each.
        async def stuck_sends():
            async with await open_storage(settings) as store:
                return [e for e in await store.list_sends() if f"/stuck/{wf}/" in e.send_key]

        async def emailed():
            sends = await stuck_sends()
            assert len(sends) == 2 and all(e.status == "sent" for e in sends), sends
            return sorted(e.send_key for e in sends)

        sends = await eventually(emailed, timeout=WINDOW, interval=0.5)
        mails = [p.read_text() for p in settings.outbox_dir.rglob("*.eml")]
        notice = [m for m in mails if f"Stuck: {wf} (workflow-error)" in m]
        assert {("ops@accord.example" in m, "night-desk@accord.test" in m) for m in notice} == {(True, False), (False, True)}
        assert all("boom: a bug in workflow code" in m and "will not reset it" in m for m in notice)
        # More looks by the watchdog (and a restarted watchdog) send nothing more for this episode.
        await client.get_workflow_handle(watchdog).terminate(reason="test: a new watchdog must not resend")
        await accord_worker.ensure_watchdog(client, settings)
        await eventually(lambda: _rounds(client, watchdog, 2), timeout=60, interval=0.5)
        assert sorted(e.send_key for e in await stuck_sends()) == sends

        # The metric on a worker's /metrics.
        port = _free_port()
        runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"127.0.0.1:{port}")))
        await VisibilityGauges(client, runtime, 30, stuck_task_attempts=2).collect_once()
        async with httpx.AsyncClient() as http:
            samples = parse_prometheus((await http.get(f"http://127.0.0.1:{port}/metrics", timeout=5)).text)
        assert total(samples, "accord_partnerships_stuck", kind="workflow-error") >= 1, samples

        # The mark in `accord list`, plain and --json.
        listed = await cli(["list", *cli_env])
        assert listed.exit_code == 0, listed.output
        line = next(row for row in listed.output.splitlines() if wf in row)
        assert "STUCK (workflow-error since" in line
        rows = [json.loads(x) for x in (await cli(["list", "--json", *cli_env])).output.splitlines() if x.startswith("{")]
        mine = next(r for r in rows if r["workflow_id"] == wf)
        assert mine["stuck"]["kind"] == "workflow-error" and "boom" in mine["stuck"]["message"]

        # Never reset: not by `accord doctor --fix --yes`, not by the recovery process.
        result = await cli(["doctor", wf, "--fix", "--yes", *cli_env])
        assert result.exit_code == 1, result.output
        assert "STUCK, workflow-error" in result.output and "not reset: not the SDK replay bug" in result.output
        assert "last good workflow task: completed at event" in result.output
        round_ = await doctor.recover_once(client, accord_worker.WORKFLOWS, doctor.RateLimit(10), query=stuck.partnerships_on(settings.task_queue),
                                           stuck_activity_after=timedelta(hours=1), task_attempts=2, done=set())
        assert round_.reset == [] and wf in [v.problem.workflow_id for v in round_.reported]
        assert await run_id(client, wf) == before


async def test_the_sdk_replay_bug_is_detected_explained_and_reset_with_its_updates_applied_again(
        dev_env, settings, accord_for, cli_env):
    client = dev_env.client
    accord = accord_for(dev_env)
    wf = await tainted(client, accord, settings)
    handle = accord.handle(wf)
    # 3. The next worker replays that history (a restart: nothing cached) and fails on every attempt.
    async with stuck_helpers.worker(client, settings, broken=False):
        await handle.signal(PartnershipWorkflow.email_event, stuck_helpers.event())
        problem = await stuck_as(client, wf, stuck.Kind.sdk_1591)
        assert stuck.SDK_1591 in problem.message and problem.reset_event_id is not None
        history = await handle.fetch_history()
        if os.environ.get("ACCORD_SAVE_STUCK_FIXTURE"):
            FIXTURE.parent.mkdir(parents=True, exist_ok=True)
            FIXTURE.write_text(history.to_json())
        before = await run_id(client, wf)

        # `accord doctor` explains it and changes nothing without --fix (and without a yes).
        result = await cli(["doctor", wf, *cli_env])
        assert result.exit_code == 1, result.output
        assert "STUCK, sdk-python-1591" in result.output and "a reset can recover it" in result.output
        assert f"reset to event {problem.reset_event_id}" in result.output and "accord doctor --fix" in result.output
        declined = await cli(["doctor", wf, "--fix", *cli_env], input="n\n")
        assert declined.exit_code == 1 and "left as it is" in declined.output, declined.output
        assert await run_id(client, wf) == before

        # --fix with a person's yes: reset to the last good task; the update is applied again, once.
        fixed = await cli(["doctor", wf, "--fix", *cli_env], input="y\n")
        assert fixed.exit_code == 0, fixed.output
        assert f"reset to event {problem.reset_event_id}; new run" in fixed.output
        after = await run_id(client, wf)
        assert after != before
        state = await state_where(accord, wf, lambda s: s.tasks["legal"].completed_by == "bo", timeout=30)
        assert state.tasks["legal"].result == "cleared"
        assert [e.kind for e in state.timeline].count("task_completed") == 1
        assert (await cli(["doctor", wf, *cli_env])).output.strip() == "no stuck partnerships"
        new_events = list((await handle.fetch_history()).events)
        assert stuck.reset_by_accord(new_events)
        assert sum(e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED for e in new_events) >= 1
        # No email twice: every send key in the ledger is sent at most once (the outbox writes one file per key).
        async with await open_storage(settings) as store:
            assert all(e.attempts >= 1 for e in await store.list_sends())
        # The reset run is never reset by Accord again, whatever happens to it.
        verdict = await doctor.check(client, problem.model_copy(update={"run_id": after}), accord_worker.WORKFLOWS)
        assert not verdict.resettable and any("reset this partnership before" in r for r in verdict.reasons)




async def _rounds(client, watchdog: str, n: int) -> bool:
    events = (await client.get_workflow_handle(watchdog).fetch_history()).events
    done = sum(e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED for e in events)
    assert done >= n, done
    return True


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
