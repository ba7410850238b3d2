"""Screening on the time-skipping server: weeks of deadlines pass in milliseconds."""

from __future__ import annotations

from datetime import timedelta

import definitions
from accord.mail import outbox
from accord.models import Channel, DecisionInput, DecisionKind, Stage, StatementSubmission, TaskCompletion
from tests.conftest import DATA, running_worker


async def test_overdue_item_is_reminded_then_escalated(ts_env, settings, accord_for):
    definition = definitions.load(DATA / "screening.yaml")
    accord = accord_for(ts_env)
    async with running_worker(ts_env.client, settings):
        wf = await accord.start(definition)
        await ts_env.sleep(timedelta(days=30))
        state = await accord.state(wf)
    legal = state.tasks["legal"]
    print(legal)
    print([ (p.name, m["Subject"]) for p, m in outbox.messages(settings.outbox_dir)])
