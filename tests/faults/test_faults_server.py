"""Server restart: the embedded Temporal dev server (`accord up`'s, persisting to a SQLite
file with --db-filename) is stopped and started again on the same ports mid-lifecycle.

Once with Ctrl-C (what `accord up` does on exit) and once with SIGKILL (a crash). The
worker and the client stay up throughout and must reconnect by themselves; partnerships
must resume where they were: a decision made after the restart is applied, the stage
advances, and a reminder that fell due while the server was down still goes out.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RetryConfig

from accord import search_attributes as sa
from accord.client import Accord
from accord.config import Settings
from accord.embedded import _stop, _wait_for_server, dev_server_command
from accord.models import DecisionInput, DecisionKind, Stage
from accord.storage import open_storage
from definitions.durations import Duration
from tests.support.fault_worker import build
from tests.support.faults import failed_tasks, idle, quiescent
from tests.support.helpers import unique
from tests.support.history_files import everything_of
from tests.support.lifecycle import Inbox, drive, script
from tests.support.paths import DATA
from tests.support.workers import record


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmbeddedServer:
    """`temporal server start-dev --db-filename ...`, as `accord up` runs it."""

    def __init__(self, settings: Settings, log: Path):
        self.settings = settings
        self.port = int(settings.temporal_address.rsplit(":", 1)[1])
        self.ui_port = free_port()
        self.log = log
        self.process: subprocess.Popen | None = None

    async def start(self) -> Client:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(dev_server_command(self.settings, self.port, self.ui_port),  # noqa: ASYNC220 - Popen returns at once (output to a file); the wait is async
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        client = await _wait_for_server(self.settings, self.process, self.log)
        await sa.ensure_registered(client, self.settings.temporal_namespace)
        return client

    def stop(self) -> None:
        """Ctrl-C, as `accord up` stops it."""
        if self.process is not None:
            _stop(self.process)

    def crash(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


def reminder_soon(path):
    """A partnership whose legal review is due in 10 s, reminded 5 s before."""
    d = unique(path)
    legal = next(item for item in d.screening.checklist if item.id == "legal")
    legal.due = Duration.parse("10s")
    d.reminders.before = [Duration.parse("5s")]
    return d


async def test_dev_server_stopped_and_started_mid_lifecycle(settings, tmp_path):
    port = free_port()
    settings = settings.model_copy(update={"temporal_address": f"127.0.0.1:{port}",
                                           "data_dir": tmp_path / "accord"})
    settings.data_dir.mkdir(parents=True)
    server = EmbeddedServer(settings, tmp_path / "temporal.log")
    client = await server.start()
    accord = Accord(client, settings)
    store = await open_storage(settings)
    inbox = Inbox(store)
    try:
        async with build(client, settings, compressed=False):
            main_def, soon_def = unique(DATA / "screening.yaml"), reminder_soon(DATA / "screening.yaml")
            wf = await accord.start(main_def)
            steps = script(main_def)
            # Screening's checklist and two statements, then the server goes away (Ctrl-C)...
            await drive(accord, wf, steps[:5], inbox=inbox, timeout=30, until=None)
            soon = await accord.start(soon_def)
            soon_started = time.monotonic()
            # Once its owner has the task and the workflow has taken that in (the reminder's timer
            # is running: nothing pending), down goes the server.
            while not (await inbox.has_asked(soon, "task/legal/assigned/0/bo") and await idle(accord, soon)):
                await asyncio.sleep(0.05)
            stopping = time.monotonic()
            server.stop()
            # Down while the reminder falls due (5 s after the start): it must still go out.
            await asyncio.sleep(max(0.0, soon_started + 6 - time.monotonic()))
            assert stopping - soon_started < 4, "the server went down after the reminder was due"
            await server.start()  # same ports, same database; the worker reconnects by itself
            restarted = datetime.now(UTC)
            await drive(accord, wf, steps[5:9], inbox=inbox, timeout=60, until=None)  # statements, go/no-go
            await drive(accord, wf, [], timeout=30, until=Stage.mou)
            server.crash()  # now a crash, mid-MOU
            await asyncio.sleep(0.5)
            await server.start()
            # An activity task the server handed to a poll the crash cut off is started as far as
            # the server knows: it runs again only after its start-to-close timeout (2 min for an
            # email, workflows/toolkit/mailing.py).
            done = await drive(accord, wf, steps, inbox=inbox, timeout=200)
            reminded = await drive(accord, soon, [], timeout=30, until=lambda s: bool(s.tasks["legal"].reminders_sent))
            await quiescent(accord, [wf, soon])
            failed = {w: await failed_tasks(accord, w) for w in (wf, soon)}
            for w in (wf, soon):
                record(await everything_of(accord.client, w), "test_dev_server_stopped_and_started_mid_lifecycle")
                await accord.handle(w).terminate(reason="test finished")
        reminders = [e for e in await store.list_sends()
                     if e.send_key.startswith(soon + "/") and "/legal/reminder/" in e.send_key]
    finally:
        server.stop()
        await store.close()

    assert failed == {wf: [], soon: []}
    state = done.final
    assert state.stage in (Stage.launch, Stage.active) and state.mou.signed_at is not None
    assert [(d.approval_id, d.actor) for a in state.approvals.values() for d in a.decisions] == [
        ("go-no-go", "alice"), ("go-no-go", "bea"), ("mou", "alice"), ("mou", "bea")]
    assert {s for s in state.alignment.statements} == {"alice", "arun", "bea", "bo"}
    # The reminder due while the server was down went out after it came back, once.
    assert [e.status for e in reminders] == ["sent"]
    assert reminders[0].updated_at > restarted
    assert reminded.final.tasks["legal"].reminders_sent


async def test_an_outage_is_not_reported_as_a_missing_partnership(settings, tmp_path):
    settings = settings.model_copy(update={"temporal_address": f"127.0.0.1:{free_port()}", "data_dir": tmp_path / "a"})
    settings.data_dir.mkdir(parents=True)
    server = EmbeddedServer(settings, tmp_path / "temporal.log")
    await server.start()
    # Fewer retries than the default (about 15 s of them) before the client gives up.
    client = await Client.connect(settings.temporal_address, data_converter=pydantic_data_converter,
                                  retry_config=RetryConfig(max_retries=2, initial_interval_millis=100))
    accord = Accord(client, settings)
    server.stop()
    with pytest.raises(Exception) as raised:
        await asyncio.wait_for(accord.decide("partnership-anything", DecisionInput(
            approval_id="mou", actor="alice", decision=DecisionKind.approve)), 60)
    message = getattr(raised.value, "message", str(raised.value))
    assert "There is no partnership" not in message, message
