"""A partnership started on the previous release keeps its dates for life, on the time-skipping
server: months of reviews after the upgrade, across continue-as-new, still fall at
launch + n x every (schedule version 0), as that release computed them. (A partnership started
on this release keeps its meetings at their local time across daylight-saving changes:
tests/workflows/test_calendar_workflow.py.)

The previous release's worker runs as its own process against the time-skipping server. It
runs without a workflow cache: a worker with a cache takes a sticky queue, and the Java test
server keeps handing a stopped worker's partnerships to that queue (it does not implement
ResetStickyTaskQueue), so the new worker would never see them. Without a cache every workflow
task goes to the task queue that both releases poll.
"""

from __future__ import annotations

from datetime import timedelta

import yaml

from accord import search_attributes as sa
from accord.client import workflow_id_for
from accord.config import Settings
from accord.logic import schedule
from accord.models import (
    Channel,
    DecisionInput,
    DecisionKind,
    MetricObservationInput,
    Stage,
    TaskCompletion,
)
from definitions.loader import parse
from tests.support.helpers import eventually, skip_time, state_where
from tests.support.previous_release import OLD_IDENTITY, extract, old_worker, stop
from tests.support.workers import running_worker

# The previous release's `accord worker`, its Worker built without a cache (see above).
UNCACHED_WORKER = (
    "import temporalio.worker as w\n"
    "init = w.Worker.__init__\n"
    "def uncached(self, *args, **kwargs):\n"
    "    init(self, *args, **{**kwargs, 'max_cached_workflows': 0})\n"
    "w.Worker.__init__ = uncached\n"
    "from accord.cli import app\n"
    "app(['worker'])\n"
)
WEEK = timedelta(days=7)


async def no_task_pending(client, wf: str) -> None:
    described = await client.get_workflow_handle(wf).describe()
    assert not described.raw_description.HasField("pending_workflow_task"), "a workflow task is pending"


async def test_a_partnership_from_the_previous_release_keeps_its_dates_through_continue_as_new(
        ts_env, accord_for, tmp_path):
    old_tree = extract(tmp_path / "previous")
    settings = Settings(data_dir=tmp_path / "accord", task_queue=f"upgrade-ts-{tmp_path.name[-8:]}",
                        allow_short_durations=True, web_base_url="http://accord.test",
                        signing_keys="upgrade-test-signing-key-0123456789abcdef")
    env = {"ACCORD_TEMPORAL_ADDRESS": ts_env.client.service_client.config.target_host,
           "ACCORD_TASK_QUEUE": settings.task_queue, "ACCORD_DATA_DIR": str(settings.data_dir),
           "ACCORD_WEB_BASE_URL": settings.web_base_url, "ACCORD_SIGNING_KEYS": settings.signing_keys.get_secret_value()}
    accord = accord_for(ts_env)
    accord.settings = settings
    # The previous release's own sample, as its client would send it (plain data).
    raw = yaml.safe_load((old_tree / "tests" / "data" / "operating.yaml").read_text())
    raw["id"] = f"upgrade-ts-{tmp_path.name[-8:]}".lower()
    definition = parse(yaml.safe_dump(raw), allow_short=True)
    wf = workflow_id_for(definition.id)

    log = tmp_path / "previous-worker.log"
    try:
        with old_worker(old_tree, env, log, program=UNCACHED_WORKER) as process:
            # A short history limit: the weekly statuses make it continue as new every few weeks.
            await ts_env.client.start_workflow("PartnershipWorkflow", {"definition": raw, "history_limit": 150}, id=wf,
                                               task_queue=settings.task_queue, search_attributes=sa.initial(definition))
            accord.started.append(wf)
            await state_where(accord, wf, lambda s: "go-no-go" in s.approvals)
            for who in ("ann", "ben"):
                await accord.decide(wf, DecisionInput(approval_id="go-no-go", actor=who, decision=DecisionKind.approve,
                                                      channel=Channel.api))
            await state_where(accord, wf, lambda s: s.stage == Stage.launch and "baseline-referrals" in s.tasks)
            await accord.record_metric(wf, MetricObservationInput(metric_id="referrals", value=2, actor="abe",
                                                                  channel=Channel.api))
            await accord.complete_task(wf, TaskCompletion(task_id="kickoff", actor="abe", channel=Channel.api))
            launched = await state_where(accord, wf, lambda s: s.stage == Stage.active)
            assert stop(process) == 0, log.read_text()[-3000:]
    except BaseException:
        print(f"--- the previous release's worker log ({log}):\n{log.read_text()[-5000:]}")
        raise

    first_run = (await ts_env.client.get_workflow_handle(wf).describe()).run_id
    async with running_worker(ts_env.client, settings):
        # A workflow task the old worker had taken when it stopped is this worker's first: let it
        # finish before time moves, or the server times it out mid-skip and loses count of its
        # time-skipping locks.
        await eventually(lambda: no_task_pending(ts_env.client, wf))
        # Five months on this release's worker, a week at a time.
        for _ in range(22):
            await skip_time(ts_env, WEEK)
        state = await state_where(accord, wf, lambda s: sum(r.kind.value == "weekly_status" for r in s.reviews.values()) >= 20)
    runs = (await ts_env.client.get_workflow_handle(wf).describe()).run_id

    assert runs != first_run, "the partnership did not continue as new on this release"
    assert state.schedule_version == 0, "a partnership keeps the schedule it started with, for life"
    every = definition.reviews.weekly_status.every
    weekly = sorted((r for r in state.reviews.values() if r.kind.value == "weekly_status"), key=lambda r: r.n)
    # Each weekly status at launch + n x every, to the second: the previous release's dates.
    assert [r.scheduled_for for r in weekly] == [schedule.occurrence(launched.launched_at, every, r.n) for r in weekly]
    assert {r.scheduled_for.astimezone(launched.launched_at.tzinfo).time() for r in weekly} == {launched.launched_at.time()}

    history = await ts_env.client.get_workflow_handle(wf, run_id=first_run).fetch_history()
    completed_by = {e.workflow_task_completed_event_attributes.identity for e in history.events
                    if e.HasField("workflow_task_completed_event_attributes")}
    assert OLD_IDENTITY in completed_by and len(completed_by) == 2, completed_by
