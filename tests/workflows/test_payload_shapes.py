"""Every payload the saved histories hold decodes with today's models and encodes back to the
same JSON: a field typed anew (a plain string become an enum, a model moved to another module)
must accept what running partnerships already stored, and write it as they wrote it. (Fields
added since a history was written come back with their defaults: only they may be new.)

Workflow inputs and results, continue-as-new inputs, child inputs, activity inputs and
results, update and signal arguments: each is decoded by the type its workflow, activity,
update or signal declares.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import TypeAdapter
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from tests.support.history_files import SAVED, saved_file, workflow_id_of, workflow_type
from worker import WORKFLOWS
from workflows.toolkit import activities as declared

E = EventType


def _workflows() -> dict[str, Any]:
    return {workflow._Definition.must_from_class(w).name: workflow._Definition.must_from_class(w) for w in WORKFLOWS}  # noqa: SLF001 - the SDK's only way to read a workflow's declared payload types


def _activities() -> dict[str, Any]:
    defns = [activity._Definition.must_from_callable(fn) for fn in vars(declared).values()  # noqa: SLF001 - the SDK's only way to read an activity's declared payload types
             if callable(fn) and hasattr(fn, "__temporal_activity_definition")]
    return {d.name: d for d in defns}


def _run_input(defn: Any) -> type:
    return defn.arg_types[0]  # every workflow takes one model


def _message_type(handler: Any) -> type:
    # A message that takes no argument (``report_again``) carries no payload to check.
    return handler.arg_types[0] if handler.arg_types else type(None)


def payloads(history: WorkflowHistory) -> list[tuple[str, type, bytes]]:
    """(where, declared type, JSON bytes) of every payload of ``history`` whose type is declared."""
    wfs, acts = _workflows(), _activities()
    me = wfs[workflow_type(history)]
    found: list[tuple[str, type, bytes]] = []
    scheduled: dict[int, str] = {}

    def add(where: str, kind: type, container: Any) -> None:
        for p in container.payloads:
            if p.metadata.get("encoding") == b"json/plain":  # not binary/null: an argument sent as None
                found.append((where, kind, p.data))

    for e in history.events:
        t = e.event_type
        if t == E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            add("workflow input", _run_input(me), e.workflow_execution_started_event_attributes.input)
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            add("continue-as-new input", _run_input(me), e.workflow_execution_continued_as_new_event_attributes.input)
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED and me.ret_type is not None:
            add("workflow result", me.ret_type, e.workflow_execution_completed_event_attributes.result)
        elif t == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = e.activity_task_scheduled_event_attributes
            scheduled[e.event_id] = attrs.activity_type.name
            add(f"activity {attrs.activity_type.name} input", acts[attrs.activity_type.name].arg_types[0], attrs.input)
        elif t == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            attrs = e.activity_task_completed_event_attributes
            name = scheduled[attrs.scheduled_event_id]
            add(f"activity {name} result", acts[name].ret_type, attrs.result)
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            request = e.workflow_execution_update_accepted_event_attributes.accepted_request.input
            if request.name:  # (the server may leave out a request it recorded before)
                add(f"update {request.name}", _message_type(me.updates[request.name]), request.args)
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            attrs = e.workflow_execution_signaled_event_attributes
            if attrs.signal_name in me.signals:  # (the malformed-message tests send others too)
                add(f"signal {attrs.signal_name}", _message_type(me.signals[attrs.signal_name]), attrs.input)
        elif t == E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            attrs = e.start_child_workflow_execution_initiated_event_attributes
            add("child input", _run_input(wfs[attrs.workflow_type.name]), attrs.input)
        elif t == E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
            attrs = e.signal_external_workflow_execution_initiated_event_attributes
            target = next(d for d in wfs.values() if attrs.signal_name in d.signals)
            add(f"signal {attrs.signal_name} sent", _message_type(target.signals[attrs.signal_name]), attrs.input)
    return found


def _strip_none(kind: type) -> type:
    """``X | None`` (signal arguments admit None so a malformed one is dropped): X."""
    args = [a for a in getattr(kind, "__args__", ()) if a is not type(None)]
    return args[0] if len(args) == 1 and type(None) in getattr(kind, "__args__", ()) else kind


def kept(original: Any, now: Any) -> bool:
    """``now`` holds everything ``original`` held, unchanged (objects may have gained keys)."""
    if isinstance(original, dict):
        return isinstance(now, dict) and all(k in now and kept(v, now[k]) for k, v in original.items())
    if isinstance(original, list):
        return isinstance(now, list) and len(now) == len(original) and all(map(kept, original, now))
    return type(original) is type(now) and original == now


def test_kept_sees_a_changed_value_a_lost_key_and_a_changed_type():
    assert kept({"a": [1, {"b": "x"}]}, {"a": [1, {"b": "x", "c": 2}], "d": None})
    assert not kept({"a": "x"}, {"a": "y"})
    assert not kept({"a": "x"}, {})
    assert not kept({"a": 1}, {"a": 1.0})
    assert not kept([1, 2], [1])


# The files, not their histories: each test process collects every test, and reading 160
# histories there took seconds per process.
FILES = sorted(SAVED.rglob("*.json"))


@pytest.mark.parametrize("path", FILES, ids=lambda path: workflow_id_of(path)[:60])
def test_every_stored_payload_decodes_and_encodes_back_to_the_same_json(path):
    found = payloads(saved_file(path))
    assert found, "a history has at least its input"
    for where, kind, data in found:
        original = json.loads(data)
        if original is None:
            continue  # a signal sent with a null argument (dropped by the workflow, by design)
        adapter = TypeAdapter(_strip_none(kind))
        try:
            decoded = adapter.validate_json(data)
        except ValueError:
            if where.startswith(("signal ", "update ")):
                continue  # the malformed-message tests send what no model accepts, on purpose
            raise
        assert kept(original, json.loads(adapter.dump_json(decoded))), where
