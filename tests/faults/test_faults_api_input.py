"""Bad input through the HTTP API: the malformed-update corpus (tests/data/malformed/), mapped
onto the API endpoints that carry the same updates, plus bodies that are not JSON at all.

Every request must get a 4xx with a JSON ``detail`` (422 for a body that cannot be
valid, 409 for the workflow's refusal, 404 for what does not exist), never a 5xx; no
workflow task may fail; and the partnership and its escalation keep working.
"""

from __future__ import annotations

from typing import Any

from temporalio.api.enums.v1 import EventType

from accord.models import Channel, EscalationRequest
from tests.support.api_helpers import Api
from tests.support.helpers import state_where
from tests.support.malformed import Case, cases
from tests.support.web_helpers import screening_definition

# Corpus updates the API carries, the endpoint (under /partnerships/{wf}) for each, and the
# body field it takes from the path (with the value used when the body has none).
ENDPOINTS: dict[str, tuple[str, tuple[str, str] | None]] = {
    "complete_task": ("/tasks/{}/complete", ("task_id", "legal")),
    "decide": ("/approvals/{}/decisions", ("approval_id", "go-no-go")),
    "delegate": ("/approvals/{}/delegations", ("approval_id", "go-no-go")),
    "submit_statement": ("/statements", None),
    "override_alignment": ("/alignment/override", None),
    "revise_mou": ("/mou/revisions", None),
    "escalate": ("/escalations", None),
    "acknowledge": ("/escalations/{esc}/acknowledge", None),
    "record_care": ("/escalations/{esc}/care", None),
    "resolve": ("/escalations/{esc}/resolve", None),
    "withdraw": ("/escalations/{esc}/withdraw", None),
}
NOT_JSON = [b"{", b"\xff\xfe\x00", b"null", b"[]" * 1000, b'{"actor": "bo", "result": ' + b'"x' * 10 + b"}"]


# Not malformed for the API: its bodies default the actor to "ops" and have no channel (it is
# always "api", on whose behalf ops may act), and an escalation is raised on the partnership
# (the corpus case is about sending it to the escalation workflow).
NOT_MALFORMED_HERE = {("acknowledge", "no actor"), ("escalate", "an update of the partnership, not the escalation"),
                      ("complete_task", "someone else's task by link"), ("complete_task", "an unknown channel")}


def request_for(case: Case, wf: str, esc: str) -> tuple[str, Any] | None:
    if case.update not in ENDPOINTS or len(case.args) != 1 or (case.update, case.why) in NOT_MALFORMED_HERE:
        return None
    body = case.args[0]
    path, from_path = ENDPOINTS[case.update]
    if from_path is not None:
        field, default = from_path
        segment = default
        if isinstance(body, dict) and field in body:
            if isinstance(body[field], dict | list) or len(str(body[field])) > 2000:
                return None  # not a path segment (and httpx refuses such a URL)
            segment = str(body[field]) or "-"
            body = {k: v for k, v in body.items() if k != field}
        path = path.format(segment)
    return f"/partnerships/{wf}" + path.replace("{esc}", esc), body


async def failed_tasks(api: Api, workflow_id: str) -> list[str]:
    history = await api.accord.client.get_workflow_handle(workflow_id).fetch_history()
    return [e.workflow_task_failed_event_attributes.failure.message for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]


async def test_malformed_api_payloads_get_a_clear_4xx_and_break_nothing(api: Api):
    wf = await api.start(screening_definition())
    await state_where(api.accord, wf, lambda s: len(s.tasks) == 7)
    raised = await api.accord.escalate(wf, EscalationRequest(reason="Kick-off slipping", channel=Channel.api))
    state = await state_where(api.accord, wf, lambda s: s.escalations and s.escalations[0].workflow_id)
    esc, child = state.escalations[0].id, state.escalations[0].workflow_id
    api.accord.started.append(child)
    assert "esc-1" in raised.message

    problems, sent = [], 0
    for group in ("screening", "escalation", "unbounded_text"):
        for case in cases(group):
            mapped = request_for(case, wf, esc)
            if mapped is None:
                continue
            path, body = mapped
            r = await api.post(path, json=body)
            sent += 1
            detail = r.json().get("detail") if r.headers.get("content-type", "").startswith("application/json") else None
            if not 400 <= r.status_code < 500 or not detail:
                problems.append(f"{case.id}: {r.status_code} {r.text[:200]}")
    for raw in NOT_JSON:
        r = await api.post(f"/partnerships/{wf}/tasks/legal/complete", content=raw,
                           headers={"Content-Type": "application/json"})
        sent += 1
        if r.status_code not in (400, 422) or "detail" not in r.json():
            problems.append(f"body {raw[:20]!r}: {r.status_code} {r.text[:200]}")

    # Both still work, through the API.
    done = await api.post(f"/partnerships/{wf}/tasks/legal/complete", json={"actor": "bo", "result": "cleared"})
    ack = await api.post(f"/partnerships/{wf}/escalations/{esc}/acknowledge", json={"actor": "bo"})
    failed = {wf: await failed_tasks(api, wf), child: await failed_tasks(api, child)}

    assert sent >= 30
    assert not problems, "\n".join(problems)
    assert done.status_code == 200 and "marked done" in done.json()["message"]
    assert ack.status_code == 200, ack.text
    assert failed == {wf: [], child: []}
