"""Two worker processes, one send key: on both backends, the email goes out once.

The processes (tests/support/claim_worker.py) open Accord's state from the environment as a worker
does and deliver through the real SendGrid client to tests/support/fake_sendgrid.py, which counts
what it accepted. Today's ledger (get, then insert) let both send; a claim lets one.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections import Counter
from typing import TYPE_CHECKING

from tests.support.fake_sendgrid import FakeSendGrid, accept_then_hang
from tests.support.paths import ROOT

pytest_plugins = ["tests.support.storage_backends"]  # the backend fixture: sqlite and postgresql

if TYPE_CHECKING:
    from tests.support.storage_backends import Backend

KEYS = [f"partnership-race/c1/mou/request-{i}/bea" for i in range(20)]


async def _worker(backend: Backend, sg: FakeSendGrid, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.claim_worker", "--sendgrid", sg.url, *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **backend.env()}, cwd=ROOT,
    )


async def test_two_worker_processes_sending_the_same_emails_at_once_send_each_once(backend: Backend):
    with FakeSendGrid() as sg:
        sg.latency = 0.02  # a provider call takes a moment: the other process arrives meanwhile
        workers = [await _worker(backend, sg, "--wait-for-go", *KEYS) for _ in range(2)]
        for w in workers:
            line = await asyncio.wait_for(w.stdout.readline(), 60)
            assert line == b"ready\n", line + await w.stderr.read()
        for w in workers:  # both start the same sends at the same moment
            w.stdin.write(b"go\n")
            await w.stdin.drain()
        finished = await asyncio.wait_for(asyncio.gather(*(w.communicate() for w in workers)), 120)
        for w, (_, err) in zip(workers, finished, strict=True):
            assert w.returncode == 0, err.decode()
        outcomes = [json.loads(line) for out, _ in finished for line in out.decode().splitlines()]

        by_key = {key: Counter(o["status"] for o in outcomes if o["key"] == key) for key in KEYS}
        for key, statuses in by_key.items():
            assert statuses["sent"] == 1, (key, statuses)  # one process sent it...
            assert statuses["held"] + statuses["already_sent"] == 1, (key, statuses)  # ...the other did not
        assert sg.accepted_keys() == Counter(KEYS)  # SendGrid got each email exactly once
        held = sum(s["held"] for s in by_key.values())
        print(f"{backend.name}: {len(KEYS)} emails, {len(sg.accepted)} sent, {held} found in flight by the other worker")

    sent = {o["key"]: o["message_id"] for o in outcomes if o["status"] == "sent"}
    async with await backend.open() as store:
        entries = {e.send_key: e for e in await store.list_sends("partnership-race/")}
    assert {k: (e.status, e.message_id, e.attempts) for k, e in entries.items()} == \
        {k: ("sent", sent[k], 1) for k in KEYS}


async def test_a_worker_killed_after_the_provider_accepted_is_not_sent_again(backend: Backend):
    """SIGKILL between the provider's acceptance and the ledger update; the next worker takes
    the interrupted attempt over, asks SendGrid, finds the email and does not send it again."""
    key = KEYS[0]
    with FakeSendGrid() as sg:
        sg.script(accept_then_hang(60))
        # Its lease runs out at once: the killed worker's retry need not wait for it.
        doomed = await _worker(backend, sg, "--lease", "0.000001", key)
        await asyncio.wait_for(asyncio.to_thread(sg.wait_for_send, 1, 60), 70)
        doomed.send_signal(signal.SIGKILL)
        await doomed.wait()

        async with await backend.open() as store:
            interrupted = await store.get_send(key)
        assert (interrupted.status, interrupted.attempts) == ("attempting", 1)

        retry = await _worker(backend, sg, key)
        out, err = await asyncio.wait_for(retry.communicate(), 60)
        assert retry.returncode == 0, err.decode()
        [outcome] = [json.loads(line) for line in out.decode().splitlines()]
        [accepted] = sg.accepted
        assert outcome == {"key": key, "status": "already_sent", "message_id": accepted.message_id}
        assert len(sg.sends(key)) == 1  # found through the Email Activity API, not posted again

    async with await backend.open() as store:
        entry = await store.get_send(key)
    assert (entry.status, entry.message_id, entry.attempts) == ("sent", accepted.message_id, 2)
