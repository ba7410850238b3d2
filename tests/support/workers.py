"""The real worker and client as every test uses them, recording what the test started so that its
histories are kept and replayed at the end of the run (run_record)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

import worker as accord_worker
from accord.client import Accord
from accord.codec import data_converter
from accord.config import Settings
from tests.support import history_files, run_record
from tests.support.api_helpers import api, api_settings  # noqa: F401 (fixtures: the HTTP API with a real worker)
from tests.support.postgres import postgres_db, postgres_server  # noqa: F401 (fixtures: a real PostgreSQL)
from tests.support.signin_helpers import oidc_provider  # noqa: F401 (fixture: a real OpenID provider)

# The test servers' clients use Accord's converter: pydantic, plus the encrypting codec when
# ACCORD_CODEC_KEYS is set (run the suite with it to check everything works encrypted).
CONVERTER = data_converter(Settings())


# The SDK fails a workflow task that does not yield within 2 s (its deadlock detector). On a
# loaded 2-core machine a task can take longer without any fault in the code (a start that
# decodes a definition at its size limits, beside other tests' workers), and once the detector's
# own traceback stopped every thread of a test process (a garbage collection inside it, under
# hypothesis's gc callback). Test workers allow this long: a real deadlock still fails the task.
TEST_DEADLOCK_SECONDS = 20


@asynccontextmanager
async def running_worker(client: Client, settings: Settings, **kwargs) -> AsyncIterator[Worker]:
    async with accord_worker.build_worker(client, settings, **kwargs) as w:
        # The SDK has no setting for the limit but debug mode, which also lifts sandbox restrictions.
        workflows = w._workflow_worker  # noqa: SLF001 - see TEST_DEADLOCK_SECONDS
        if workflows is not None:
            workflows._deadlock_timeout_seconds = TEST_DEADLOCK_SECONDS  # noqa: SLF001 - see TEST_DEADLOCK_SECONDS
        yield w


def record(recorded: list[history_files.Recorded], test_name: str) -> None:
    """Keep the histories a test produced: in this run's folder, which the session replays against
    today's code when it ends (tests/support/run_record.py), and in ACCORD_RECORD_HISTORIES if set (to
    save a release's set)."""
    history_files.save(recorded, run_record.histories_folder(), test_name)
    save_to = os.environ.get("ACCORD_RECORD_HISTORIES")
    if save_to:
        history_files.save(recorded, Path(save_to), test_name)


class RecordingAccord(Accord):
    """The real client, remembering what it started so the test can clean up and record."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.started: list[str] = []

    async def start(self, definition, **kwargs) -> str:
        workflow_id = await super().start(definition, **kwargs)
        self.started.append(workflow_id)
        return workflow_id
