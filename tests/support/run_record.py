"""What one test run keeps for its end: the histories to replay and the figures to print.

Every history this test run produced replays against today's code: checked when the run ends.

Tests record the histories of the workflows they start (the ``accord_for`` fixture, through
``tests.support.workers.record``) into one folder per run, a subfolder per process. Each
process (each pytest-xdist worker, and the one that started the run) replays its own when its
tests are done (``pytest_sessionfinish`` in tests/conftest.py), beside the workers still
testing rather than all in one process after the last test, and leaves its result in the run's
folder; the process that started the run prints them all and fails the run if anything does
not replay, or if a process that recorded histories left no result.

Tests that measure something (the hostile-input suite, the definition property) leave their
figures here too (:func:`figures`), so they appear in the run's summary whichever process ran
them.

A history that the live workers already failed with the SDK's known replay bug
(temporalio/sdk-python#1591, see README "Known issues") is left out: it did not replay for
them either, which the crash test reports on its own.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer

ENV = "ACCORD_TEST_RUN"


def start() -> None:
    """Give this run its folder (inherited by worker processes through the environment)."""
    if not os.environ.get(ENV):
        os.environ[ENV] = tempfile.mkdtemp(prefix="accord-test-run-")


def folder() -> Path:
    start()
    return Path(os.environ[ENV])


def figures(title: str, text: str) -> None:
    """Show ``text`` under ``title`` in the run's summary (one file per title; the last call wins)."""
    where = folder() / "figures"
    where.mkdir(exist_ok=True)
    (where / f"{title}.txt").write_text(text)


def all_figures() -> dict[str, str]:
    where = folder() / "figures"
    return {p.stem: p.read_text() for p in sorted(where.glob("*.txt"))} if where.exists() else {}


# What may follow a started workflow task in a history the SDK's replayer reads.
_ENDS_A_TASK = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
}
# The longest the whole replay may take: a history the replayer cannot read has made its
# poller die and the replay wait for ever, which must fail the run, not hang it.
REPLAY_TIMEOUT = 600.0


def readable(history: WorkflowHistory) -> WorkflowHistory:
    """``history`` up to a point the replayer can read. A history fetched while a workflow task
    was in flight on the time-skipping server can hold an event (a signal) between the task's
    start and its end, which the replayer refuses with a panic: such a history is cut before
    that task started (everything up to there is still replayed)."""
    events = list(history.events)
    for i, event in enumerate(events[:-1]):
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED and events[i + 1].event_type not in _ENDS_A_TASK:
            return WorkflowHistory(history.workflow_id, events[:i])
    return history


async def replay(histories: list[WorkflowHistory], converter: DataConverter | None = None, *,
                 sandboxed: bool = True) -> dict[str, str]:
    """Replay every history on today's workflows; return the failures by run id (empty when all replay).

    ``sandboxed=False`` checks the commands only, without the workflow sandbox's guards (a third
    of the time): for histories this code has just written live, in the sandbox, on the same
    paths, and for a check of the payload codec. A saved history of an earlier version keeps the
    sandbox: its paths may reach code no test of this version runs live."""
    from temporalio.worker import UnsandboxedWorkflowRunner

    from tests.support.workers import CONVERTER
    from worker import WORKFLOWS

    async def each():
        for history in histories:
            yield history

    # debug_mode turns off the deadlock detector: on a busy machine a long history's task can take
    # over its 2 s without any fault in the code, and what is checked here is determinism.
    runner = {} if sandboxed else {"workflow_runner": UnsandboxedWorkflowRunner()}
    replayer = Replayer(workflows=WORKFLOWS, data_converter=converter or CONVERTER, debug_mode=True, **runner)
    results = await replayer.replay_workflows(each(), raise_on_replay_failure=False)
    return {run_id: str(failure) for run_id, failure in results.replay_failures.items()}


def process_name() -> str:
    """This test process: its pytest-xdist worker id, or "controller" for the one that started the run."""
    return os.environ.get("PYTEST_XDIST_WORKER", "controller")


def histories_folder() -> Path:
    """Where this process keeps the histories its tests recorded."""
    return folder() / "histories" / process_name()


def check() -> tuple[int, dict[str, str]]:
    """Replay this process's histories: (how many, failures by run id)."""
    from tests.support.faults import stopped_by_upstream_replay_bug
    from tests.support.history_files import saved

    where = histories_folder()
    histories = [readable(h) for h in saved(where) if not stopped_by_upstream_replay_bug(h)] if where.exists() else []
    if not histories:
        return 0, {}
    try:
        return len(histories), asyncio.run(asyncio.wait_for(replay(histories, sandboxed=False), REPLAY_TIMEOUT))
    except TimeoutError:
        return len(histories), {"(all)": f"the replay did not end within {REPLAY_TIMEOUT:.0f} s"}


def check_and_keep() -> None:
    """Replay this process's histories and keep the result for the run's summary."""
    count, failures = check()
    where = folder() / "replayed"
    where.mkdir(exist_ok=True)
    (where / f"{process_name()}.json").write_text(json.dumps({"count": count, "failures": failures}))


def replayed() -> tuple[int, dict[str, str]]:
    """Every process's replay: (how many in all, failures by run id); a process that recorded
    histories and left no result (it died) is a failure."""
    count, failures = 0, {}
    results = folder() / "replayed"
    for process in sorted(p.name for p in (folder() / "histories").iterdir()) if (folder() / "histories").exists() else []:
        result = results / f"{process}.json"
        if not result.exists():
            failures[f"({process})"] = "its histories were not replayed (the process ended before its replay)"
            continue
        kept = json.loads(result.read_text())
        count += kept["count"]
        failures.update(kept["failures"])
    return count, failures
