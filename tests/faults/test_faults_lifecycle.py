"""The lifecycle past launch, driven by the real client on the dev server with compressed
durations (tests/data/lifecycle.yaml): what the fault tests and benchmarks build on."""

from __future__ import annotations

import asyncio

from temporalio.api.enums.v1 import EventType

from accord.models import ReviewKind, Stage
from tests.support.helpers import unique
from tests.support.lifecycle import Inbox, drive, nth_review, script
from tests.support.paths import DATA
from tests.support.workers import running_worker
from workflows.partnership import PartnershipWorkflow


async def test_the_whole_lifecycle_through_the_client(dev_env, settings, accord_for):
    """Screening, MOU, launch, two weekly status reviews and closure, every action taken once
    its request email is out; the workflow archives and completes."""
    definition = unique(DATA / "lifecycle.yaml")
    accord = accord_for(dev_env)
    async with running_worker(dev_env.client, settings), Inbox.of(settings) as inbox:
        wf = await accord.start(definition)
        drove = await drive(accord, wf, script(definition, through=Stage.closed, reviews=2),
                            inbox=inbox, timeout=120, until=Stage.closed)
        result = await asyncio.wait_for(dev_env.client.get_workflow_handle_for(PartnershipWorkflow.run, wf).result(), 30)
        history = await accord.handle(wf).fetch_history()
    failed = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
    assert failed == []
    assert drove.retried == []
    assert result.stage == Stage.closed and result.closure_reason == "The pilot ended as planned."
    assert result.mou.signed_at is not None and result.launched_at is not None
    reviews = [nth_review(result, ReviewKind.weekly_status, n) for n in (1, 2)]
    assert [sorted(r.inputs) for r in reviews] == [["abe", "ben"], ["abe", "ben"]]
    assert all(r.closed_at is not None and r.missed == [] for r in reviews)
    assert result.archive_hash
