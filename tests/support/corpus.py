"""What a set of saved histories exercises, and a small set that exercises all of it.

The replay test only proves what its histories reach: a code path no saved history takes
can change without any replay noticing. ``features`` names what one history does (its
workflow type, every update and signal it received, continue-as-new, children, every
patch marker, the escalation statuses it reported, renewal, the ops desk reached);
``REQUIRED`` is what the saved corpus must cover, checked by tests/replay/test_corpus.py.

    python -m tests.support.corpus report DIR        # what the histories under DIR cover
    python -m tests.support.corpus select SRC DEST   # copy a covering subset of SRC into DEST

``select`` is how a release's corpus is made: record the whole suite's histories
(``ACCORD_RECORD_HISTORIES=/tmp/all python3 dev.py test``), then keep the fewest, smallest
tests (all of a test's files together, so a partnership keeps its children and runs) that
still cover every feature of the whole set.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections import defaultdict
from pathlib import Path

from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from tests.support.history_files import workflow_id_of

E = EventType


def _payload_json(payload) -> object:
    try:
        return json.loads(payload.data)
    except (ValueError, UnicodeDecodeError):
        return None


def _summary(event) -> str:
    if event.HasField("user_metadata") and event.user_metadata.HasField("summary"):
        value = _payload_json(event.user_metadata.summary)
        return value if isinstance(value, str) else ""
    return ""


def features(history: WorkflowHistory) -> set[str]:
    found: set[str] = set()
    started = history.events[0].workflow_execution_started_event_attributes
    found.add(f"workflow:{started.workflow_type.name}")
    if started.continued_execution_run_id:
        found.add("continued-as-new:resumed")
    for e in history.events:
        t = e.event_type
        if t == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            found.add(f"update:{e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name}")
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            found.add(f"signal:{e.workflow_execution_signaled_event_attributes.signal_name}")
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            found.add("continued-as-new:handed-over")
        elif t == E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
            found.add("child:started")
        elif t == E.EVENT_TYPE_MARKER_RECORDED:
            attrs = e.marker_recorded_event_attributes
            if attrs.marker_name == "core_patch":
                data = _payload_json(attrs.details["patch-data"].payloads[0]) or {}
                found.add(f"patch:{data.get('id')}")
        elif t == E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
            attrs = e.signal_external_workflow_execution_initiated_event_attributes
            found.add(f"signal-sent:{attrs.signal_name}")
            change = _payload_json(attrs.input.payloads[0]) if attrs.input.payloads else None
            if isinstance(change, dict) and "status" in change:
                found.add(f"escalation:{change['status']}")
                if change.get("with_ops"):
                    found.add("escalation:with-ops")
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            found.add("completed")
        summary = _summary(e).lower()
        if "renewal" in summary:
            found.add("renewal")
        if t == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            found.add(f"activity:{e.activity_task_scheduled_event_attributes.activity_type.name}")
    return found


def _handled(cls: type) -> set[str]:
    defn = workflow._Definition.must_from_class(cls)  # noqa: SLF001 - the SDK's only way to read the names a workflow class declares
    return {f"update:{n}" for n in defn.updates if n} | {f"signal:{n}" for n in defn.signals if n}


def required() -> set[str]:
    """What the saved corpus must exercise: every message each workflow handles, and the paths
    the issue names (continue-as-new, renewal, a ladder to ops, every way an escalation ends)."""
    from worker import WORKFLOWS

    needed = {f"workflow:{workflow._Definition.must_from_class(w).name}" for w in WORKFLOWS}  # noqa: SLF001 - the SDK's only way to read the names a workflow class declares
    for w in WORKFLOWS:
        needed |= _handled(w)
    return needed | {
        "continued-as-new:handed-over", "continued-as-new:resumed", "child:started", "renewal",
        "escalation:acknowledged", "escalation:awaiting_amendment", "escalation:resolved", "escalation:withdrawn",
        "escalation:with-ops", "signal-sent:amendment_decided", "signal-sent:request_withdrawal",
        "activity:archive_partnership", "activity:render_mou", "activity:store_document", "activity:send_email",
    }


def _by_test(root: Path) -> dict[str, list[Path]]:
    tests: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(root.rglob("*.json")):
        tests[str(path.parent.relative_to(root)) if "@" in path.stem else str(path)].append(path)
    return tests


def coverage(root: Path) -> dict[str, set[str]]:
    """Features per test (or per file, in the older flat sets)."""
    out: dict[str, set[str]] = {}
    for test, paths in _by_test(root).items():
        out[test] = set().union(*(features(WorkflowHistory.from_json(workflow_id_of(p), p.read_text())) for p in paths))
    return out


def select(src: Path, dest: Path) -> list[str]:
    """Greedy cover: the test adding most uncovered features per byte, until all are covered."""
    per_test = coverage(src)
    sizes = {t: sum(p.stat().st_size for p in ps) for t, ps in _by_test(src).items()}
    wanted = set().union(*per_test.values())
    chosen: list[str] = []
    while wanted:
        best = max(per_test, key=lambda t: (len(per_test[t] & wanted) / sizes[t], -sizes[t]))
        if not per_test[best] & wanted:
            break
        chosen.append(best)
        wanted -= per_test[best]
    for test in chosen:
        shutil.copytree(src / test, dest / test, dirs_exist_ok=True)
    return chosen


def main(argv: list[str]) -> int:
    if argv[:1] == ["report"] and len(argv) == 2:
        per_test = coverage(Path(argv[1]))
        have = set().union(*per_test.values()) if per_test else set()
        for feature in sorted(have | required()):
            print(("  " if feature in have else "! ") + feature)
        return 0
    if argv[:1] == ["select"] and len(argv) == 3:
        for test in select(Path(argv[1]), Path(argv[2])):
            print(test)
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
