"""Crash safety: the worker process is SIGKILLed at random points and started again.

Two batches of partnerships (tests/lifecycle.py: screening tasks, goal statements,
go/no-go, MOU signature under several policies) are driven at once through the real
client on the dev server: one on an in-process worker that is left alone, one on a worker
*process* (tests/fault_worker.py) that is killed with SIGKILL at random moments: after a
random delay, or just as it sends an email (SendGrid has taken it, the worker has not yet
heard). Each time it is started again. Afterwards every partnership must have ended where
its twin in the clean batch did (stage, tasks, statements, decisions, MOU versions,
timeline), no decision may be missing, and no email may have been delivered twice.

The seed is printed; rerun a failure with ACCORD_FAULT_SEED=<seed>.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Iterator

import pytest

from accord.mail.sendgrid_backend import SendGridMailer
from accord.storage import open_storage
from tests.conftest import DATA
from tests.fake_sendgrid import FakeSendGrid
from tests.fault_worker import build
from tests.faults import (
    API_KEY,
    UPSTREAM_REPLAY_BUG,
    WorkerProcess,
    compare_runs,
    failed_tasks,
    quiescent,
    sendgrid_settings,
    start_batch,
    worker_env,
)
from tests.helpers import unique
from tests.lifecycle import Inbox, drive_all

BATCH = 4  # partnerships per side: one of each shape in tests/lifecycle.batch_definitions
KILLS = 4


async def xfail_on_upstream_replay_bug(accord, workflow_ids, seed: int) -> None:
    """xfail (naming the upstream bug) if that bug stopped a partnership; otherwise return, so
    the caller's own error and checks stand."""
    hit = {wf: failures for wf in workflow_ids if (failures := await failed_tasks(accord, wf))}
    if hit and all(UPSTREAM_REPLAY_BUG in f for failures in hit.values() for f in failures):
        pytest.xfail(f"seed {seed}: temporalio/sdk-python#1591 stopped {sorted(hit)} after a kill: {next(iter(hit.values()))[0][:200]}")


@pytest.fixture
def sg() -> Iterator[FakeSendGrid]:
    with FakeSendGrid() as fake:
        yield fake


async def test_worker_killed_at_random_points_changes_nothing(dev_env, settings, accord_for, sg, tmp_path):
    seed = int(os.environ.get("ACCORD_FAULT_SEED") or random.SystemRandom().randrange(2**31))
    print(f"crash seed: {seed} (rerun with ACCORD_FAULT_SEED={seed})")
    rng = random.Random(seed)
    sg.latency = 0.03  # SendGrid has taken the email 30 ms before the worker hears so: a window to die in

    clean_settings = sendgrid_settings(settings, sg)
    dirty_settings = sendgrid_settings(settings, sg, task_queue=settings.task_queue + "-killed",
                                       data_dir=tmp_path / "killed")
    clean = accord_for(dev_env)
    dirty = accord_for(dev_env)
    dirty.settings = dirty_settings
    worker = WorkerProcess(worker_env(dirty_settings, dev_env.client.service_client.config.target_host),
                           tmp_path / "worker.log")
    kills: list[str] = []
    done = asyncio.Event()

    def dirty_sends() -> int:
        return sum(1 for r in sg.sends() if str((r.body.get("custom_args") or {}).get("workflow_id")) in dirty_ids)

    async def kill_at_random() -> None:
        # Kill points spread over the lifecycle by how far the batch has got (mail/send requests
        # so far: the batch makes about 23), each either as that request arrives (SendGrid has
        # the email, the worker has not heard back) or a random moment after it.
        thresholds = sorted(rng.sample(range(1, 20), KILLS))
        for n, threshold in enumerate(thresholds):
            while dirty_sends() < threshold and not done.is_set():
                await asyncio.sleep(0.002)
            point = f"as mail/send #{threshold} arrives"
            if rng.random() < 0.5:
                pause = rng.uniform(0.01, 0.4)
                point = f"{pause:.2f} s after mail/send #{threshold}"
                await asyncio.sleep(pause)
            if done.is_set():
                return
            worker.kill()
            kills.append(f"kill {n + 1}: {point}, at {time.monotonic() - t0:.1f} s")
            await asyncio.sleep(rng.uniform(0, 0.5))
            await worker.start()

    # Each side's own state (SQLite and files in its data folder), read as the workers write it.
    async with await open_storage(clean_settings) as clean_store, await open_storage(dirty_settings) as dirty_store:
        mailer = SendGridMailer(API_KEY, host=sg.url, timeout=0.5, unknown_outcome_delay=0.3)
        try:
            await worker.start()
            async with build(dev_env.client, clean_settings, mailer=mailer):
                clean_batch = await start_batch(clean, BATCH, unique, DATA)
                dirty_batch = await start_batch(dirty, BATCH, unique, DATA)
                dirty_ids = {wf for wf, _ in dirty_batch}
                t0 = time.monotonic()
                monkey = asyncio.create_task(kill_at_random())
                try:
                    clean_drives, dirty_drives = await asyncio.gather(
                        drive_all(clean, clean_batch, timeout=150, inbox=Inbox(clean_store)),
                        drive_all(dirty, dirty_batch, timeout=150, inbox=Inbox(dirty_store)),
                    )
                    done.set()
                    await monkey
                    driven = time.monotonic() - t0
                    await quiescent(clean, [wf for wf, _ in clean_batch + dirty_batch], timeout=90)
                except Exception:
                    done.set()
                    monkey.cancel()
                    await xfail_on_upstream_replay_bug(clean, dirty_ids, seed)
                    raise
                failed = {wf: await failed_tasks(clean, wf) for wf, _ in clean_batch + dirty_batch}
                report = await compare_runs(clean, clean_drives, dirty_drives, sg, [clean_store, dirty_store], seed)
        finally:
            worker.stop()
        print("\n".join(kills))
        checks = sum(1 for r in sg.requests if r.path == "/v3/messages")
        resent = sum(e.attempts - 1 for e in await dirty_store.list_sends())
        print(f"driven in {driven:.1f} s; {report.sent} emails delivered; {resent} sends retried after a kill, "
              f"{checks} checked with SendGrid first; actions sent again: {report.retried}")
        for d in dirty_drives:
            for line in d.retried:
                print(f"  {d.workflow_id}: {line}")
        for line in report.query_errors:
            print(f"  state query failed before it answered: {line}")

    assert len(kills) >= 2, f"seed {seed}: the batch finished before the worker could be killed twice"
    if any(failed.values()):
        await xfail_on_upstream_replay_bug(clean, list(failed), seed)
    assert failed == {wf: [] for wf in failed}, f"seed {seed}"
    assert report.twice == [], f"seed {seed}: delivered more than once: {report.twice}"
    assert report.attempting == [], f"seed {seed}: sends with unknown outcome left: {report.attempting}"
