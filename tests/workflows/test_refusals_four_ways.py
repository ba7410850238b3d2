"""One table of refusals, each sent the four ways in on the real dev server: the `accord` CLI,
the Python client, the HTTP API (real HTTP, the real app under uvicorn) and a plain Temporal
update by name. Every way must be refused the SAME way: the same message reaches the person
(`refused: <message>` and exit 1, 409 with it as `detail`, ActionRefused with it,
WorkflowUpdateFailedError whose cause says it), and nothing in the partnership changes.

The table (``REFUSALS``) is data: the update, its argument as a plain Temporal update takes it,
and what the refusal must say. ``WAYS`` says how each update is sent by the CLI and the API;
the client and Temporal ways need nothing per update. Rows share one partnership per scenario.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import BaseModel
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from typer.testing import CliRunner

from accord.cli import app as cli_app
from accord.client import Accord, ActionRefused
from accord.config import Settings
from accord.models import (
    AlignmentOverride,
    AmendmentProposal,
    CloseRequest,
    DecisionInput,
    DecisionKind,
    DelegationInput,
    EscalationRequest,
    MetricObservationInput,
    MouRevision,
    ReviewInputSubmission,
    ReviewOutcome,
    StatementSubmission,
    TaskCompletion,
)
from definitions.schema import ApprovalPolicy
from tests.support import history_files
from tests.support.api_helpers import OPS, OPS_KEY, bearer
from tests.support.browser import listen, serving
from tests.support.helpers import state_where, unique
from tests.support.paths import DATA
from tests.support.web_helpers import idle, snapshot, until
from tests.support.workers import record, running_worker

# ---------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Refusal:
    what: str  # the row's name
    scenario: str  # the partnership it is tried on (SCENARIOS)
    update: str  # the workflow update
    arg: dict[str, Any]  # its argument, as a plain Temporal update takes it
    says: str  # what the refusal must say (each way must carry the same whole message)


# The "mou" scenario: signatories alice, amir, bea sign in that order; go/no-go is decided.
REFUSALS = [
    Refusal("decision by someone who is not an approver", "mou", "decide",
            {"approval_id": "mou", "actor": "bo", "decision": "approve"}, "'bo' is not an approver of"),
    Refusal("decision that is not one's turn", "mou", "decide",
            {"approval_id": "mou", "actor": "bea", "decision": "approve"},
            "It is not bea's turn yet: signing order is alice, amir, bea."),
    Refusal("decision on a closed round", "mou", "decide",
            {"approval_id": "go-no-go", "actor": "alice", "decision": "approve"}, "This approval is closed (approved)."),
    Refusal("decision on an unknown approval", "mou", "decide",
            {"approval_id": "renewal", "actor": "alice", "decision": "approve"},
            "There is no approval 'renewal' in this partnership (approvals: go-no-go, mou)."),
    Refusal("rejection without a reason", "mou", "decide",
            {"approval_id": "mou", "actor": "alice", "decision": "reject", "comment": ""}, "Please give a reason."),
    Refusal("comment too long", "mou", "decide",
            {"approval_id": "mou", "actor": "alice", "decision": "approve", "comment": "x" * 5001},
            "The comment is longer than 5,000 characters."),
    Refusal("delegation without a reason", "mou", "delegate",
            {"approval_id": "mou", "actor": "alice", "to": "bo", "reason": ""}, "A delegation needs a reason."),
    Refusal("statement from someone not asked", "mou", "submit_statement",
            {"stakeholder": "alice", "text": "Grow together."},
            "'alice' is not asked for a goal statement in this partnership."),
    Refusal("override with no alignment check", "mou", "override_alignment",
            {"actor": "alice", "reason": "Same goal"}, "There is no goal-alignment check to override."),
    Refusal("unknown task", "mou", "complete_task",
            {"task_id": "no-such-task", "actor": "alice"}, "There is no task 'no-such-task' to complete in this partnership."),
    Refusal("unknown metric", "mou", "record_metric",
            {"metric_id": "referrals", "value": 3, "actor": "alice"}, "There is no metric 'referrals' (metrics: none)."),
    Refusal("input to an unknown review", "mou", "submit_review_input",
            {"review_id": "weekly_status-1", "stakeholder": "alice", "rag": "green"},
            "There is no review 'weekly_status-1' in this partnership (no review has opened yet)."),
    Refusal("outcome of an unknown review", "mou", "record_review_outcome",
            {"review_id": "weekly_status-1", "actor": "ops", "decisions": ["Go on."]},
            "There is no review 'weekly_status-1' to record in this partnership (no review has opened yet)."),
    Refusal("empty MOU upload", "mou", "revise_mou", {"actor": "ops", "markdown": "  \n"}, "The uploaded MOU is empty."),
    Refusal("amendment without a reason", "mou", "propose_amendment",
            {"actor": "ops", "reason": "", "definition": "(the definition in force, renamed)"}, "An amendment needs a reason."),
    Refusal("closing by someone who may not", "mou", "close", {"actor": "bo", "reason": "Done"},
            "Only ops or alice, amir, bea may close the partnership."),
    Refusal("closing before launch", "mou", "close", {"actor": "ops", "reason": "Done"},
            "A partnership closes once launched (it is in mou)."),
    Refusal("escalation without a reason", "mou", "escalate", {"reason": "", "raised_by": "ops"},
            "An escalation needs a reason."),
    Refusal("escalation above the ladder", "mou", "escalate", {"reason": "Slipping", "level": 9, "raised_by": "ops"},
            "Level must be between 1 and 2."),
]


# ---------------------------------------------------------------------- how each update is sent


@dataclass(frozen=True)
class Way:
    model: type[BaseModel]  # the update's input (the client takes it)
    method: str  # the client's method
    cli: Callable[[str, dict[str, Any], Path], list[str]]  # `accord` arguments (partnership id, arg, a folder)
    http: Callable[[str, dict[str, Any]], dict[str, Any]]  # httpx request arguments (partnership id, arg)


def _file(folder: Path, name: str, text: str) -> str:
    path = folder / f"{uuid.uuid4().hex[:8]}-{name}"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _post(path: str, **kw: Any) -> dict[str, Any]:
    return {"url": path, **kw}


WAYS: dict[str, Way] = {
    "decide": Way(DecisionInput, "decide", lambda p, a, _: [
        "decide", p, a["approval_id"], a["decision"], "--as", a["actor"], "--comment", a.get("comment", "")],
        lambda p, a: _post(f"/partnerships/{p}/approvals/{a['approval_id']}/decisions", json={
            "actor": a["actor"], "decision": a["decision"], "comment": a.get("comment", "")})),
    "delegate": Way(DelegationInput, "delegate", lambda p, a, _: [
        "delegate", p, a["approval_id"], "--to", a["to"], "--as", a["actor"], "--reason", a["reason"]],
        lambda p, a: _post(f"/partnerships/{p}/approvals/{a['approval_id']}/delegations", json={
            "actor": a["actor"], "to": a["to"], "reason": a["reason"]})),
    "submit_statement": Way(StatementSubmission, "submit_statement", lambda p, a, _: [
        "statement", p, a["text"], "--as", a["stakeholder"]],
        lambda p, a: _post(f"/partnerships/{p}/statements", json=a)),
    "override_alignment": Way(AlignmentOverride, "override_alignment", lambda p, a, _: [
        "override", p, "--as", a["actor"], "--reason", a["reason"]],
        lambda p, a: _post(f"/partnerships/{p}/alignment/override", json=a)),
    "complete_task": Way(TaskCompletion, "complete_task", lambda p, a, _: [
        "complete", p, a["task_id"], "--as", a["actor"]],
        lambda p, a: _post(f"/partnerships/{p}/tasks/{a['task_id']}/complete", json={"actor": a["actor"]})),
    "record_metric": Way(MetricObservationInput, "record_metric", lambda p, a, _: [
        "metric", "record", p, a["metric_id"], str(a["value"]), "--as", a["actor"]],
        lambda p, a: _post(f"/partnerships/{p}/metrics/{a['metric_id']}/observations",
                           json={"actor": a["actor"], "value": a["value"]})),
    "submit_review_input": Way(ReviewInputSubmission, "submit_review_input", lambda p, a, _: [
        "review", "input", p, a["review_id"], "--as", a["stakeholder"], "--rag", a["rag"]],
        lambda p, a: _post(f"/partnerships/{p}/reviews/{a['review_id']}/inputs",
                           json={"stakeholder": a["stakeholder"], "rag": a["rag"]})),
    "record_review_outcome": Way(ReviewOutcome, "record_review_outcome", lambda p, a, _: [
        "review", "outcome", p, a["review_id"], "--as", a["actor"], *(x for d in a["decisions"] for x in ("--decision", d))],
        lambda p, a: _post(f"/partnerships/{p}/reviews/{a['review_id']}/outcome",
                           json={"actor": a["actor"], "decisions": a["decisions"]})),
    "revise_mou": Way(MouRevision, "revise_mou", lambda p, a, folder: [
        "mou", "upload", p, _file(folder, "mou.md", a["markdown"]), "--by", a["actor"]],
        lambda p, a: _post(f"/partnerships/{p}/mou/revisions", json=a)),
    "propose_amendment": Way(AmendmentProposal, "propose_amendment", lambda p, a, folder: [
        "amend", p, _file(folder, "amended.yaml", yaml.safe_dump(a["definition"], sort_keys=False)),
        "--reason", a["reason"], "--as", a["actor"], "--yes"],
        lambda p, a: _post(f"/partnerships/{p}/amendments", params={"reason": a["reason"], "actor": a["actor"]},
                           content=yaml.safe_dump(a["definition"], sort_keys=False).encode(),
                           headers={"content-type": "application/yaml"})),
    "close": Way(CloseRequest, "close", lambda p, a, _: ["close", p, "--as", a["actor"], "--reason", a["reason"]],
                 lambda p, a: _post(f"/partnerships/{p}/close", json=a)),
    # The API records the key's name as who raised it: raised_by is not in its body.
    "escalate": Way(EscalationRequest, "escalate", lambda p, a, _: [
        "escalate", p, "--reason", a["reason"], "--level", str(a.get("level", 1)), "--by", a["raised_by"]],
        lambda p, a: _post(f"/partnerships/{p}/escalations", json={"reason": a["reason"], "level": a.get("level", 1)})),
}


# ---------------------------------------------------------------------- scenarios


@dataclass
class Scenario:
    accord: Accord
    wf: str
    address: str  # the dev server, for the CLI
    http: httpx.AsyncClient  # the real app under uvicorn, with an ops key
    folder: Path  # files the CLI reads

    @property
    def pid(self) -> str:
        return self.wf.removeprefix("partnership-")


async def _mou_stage(accord: Accord) -> str:
    """In the MOU stage: alice, amir and bea sign in that order; go/no-go is approved."""
    definition = unique(DATA / "mou.yaml")
    definition.mou.policy = ApprovalPolicy.sequential
    wf = await accord.start(definition)
    await state_where(accord, wf, lambda s: "go-no-go" in s.approvals)
    await accord.decide(wf, DecisionInput(approval_id="go-no-go", actor="alice", decision=DecisionKind.approve))
    await state_where(accord, wf, lambda s: "mou" in s.approvals and s.mou.versions)
    return wf


SCENARIOS = {"mou": _mou_stage}


@pytest.fixture(scope="module")
async def scenarios(dev_env, tmp_path_factory) -> AsyncIterator[Callable[[str], Any]]:
    """Each scenario's partnership, started on first use and shared by its rows, with one worker
    and one web app for the module."""
    folder = tmp_path_factory.mktemp("refusals")
    settings = Settings(data_dir=folder / "accord", task_queue=f"test-{uuid.uuid4().hex[:8]}", api_keys=[OPS],
                        allow_short_durations=True)
    listener, base = listen(settings)
    accord = Accord(dev_env.client, settings)
    started: dict[str, Scenario] = {}
    async with running_worker(dev_env.client, settings), serving(settings, accord, listener):  # noqa: SIM117 - the HTTP client is opened once the app is serving
        async with httpx.AsyncClient(base_url=f"{base}/api/v1", headers=bearer(OPS_KEY), timeout=60) as http:
            async def scenario(name: str) -> Scenario:
                if name not in started:
                    wf = await SCENARIOS[name](accord)
                    await until(lambda: idle(accord, wf))  # nothing left in flight: the state holds still
                    started[name] = Scenario(accord, wf, dev_env.client.service_client.config.target_host, http, folder)
                return started[name]

            yield scenario
            for s in started.values():
                recorded = await history_files.everything_of(dev_env.client, s.wf)
                record(recorded, "test_refusals_four_ways")
                for r in reversed(recorded):
                    await dev_env.client.get_workflow_handle(r.workflow_id).terminate(reason="test finished")


# ---------------------------------------------------------------------- the four ways


async def by_cli(s: Scenario, row: Refusal, arg: dict[str, Any]) -> str:
    args = [*WAYS[row.update].cli(s.pid, arg, s.folder), "--address", s.address]
    result = await asyncio.to_thread(CliRunner().invoke, cli_app, args)
    assert result.exit_code == 1, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("refused: "), result.output
    return last.removeprefix("refused: ")


async def by_client(s: Scenario, row: Refusal, arg: dict[str, Any]) -> str:
    way = WAYS[row.update]
    with pytest.raises(ActionRefused) as refused:
        await getattr(s.accord, way.method)(s.wf, way.model.model_validate(arg))
    return refused.value.message


async def by_http(s: Scenario, row: Refusal, arg: dict[str, Any]) -> str:
    r = await s.http.request("POST", **WAYS[row.update].http(s.pid, arg))
    assert r.status_code == 409, r.text
    return r.json()["detail"]


async def by_temporal(s: Scenario, row: Refusal, arg: dict[str, Any]) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await s.accord.client.get_workflow_handle(s.wf).execute_update(row.update, arg)
    assert isinstance(failed.value.cause, ApplicationError), failed.value.cause
    return failed.value.cause.message


FOUR_WAYS = {"cli": by_cli, "python": by_client, "http": by_http, "temporal": by_temporal}


async def _argument(s: Scenario, row: Refusal) -> dict[str, Any]:
    """The row's argument; an amendment's definition is the one in force, renamed (a real change)."""
    if row.update != "propose_amendment":
        return row.arg
    current = await s.accord.definition(s.wf)
    return {**row.arg, "definition": current.model_copy(update={"name": current.name + " (amended)"}).model_dump(mode="json")}


@pytest.mark.parametrize("row", REFUSALS, ids=[r.what for r in REFUSALS])
async def test_each_refusal_is_the_same_every_way_in_and_changes_nothing(row: Refusal, scenarios):
    s = await scenarios(row.scenario)
    arg = await _argument(s, row)
    before = snapshot(await s.accord.state(s.wf))
    said = {way: await send(s, row, arg) for way, send in FOUR_WAYS.items()}
    assert row.says in said["temporal"], said
    assert said == dict.fromkeys(FOUR_WAYS, said["temporal"]), said
    assert snapshot(await s.accord.state(s.wf)) == before
