"""The HTTP JSON API (/api/v1) against a real worker on the dev server: keys and roles,
every endpoint end to end, definition and amendment errors, and schemathesis run against
the app's own OpenAPI schema."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from pathlib import Path

import yaml

from accord.models import Channel, EscalationStatus, TaskStatus
from tests.support import run_record
from tests.support.api_helpers import OPS, OPS_KEY, VIEWER_KEY, Api, bearer
from tests.support.browser import listen, serving
from tests.support.helpers import eventually, unique
from tests.support.paths import DATA
from tests.support.web_helpers import screening_definition, snapshot, until
from tests.support.workers import running_worker


async def _terminate_escalations(api: Api, wf: str) -> None:
    for e in await api.accord.escalations(wf):
        if e.workflow_id and e.status in ("open", "acknowledged"):
            await api.accord.client.get_workflow_handle(e.workflow_id).terminate(reason="test finished")


# ---------------------------------------------------------------------- keys and roles


async def test_no_key_a_wrong_key_or_a_viewer_acting_is_refused_and_changes_nothing(api: Api):
    wf = await api.accord.start(screening_definition())
    pid = wf.removeprefix("partnership-")
    await until(lambda: _tasks(api, wf))
    before = snapshot(await api.accord.state(wf))
    escalate = {"reason": "Nobody answers", "level": 1}

    for headers in ({}, bearer("acc_" + "x" * 43), bearer(""), {"Authorization": f"Basic {OPS_KEY}"},
                    {"Authorization": OPS_KEY}, bearer(OPS.sha256)):
        for method, path, body in (("GET", "/partnerships", None), ("GET", f"/partnerships/{pid}", None),
                                   ("POST", f"/partnerships/{pid}/escalations", escalate),
                                   ("POST", f"/partnerships/{pid}/tasks/capability/complete", {"actor": "arun"}),
                                   ("POST", "/partnerships", {"not": "even a definition"})):
            r = await api.http.request(method, f"/api/v1{path}", headers=headers, json=body)
            assert r.status_code == 401, (headers, method, path, r.text)
            assert r.headers["www-authenticate"] == "Bearer"
    # Checked before the body is read: a malformed body without a key is a 401, not a 422.
    r = await api.http.post(f"/api/v1/partnerships/{pid}/escalations", content=b"{not json",
                            headers={"content-type": "application/json"})
    assert r.status_code == 401

    # A viewer reads, and may not act.
    assert (await api.get(f"/partnerships/{pid}", VIEWER_KEY)).status_code == 200
    assert (await api.get(f"/partnerships/{pid}/escalations", VIEWER_KEY)).json() == []
    for path, body in ((f"/partnerships/{pid}/escalations", escalate),
                       (f"/partnerships/{pid}/tasks/capability/complete", {"actor": "arun"}),
                       (f"/partnerships/{pid}/escalations/esc-1/acknowledge", {}),
                       ("/partnerships", unique(DATA / "screening.yaml").model_dump(mode="json"))):
        r = await api.post(path, VIEWER_KEY, json=body)
        assert r.status_code == 403, (path, r.text)
        assert "may only read" in r.json()["detail"]
    assert snapshot(await api.accord.state(wf)) == before
    assert not any(r.name == "Test screening partnership" and r.workflow_id != wf
                   for r in await api.accord.list(query=f"WorkflowId = '{wf}x'"))

    # The schema and the docs are public; they hold no data.
    schema = (await api.get("/openapi.json", None)).json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "PartnershipDefinition" in schema["components"]["schemas"]
    docs = await api.get("/docs", None)
    assert docs.status_code == 200 and "swagger-ui-bundle.js" in docs.text
    assert "script-src 'self'" in docs.headers["content-security-policy"]
    assert (await api.get("/docs/assets/swagger-ui-bundle.js", None)).status_code == 200

    # And the ops key acts, recorded under its name.
    r = await api.post(f"/partnerships/{pid}/escalations", json=escalate)
    assert r.status_code == 201, r.text
    assert r.json()["escalation"]["raised_by"] == "deploy-bot"
    await _terminate_escalations(api, wf)


async def _tasks(api: Api, wf: str) -> bool:
    return len((await api.accord.state(wf)).tasks) == 7


# ---------------------------------------------------------------------- end to end


async def test_start_status_list_and_definition_errors(api: Api):
    definition = screening_definition()
    text = yaml.safe_dump(definition.model_dump(mode="json", exclude_none=True), sort_keys=False)

    r = await api.post("/partnerships", content=text.encode(), headers={"content-type": "application/yaml"})
    assert r.status_code == 201, r.text
    wf = r.json()["workflow_id"]
    api.accord.started.append(wf)
    assert wf == f"partnership-{definition.id}" and r.json()["ui_url"].endswith(f"/workflows/{wf}")
    again = await api.post("/partnerships", content=text.encode(), headers={"content-type": "application/yaml"})
    assert again.status_code == 409 and "already running" in again.json()["detail"]

    # JSON works too, and a broken definition gets every problem, as `accord validate` reports them.
    other = await api.start(unique(DATA / "screening.yaml"))
    broken = (DATA / "broken" / "owner-not-a-stakeholder.yaml").read_text()
    r = await api.post("/partnerships", content=broken.encode(), headers={"content-type": "text/yaml"})
    assert r.status_code == 422
    assert r.json()["problems"] == [{"file": "request body", "line": 36, "path": "screening.checklist.0.owner",
                                     "message": "stakeholder 'abby' is not a stakeholder of any party (known: abe, ann, ben)"}]
    as_json = json.dumps(yaml.safe_load(broken), indent=2)
    r = await api.post("/partnerships", content=as_json.encode(), headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["problems"][0]["path"] == "screening.checklist.0.owner"
    assert as_json.splitlines()[r.json()["problems"][0]["line"] - 1].strip().startswith('"owner": "abby"')
    r = await api.post("/partnerships", content=b'{"id": ', headers={"content-type": "application/json"})
    assert r.status_code == 422 and "not valid JSON" in r.json()["problems"][0]["message"]
    r = await api.post("/partnerships", content=b"<xml/>", headers={"content-type": "application/xml"})
    assert r.status_code == 415

    r = await api.get(f"/partnerships/{definition.id}")
    assert r.status_code == 200
    body = r.json()
    assert body["workflow_id"] == wf and body["state"]["stage"] == "screening" and body["state"]["name"] == definition.name
    assert (await api.get(f"/partnerships/{wf}")).json()["workflow_id"] == wf
    assert (await api.get("/partnerships/no-such-partnership")).status_code == 404
    assert (await api.get("/partnerships/Not%20An%20Id")).status_code == 422

    async def listed() -> None:
        ids = [p["workflow_id"] for p in (await api.get("/partnerships", params={"stage": "screening"})).json()]
        assert wf in ids and other in ids
        assert wf not in [p["workflow_id"] for p in (await api.get("/partnerships?stage=active")).json()]

    await eventually(listed)
    assert (await api.get("/partnerships?stage=nonsense")).status_code == 422


async def test_task_result_escalate_acknowledge_care_resolve(api: Api):
    wf = await api.start(screening_definition())
    pid = wf.removeprefix("partnership-")
    await until(lambda: _tasks(api, wf))

    # A task result on behalf of its owner, through the same update (and validation) as the rest.
    r = await api.post(f"/partnerships/{pid}/tasks/capability/complete", json={"actor": "nobody", "result": "x"})
    assert r.status_code == 409 and "'nobody' is not a stakeholder" in r.json()["detail"]
    r = await api.post(f"/partnerships/{pid}/tasks/no-such-task/complete", json={"actor": "arun"})
    assert r.status_code == 409 and "There is no task 'no-such-task'" in r.json()["detail"]
    r = await api.post(f"/partnerships/{pid}/tasks/capability/complete", json={"actor": "arun", "result": "Audited."})
    assert r.status_code == 200 and "marked done" in r.json()["message"]
    task = (await api.accord.state(wf)).tasks["capability"]
    assert (task.status, task.completed_by, task.result, task.channel) == (TaskStatus.done, "arun", "Audited.", Channel.api)
    assert (await api.post("/partnerships/nope/tasks/capability/complete", json={"actor": "arun"})).status_code == 404

    # Escalate: refused by the workflow's validator, then raised.
    r = await api.post(f"/partnerships/{pid}/escalations", json={"reason": "Cut-over slipping", "level": 3})
    assert r.status_code == 409 and "Level must be between 1 and 2" in r.json()["detail"]
    r = await api.post(f"/partnerships/{pid}/escalations", json={"reason": "   ", "level": 1})
    assert r.status_code == 409 and "needs a reason" in r.json()["detail"]
    r = await api.post(f"/partnerships/{pid}/escalations", json={"reason": "Cut-over slipping", "level": 2,
                                                                  "severity": "high"})
    assert r.status_code == 201, r.text
    raised = r.json()
    esc = raised["escalation"]
    assert (esc["id"], esc["level"], esc["severity"], esc["raised_by"], esc["channel"]) == (
        "esc-1", 2, "high", "deploy-bot", "api")
    assert raised["ui_url"].endswith(esc["workflow_id"])
    assert [e["id"] for e in (await api.get(f"/partnerships/{pid}/escalations")).json()] == ["esc-1"]
    one = (await api.get(f"/partnerships/{pid}/escalations/esc-1")).json()
    assert one["status"] == "open" and one["levels"][0]["name"] == "Sponsors" and one["reason"] == "Cut-over slipping"
    assert (await api.get(f"/partnerships/{pid}/escalations/esc-7")).status_code == 404

    base = f"/partnerships/{pid}/escalations/esc-1"
    r = await api.post(f"{base}/acknowledge", json={"actor": "nobody"})
    assert r.status_code == 409 and "not a stakeholder" in r.json()["detail"]
    r = await api.post(f"{base}/acknowledge", json={"actor": "alice", "note": "Mine."})
    assert r.status_code == 200 and "stops climbing" in r.json()["message"]
    r = await api.post(f"{base}/resolve", json={"resolution": "Early"})
    assert r.status_code == 409 and "Record the CARE steps first" in r.json()["detail"]
    r = await api.post(f"{base}/care", json={"step": "acknowledge", "text": "Ops view"})
    assert r.status_code == 409 and "ops must name the party" in r.json()["detail"]
    # A party's perspective comes from its people or ops: Alice (Acme) cannot give Beta's.
    r = await api.post(f"{base}/care", json={"actor": "alice", "step": "acknowledge", "text": "x", "party": "beta"})
    assert r.status_code == 409 and "Beta Ltd's perspective is recorded by Beta Ltd's people or by ops." in r.json()["detail"]
    for actor, step, party in (("alice", "clarify", None), ("alice", "acknowledge", "acme"), ("ops", "acknowledge", "beta"),
                               ("alice", "reframe", None), ("alice", "explore", None)):
        body = {"actor": actor, "step": step, "text": f"{step} {party or ''}".strip(), "party": party}
        r = await api.post(f"{base}/care", json=body)
        assert r.status_code == 200, r.text
    assert "complete" in r.json()["message"]

    definition = await api.accord.definition(wf)
    amended = yaml.safe_dump(definition.model_dump(mode="json", exclude_none=True), sort_keys=False)
    r = await api.post(f"{base}/resolve", json={"resolution": "Lend a DBA", "amendment": amended.replace("respond_within: 2d", "respond_within: soon")})
    assert r.status_code == 422
    assert r.json()["problems"][0]["path"] == "escalation.ladder.0.respond_within"
    assert (await api.accord.escalation(wf, "esc-1")).status == EscalationStatus.acknowledged

    # (An amendment that passes goes to approval first: tests/workflows/test_amendments.py.)
    r = await api.post(f"{base}/resolve", json={"actor": "bea", "resolution": "Lend a DBA"})
    assert r.status_code == 200 and r.json()["message"] == "The escalation is resolved."
    final = (await api.get(base, VIEWER_KEY)).json()
    assert (final["status"], final["closed_by"], final["closed_channel"]) == ("resolved", "bea", "api")
    assert final["care"]["acknowledge"]["beta"]["text"] == "acknowledge beta"
    r = await api.post(f"{base}/withdraw", json={"reason": "late"})
    assert r.status_code == 409 and "already resolved" in r.json()["detail"]

    async def parent_knows() -> None:
        [record] = (await api.get(f"/partnerships/{pid}/escalations")).json()
        assert record["status"] == "resolved"

    await eventually(parent_knows)

    # A second escalation, withdrawn.
    r = await api.post(f"/partnerships/{pid}/escalations", json={"reason": "Budget", "subject": "budget"})
    assert r.status_code == 201 and r.json()["escalation"]["id"] == "esc-2"
    r = await api.post(f"/partnerships/{pid}/escalations/esc-2/withdraw", json={"actor": "ops", "reason": "Solved."})
    assert r.status_code == 200
    assert (await api.accord.escalation(wf, "esc-2")).withdrawn_reason == "Solved."


# ---------------------------------------------------------------------- schemathesis


# Path parameters are often a live partnership, escalation, approval, review or metric, so
# updates reach the workflows and their validation (a screening partnership: the refusals). Starting a
# partnership and proposing an amendment are only sent the schema's examples (the sample definition,
# JSON and YAML): generating valid definitions from their JSON Schema takes hypothesis minutes, and the
# definition errors have their own tests above.
SCHEMATHESIS_CONFIG = """
[dictionaries.partnerships]
values = ["{partnership}", "{workflow_id}"]
[dictionaries.escalations]
values = ["esc-1"]
[dictionaries.approvals]
values = ["go-no-go", "mou"]
[dictionaries.reviews]
values = ["weekly_status-1"]
[dictionaries.metrics]
values = ["referrals"]
[parameters]
"path.partnership" = {{ dictionary = "partnerships", probability = 0.6 }}
"path.escalation" = {{ dictionary = "escalations", probability = 0.6 }}
"path.approval" = {{ dictionary = "approvals", probability = 0.6 }}
"path.review" = {{ dictionary = "reviews", probability = 0.6 }}
"path.metric" = {{ dictionary = "metrics", probability = 0.6 }}
[phases.stateful]
enabled = false
[[operations]]
include-operation-id = "start_partnership"
phases.coverage.enabled = false
phases.fuzzing.enabled = false
[[operations]]
include-operation-id = "propose_amendment"
phases.coverage.enabled = false
phases.fuzzing.enabled = false
"""


async def test_schemathesis_finds_no_server_error(dev_env, api_settings, accord_for, tmp_path):
    """schemathesis (its CLI, as anyone would run it) against the app's own schema over real
    HTTP, with an ops key: examples, coverage and fuzzing phases, bounded per operation (8
    examples; the two operations that take a whole definition: their examples only). Every
    operation is in the schema, so a new endpoint is fuzzed without a change here. Measured
    on a shared 2-core machine: 22 operations, about 1,060 test cases, 85 s (11 operations,
    500 cases, 48 s before the API covered every action); the run adds its time to the summary."""
    accord = accord_for(dev_env)
    listener, base = listen(api_settings)
    async with running_worker(dev_env.client, api_settings):
        wf = await accord.start(screening_definition())
        from accord.models import EscalationRequest

        await accord.raise_escalation(wf, EscalationRequest(reason="Fuzzing target"))
        config = tmp_path / "schemathesis.toml"
        config.write_text(SCHEMATHESIS_CONFIG.format(partnership=wf.removeprefix("partnership-"), workflow_id=wf))
        async with serving(api_settings, accord, listener):
            began = time.monotonic()
            process = await asyncio.create_subprocess_exec(
                str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(config), "run",
                f"{base}/api/v1/openapi.json",
                "--header", f"Authorization: Bearer {OPS_KEY}",
                "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
                "response_schema_conformance,ignored_auth",
                "--max-examples", "8", "--seed", "20240601",
                "--generation-database", "none", "--workers", "1", "--request-timeout", "40", "--no-color",
                "--report", "junit", "--report-dir", str(tmp_path / "report"),
                cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )
            output, _ = await process.communicate()
        text = output.decode(errors="replace")
        # How long the fuzz takes is worth knowing (it grows with the API), never asserted.
        tested = re.search(r"Operations:\s+(\d+) selected", text)
        cases = re.search(r"Test cases:\s+(\d+) generated", text)
        run_record.figures("schemathesis", f"schemathesis: {tested.group(1) if tested else '?'} operations, "
                           f"{cases.group(1) if cases else '?'} test cases in {time.monotonic() - began:.0f} s")
        # Anything schemathesis made (partnerships it started, escalations it raised) goes.
        async for found in dev_env.client.list_workflows(f"TaskQueue = '{api_settings.task_queue}' AND ExecutionStatus = 'Running'"):
            await dev_env.client.get_workflow_handle(found.id).terminate(reason="test finished")
    assert process.returncode == 0, text[-6000:]
    assert "No issues found" in text or "passed" in text, text[-3000:]
    assert "Server error" not in text
