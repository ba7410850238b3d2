"""Every action through the HTTP API, against a real worker: statements, the alignment
override, decisions and delegations, MOU revisions, amendments and closing on the dev server;
review inputs, review outcomes and metrics on the time-skipping server (reviews open weeks
after launch). Each endpoint reaches the workflow by the same update as the CLI, so its
refusals are the workflow's own (409), and the state shows what the API did (channel api)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import yaml

from accord.client import Accord
from accord.models import ApprovalOutcome, Channel, Rag, Stage, TaskStatus
from accord.web.app import create_app
from tests.support.api_helpers import OPS_KEY, VIEWER_KEY, Api, bearer
from tests.support.helpers import ALIGNED, DIVERGENT, state_where, unique
from tests.support.paths import DATA
from tests.support.web_helpers import screening_definition, snapshot
from tests.support.workers import running_worker

DAY = timedelta(days=1)


def as_yaml(definition) -> str:
    return yaml.safe_dump(definition.model_dump(mode="json", exclude_none=True), sort_keys=False)


async def test_screening_mou_amendment_and_closing_through_the_api(api: Api):
    definition = screening_definition()
    definition.mou.allow_delegation = True
    wf = await api.start(definition)
    pid = definition.id
    at = f"/partnerships/{pid}"
    await state_where(api.accord, wf, lambda s: len(s.tasks) == 7)

    # Goal statements: three aligned, one divergent; the block is overridden by an approver.
    for who in ("alice", "arun", "bea"):
        r = await api.post(f"{at}/statements", json={"stakeholder": who, "text": ALIGNED[who]})
        assert r.status_code == 200 and r.json()["message"] == "Your statement is recorded.", r.text
    r = await api.post(f"{at}/statements", json={"stakeholder": "ben", "text": DIVERGENT})
    assert r.status_code == 409 and r.json()["detail"] == "'ben' is not asked for a goal statement in this partnership."
    assert (await api.post(f"{at}/statements", json={"stakeholder": "bo", "text": DIVERGENT})).status_code == 200
    blocked = await state_where(api.accord, wf, lambda s: s.alignment.result is not None and s.alignment.result.blocked)
    assert blocked.alignment.statements["bo"].text == DIVERGENT
    r = await api.post(f"{at}/alignment/override", json={"actor": "arun", "reason": "Same goal"})
    assert r.status_code == 409 and r.json()["detail"] == "Only alice, bea may override the alignment check."
    r = await api.post(f"{at}/alignment/override", json={"actor": "alice", "reason": "Same goal, other words."})
    assert r.status_code == 200 and "overridden" in r.json()["message"]
    assert (await api.accord.state(wf)).alignment.overridden_by == "alice"

    for task, owner in (("capability", "arun"), ("legal", "bo")):
        assert (await api.post(f"{at}/tasks/{task}/complete", json={"actor": owner})).status_code == 200
    await state_where(api.accord, wf, lambda s: "go-no-go" in s.approvals)

    # Approval ids are listed; decisions name them. A go/no-go has no document to change.
    listed = (await api.get(f"{at}/approvals", VIEWER_KEY)).json()
    assert [(a["id"], a["approvers"], a["outcome"]) for a in listed] == [("go-no-go", ["alice", "bea"], "pending")]
    gng = f"{at}/approvals/go-no-go"
    r = await api.post(f"{gng}/decisions", json={"actor": "bea", "decision": "request_changes", "comment": "More"})
    assert r.status_code == 409 and r.json()["detail"] == "This decision has no document to change: approve or reject."
    r = await api.post(f"{gng}/decisions", json={"actor": "bea", "decision": "maybe"})
    assert r.status_code == 422
    r = await api.post(f"{at}/approvals/no-such-approval/decisions", json={"actor": "bea", "decision": "approve"})
    assert r.status_code == 409 and "There is no approval 'no-such-approval'" in r.json()["detail"]
    r = await api.post(f"{gng}/delegations", json={"actor": "bea", "to": "bo", "reason": "Away"})
    assert r.status_code == 409 and r.json()["detail"] == "The definition does not allow delegation for Go/no-go decision."
    for who in ("alice", "bea"):
        r = await api.post(f"{gng}/decisions", json={"actor": who, "decision": "approve", "comment": "Go."})
        assert r.status_code == 200 and r.json()["message"] == "Your decision (approve) is recorded.", r.text
    state = await state_where(api.accord, wf, lambda s: "mou" in s.approvals and s.mou.versions)
    assert [d.channel for d in state.approvals["go-no-go"].decisions] == [Channel.api, Channel.api]

    # The MOU: a decision on another version is refused; a revision (uploaded, then regenerated)
    # starts a new round; a delegation hands bea's signature to bo.
    mou = f"{at}/approvals/mou"
    version_1 = state.approvals["mou"].document_hash
    r = await api.post(f"{at}/mou/revisions", json={"markdown": "   "})
    assert r.status_code == 409 and r.json()["detail"] == "The uploaded MOU is empty."
    r = await api.post(f"{at}/mou/revisions", json={"actor": "ops", "note": "Clause 4", "markdown": "# MOU\n\nClause 4.\n"})
    assert r.status_code == 200 and r.json()["message"] == "MOU version 2 recorded; a new signature round starts."
    state = await state_where(api.accord, wf, lambda s: s.approvals["mou"].round == 2)
    version_2 = state.approvals["mou"].document_hash
    assert state.mou.versions[-1].source == "uploaded" and version_2 != version_1
    r = await api.post(f"{mou}/decisions", json={"actor": "alice", "decision": "approve", "document_hash": version_1})
    assert r.status_code == 409 and "not for the version now up for decision (version 2" in r.json()["detail"]
    r = await api.post(f"{mou}/decisions", json={"actor": "alice", "decision": "approve", "round": 1})
    assert r.status_code == 409 and "superseded by round 2" in r.json()["detail"]
    r = await api.post(f"{mou}/delegations", json={"actor": "bea", "to": "bo", "reason": ""})
    assert r.status_code == 409 and r.json()["detail"] == "A delegation needs a reason."
    r = await api.post(f"{mou}/delegations", json={"actor": "bea", "to": "bo", "reason": "Bo signs for Beta this month."})
    assert r.status_code == 200 and r.json()["message"].startswith("Delegated to Bo Beta"), r.text
    r = await api.post(f"{at}/mou/revisions", json={"note": "Back to the template"})
    assert r.status_code == 200 and "MOU version 3" in r.json()["message"]
    state = await state_where(api.accord, wf, lambda s: s.approvals["mou"].round == 3)
    assert state.mou.versions[-1].source == "generated" and state.approvals["mou"].approvers == ["alice", "bo"]
    for who in ("alice", "bo"):
        r = await api.post(f"{mou}/decisions", json={"actor": who, "decision": "approve",
                                                      "document_hash": state.approvals["mou"].document_hash})
        assert r.status_code == 200, r.text
    state = await state_where(api.accord, wf, lambda s: s.stage == Stage.active)
    assert state.approvals["mou"].outcome == ApprovalOutcome.approved

    # An amendment: an invalid one gets every problem (like starting one); a valid one shows
    # its changes by field path and goes to approval; a second waits for the first.
    current = await api.accord.definition(wf)
    yaml_body = {"headers": {"content-type": "application/yaml"}}
    broken = as_yaml(current).replace("respond_within: 2d", "respond_within: soon")
    r = await api.post(f"{at}/amendments", params={"reason": "Faster"}, content=broken.encode(), **yaml_body)
    assert r.status_code == 422, r.text
    assert [p["path"] for p in r.json()["problems"]] == ["escalation.ladder.0.respond_within"]
    assert r.json()["problems"][0]["line"] == broken.splitlines().index(
        next(line for line in broken.splitlines() if "respond_within: soon" in line)) + 1
    amended = current.model_copy(update={"name": "Test screening partnership, phase 2"})
    r = await api.post(f"{at}/amendments", params={"reason": "Phase 2", "actor": "alice"}, json=amended.model_dump(mode="json"))
    assert r.status_code == 201, r.text
    proposed = r.json()
    assert proposed["changes"] == ["name: 'Test screening partnership' -> 'Test screening partnership, phase 2'"]
    assert proposed["amendment_id"] == "amendment-1" and proposed["message"].startswith("amendment-1 (1 changes) goes to")
    r = await api.post(f"{at}/amendments", params={"reason": "Again"}, content=as_yaml(amended).encode(), **yaml_body)
    assert r.status_code == 409 and r.json()["detail"] == "amendment-1 is still in approval; one amendment at a time."
    [amendment] = (await api.accord.state(wf)).amendments
    assert (amendment.proposed_by, amendment.reason, amendment.channel) == ("alice", "Phase 2", Channel.api)

    # Closing: only ops or the amendment approvers, with a reason.
    r = await api.post(f"{at}/close", json={"actor": "arun", "reason": "Done"})
    assert r.status_code == 409 and r.json()["detail"] == "Only ops or alice, bea may close the partnership."
    r = await api.post(f"{at}/close", json={"actor": "ops", "reason": "Both parties agreed."})
    assert r.status_code == 200 and "closed" in r.json()["message"]
    state = await state_where(api.accord, wf, lambda s: s.stage == Stage.closed)
    assert state.closure_reason == "Both parties agreed."
    assert (await api.post("/partnerships/no-such-one/close", json={"actor": "ops", "reason": "x"})).status_code == 404


async def test_an_organisation_can_refuse_decisions_and_delegations_through_the_api(api: Api):
    """api_decisions off: decisions and delegations are refused (403, saying to use the signed
    link), before anything reaches the workflow; every other action still works."""
    wf = await api.start(screening_definition())
    pid = wf.removeprefix("partnership-")
    await state_where(api.accord, wf, lambda s: len(s.tasks) == 7)
    settings = api.settings.model_copy(update={"api_decisions": False})
    transport = httpx.ASGITransport(app=create_app(settings, api.accord))
    async with httpx.AsyncClient(transport=transport, base_url="http://accord.test", headers=bearer(OPS_KEY)) as http:
        before = snapshot(await api.accord.state(wf))
        for path, body in (("approvals/go-no-go/decisions", {"actor": "alice", "decision": "approve"}),
                           ("approvals/go-no-go/decisions", {"actor": "nobody", "decision": "never"}),
                           ("approvals/mou/delegations", {"actor": "alice", "to": "arun", "reason": "Away"})):
            r = await http.post(f"/api/v1/partnerships/{pid}/{path}", json=body)
            assert r.status_code == 403, r.text
            assert "use the signed link in your email" in r.json()["detail"] and "api_decisions" in r.json()["detail"]
        assert snapshot(await api.accord.state(wf)) == before
        r = await http.post(f"/api/v1/partnerships/{pid}/tasks/capability/complete", json={"actor": "arun"})
        assert r.status_code == 200
    assert (await api.accord.state(wf)).tasks["capability"].status == TaskStatus.done


async def test_a_body_larger_than_the_bound_is_refused_before_it_is_read(api: Api):
    r = await api.post("/partnerships/x/mou/revisions", json={"markdown": "x" * (3 * 1024 * 1024)})
    assert r.status_code == 413 and "larger than" in r.json()["detail"]

    async def chunked():  # no declared length: counted as it arrives
        for _ in range(40):
            yield b"x" * 65536

    r = await api.post("/partnerships/x/mou/revisions", content=chunked(), headers={"content-type": "application/json"})
    assert r.status_code == 413


async def test_reviews_and_metrics_through_the_api(ts_env, api_settings, accord_for):
    """Review inputs and outcomes and metric values by the API, on a partnership in operation
    (time-skipping server: the first weekly review opens a week after launch)."""
    accord: Accord = accord_for(ts_env)
    definition = unique(DATA / "operating.yaml")
    async with running_worker(ts_env.client, api_settings):
        transport = httpx.ASGITransport(app=create_app(api_settings, accord))
        async with httpx.AsyncClient(transport=transport, base_url="http://accord.test", headers=bearer(OPS_KEY)) as http:
            wf = await accord.start(definition)
            at = f"/api/v1/partnerships/{definition.id}"
            await state_where(accord, wf, lambda s: "go-no-go" in s.approvals)
            for who in ("ann", "ben"):
                r = await http.post(f"{at}/approvals/go-no-go/decisions", json={"actor": who, "decision": "approve"})
                assert r.status_code == 200, r.text
            await state_where(accord, wf, lambda s: s.stage == Stage.launch)

            # Before launch ends, the first value of a metric is its baseline.
            metric = f"{at}/metrics/referrals/observations"
            r = await http.post(metric, json={"actor": "abe", "value": 4, "note": "Q1"})
            assert r.status_code == 200 and r.json()["message"] == "Baseline of Qualified referrals recorded: 4 referrals per month."
            r = await http.post(f"{at}/metrics/nope/observations", json={"actor": "abe", "value": 4})
            assert r.status_code == 409 and r.json()["detail"] == "There is no metric 'nope' (metrics: referrals)."
            r = await http.post(metric, json={"actor": "abe", "value": "NaN"})
            assert r.status_code == 422
            assert (await http.post(f"{at}/tasks/kickoff/complete", json={"actor": "abe"})).status_code == 200
            await state_where(accord, wf, lambda s: s.stage == Stage.active)

            await ts_env.sleep(7 * DAY + timedelta(hours=1))
            state = await state_where(accord, wf, lambda s: any(r.opened_at and not r.closed_at for r in s.reviews.values()))
            review = next(r for r in state.reviews.values() if r.opened_at and not r.closed_at and r.kind == "weekly_status")
            inputs = f"{at}/reviews/{review.id}/inputs"
            r = await http.post(inputs, json={"stakeholder": "abe"})
            assert r.status_code == 409 and r.json()["detail"] == "Say how it is going: green, amber or red."
            r = await http.post(inputs, json={"stakeholder": "ann", "rag": "green"})
            assert r.status_code == 409 and "'ann' is not asked for input to Weekly status #1" in r.json()["detail"]
            r = await http.post(inputs, json={"stakeholder": "abe", "rag": "amber", "note": "Playbook late"})
            assert r.status_code == 200 and r.json()["message"] == "Your input is recorded."

            outcome = f"{at}/reviews/{review.id}/outcome"
            r = await http.post(outcome, json={"actor": "ops"})
            assert r.status_code == 409 and r.json()["detail"] == "Nothing to record: give at least one decision or action."
            r = await http.post(outcome, json={"decisions": ["Ship the playbook first."],
                                               "actions": [{"title": "Finish the playbook", "owner": "abe", "due_in_days": 7}]})
            assert r.status_code == 200 and r.json()["message"] == "Recorded: 1 decisions and 1 actions."
            r = await http.post(metric, json={"actor": "abe", "value": 7})
            assert r.status_code == 200 and "7 referrals per month recorded (target 10)" in r.json()["message"]

            state = await accord.state(wf)
            submitted = state.reviews[review.id]
            assert (submitted.inputs["abe"].rag, submitted.inputs["abe"].channel) == (Rag.amber, Channel.api)
            assert submitted.decisions == ["Ship the playbook first."]
            [action] = submitted.actions
            assert state.tasks[action].title == "Finish the playbook" and state.tasks[action].owner == "abe"
            track = state.metrics["referrals"]
            assert track.baseline == 4 and [(o.value, o.channel) for o in track.observations] == [(7, Channel.api)]
