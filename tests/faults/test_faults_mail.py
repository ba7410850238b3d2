"""Mail provider faults: SendGrid (the real client, against tests/support/fake_sendgrid.py) answering
429, 500, 503, timeouts and dropped connections at random, seeded.

A batch of partnerships runs through screening and MOU signature on the dev server twice
at once: one half with a well-behaved SendGrid, the other with faults on every kind of
request. Both halves must end in the same state and send the same emails; every email
goes out exactly once per send key; and addresses SendGrid refuses for good (400, 401,
413) reach ops: the person is marked unreachable and ops get one email saying so.

The seed is printed; rerun a failure with ACCORD_FAULT_SEED=<seed>.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator

import pytest

from accord.mail.sendgrid_backend import SendGridMailer
from accord.storage import open_storage
from tests.support.fake_sendgrid import FAULTS, Chaos, FakeSendGrid
from tests.support.fault_worker import build
from tests.support.faults import (
    API_KEY,
    compare_runs,
    failed_tasks,
    quiescent,
    sendgrid_settings,
    start_batch,
)
from tests.support.helpers import eventually, unique
from tests.support.lifecycle import Inbox, drive_all, quick_notices
from tests.support.paths import DATA

# Refused for good, in every run (the addresses are in tests/data/screening.yaml and mou.yaml).
REFUSED = {"bo@beta.example": 400, "arun@acme.example": 413, "amir@acme.example": 401}
RATES = {"429": 0.08, "500": 0.08, "503": 0.04, "timeout": 0.06, "accept_then_timeout": 0.06, "drop": 0.06,
         "accept_then_drop": 0.06, "feed_500": 0.15}


@pytest.fixture
def sg() -> Iterator[FakeSendGrid]:
    with FakeSendGrid() as fake:
        yield fake


async def test_provider_faults_deliver_each_email_once_and_refusals_reach_ops(dev_env, settings, accord_for, sg):
    seed = int(os.environ.get("ACCORD_FAULT_SEED") or random.SystemRandom().randrange(2**31))
    print(f"mail fault seed: {seed} (rerun with ACCORD_FAULT_SEED={seed})")
    for address, status in REFUSED.items():
        sg.refuse(address, status)
    settings = sendgrid_settings(settings, sg)
    accord = accord_for(dev_env)
    faulty_ids: set[str] = set()
    # Every kind of fault at least once, then at random.
    sg.chaos = Chaos(seed, RATES, first=list(FAULTS),
                     applies=lambda request: (request.body.get("custom_args") or {}).get("workflow_id") in faulty_ids)
    mailer = SendGridMailer(API_KEY, host=sg.url, timeout=0.5, unknown_outcome_delay=0.3)

    async with build(dev_env.client, settings, mailer=mailer), await open_storage(settings) as store:
        baseline = await start_batch(accord, 4, unique, DATA)
        faulty = await start_batch(accord, 4, unique, DATA)
        faulty_ids.update(wf for wf, _ in faulty)
        t0 = time.monotonic()
        drives = await drive_all(accord, baseline + faulty, timeout=90, inbox=Inbox(store))
        t1 = time.monotonic()
        await quiescent(accord, [wf for wf, _ in baseline + faulty])
        t2 = time.monotonic()
        failed = {wf: await failed_tasks(accord, wf) for wf, _ in baseline + faulty}
        report = await compare_runs(accord, drives[:4], drives[4:], sg, [store], seed)
        failed_keys = [e for e in await store.list_sends() if e.status == "failed"]
    print(f"faults injected: {dict(sg.chaos.faults)}; driven in {t1 - t0:.1f} s, settled {t2 - t1:.1f} s later; "
          f"{report.sent} emails delivered")

    assert failed == {wf: [] for wf in failed}, f"seed {seed}"
    assert set(sg.chaos.faults) >= set(FAULTS), f"seed {seed}: not every fault happened: {sg.chaos.faults}"

    # Exactly once per send key, whatever the provider did.
    assert report.twice == [], f"seed {seed}: delivered more than once: {report.twice}"
    assert report.attempting == [], f"seed {seed}: sends with unknown outcome left: {report.attempting}"
    # Refused for good: nothing delivered, the person unreachable, and ops told exactly once.
    assert failed_keys, "no permanent refusal happened"
    accepted = sg.accepted_keys()
    for entry in failed_keys:
        assert accepted[entry.send_key] == 0
        status = next(s for a, s in REFUSED.items() if a.startswith(entry.recipient + "@"))
        assert str(status) in entry.error
    for d in drives:
        people = {e.recipient for e in failed_keys if e.send_key.startswith(d.workflow_id + "/")}
        assert set(d.final.unreachable) == people, d.workflow_id
        for who in people:
            # Rules 2: ops hear of the people the provider refused in one digest per quiet period.
            told = [k for k in sg.mentioning(f"({who})", "/digest/unreachable/") if k.startswith(d.workflow_id + "/")]
            assert told and all(accepted[k] == 1 for k in told), f"{d.workflow_id}: ops not told that {who} is unreachable"
    assert sum(sg.chaos.faults.values()) >= len(FAULTS)


async def test_ops_hear_of_an_unreachable_person_even_if_screening_ends_first(dev_env, settings, accord_for, sg):
    from temporalio.api.enums.v1 import EventType

    from tests.support.helpers import state_where
    from tests.support.lifecycle import drive, script

    sg.refuse("bo@beta.example", 400)
    ops_down = True
    sg.chaos = Chaos(0, {"503": 1.0}, applies=lambda r: ops_down and "ops@accord.example" in str(r.body))
    settings = sendgrid_settings(settings, sg)
    accord = accord_for(dev_env)
    mailer = SendGridMailer(API_KEY, host=sg.url, timeout=0.5, unknown_outcome_delay=0.3)
    async with build(dev_env.client, settings, mailer=mailer):
        definition = quick_notices(unique(DATA / "screening.yaml"))
        wf = await accord.start(definition)
        await state_where(accord, wf, lambda s: "bo" in s.unreachable)
        # Everyone acts (bo by phone, through ops' CLI) while the provider still refuses ops' mail.
        await drive(accord, wf, script(definition), timeout=60)
        await state_where(accord, wf, lambda s: s.mou.signed_at is not None)
        ops_down = False
        await quiescent(accord, [wf])

        # Rules 2: ops' digest of the refusals goes out once the provider takes ops' mail again,
        # though screening had ended meanwhile, naming both emails bo did not get.
        async def ops_told() -> None:
            accepted = sg.accepted_keys()
            for refused in ("task/legal/assigned/0", "task/statement-bo/assigned/0"):
                told = [k for k in sg.mentioning("(bo): ", "/digest/unreachable/") if k.startswith(wf + "/")
                        and k in sg.mentioning(refused)]
                assert told and all(accepted[k] == 1 for k in told), f"ops not told that {refused} did not reach bo"
        await eventually(ops_told, timeout=30, interval=0.2)
        history = await accord.handle(wf).fetch_history()
    cancelled = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED]
    print(f"activities cancelled: {len(cancelled)}")
