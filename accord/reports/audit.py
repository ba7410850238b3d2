"""The audit export: every decision, document version, review, escalation, metric and
amendment of a partnership, with times and actors, as one JSON document.

Built from the workflow's state (the ``state`` query, or the state a closing workflow
archives), so it says exactly what the workflow recorded. Times are ISO 8601 UTC.
"""

from __future__ import annotations

import json
from typing import Any

from accord.models import PartnershipState
from definitions.schema import PartnershipDefinition

FORMAT = "accord-audit/1"


def audit_export(definition: PartnershipDefinition, state: PartnershipState, workflow_id: str) -> dict[str, Any]:
    s = state.model_dump(mode="json")
    return {
        "format": FORMAT,
        "workflow_id": workflow_id,
        "partnership": {"id": definition.id, "name": definition.name, "formality": definition.formality.value,
                        "parties": [{"id": p.id, "name": p.name, "role": p.role} for p in definition.parties]},
        "stage": s["stage"],
        "health": s["health"],
        "started_at": s["started_at"],
        "launched_at": s["launched_at"],
        "closed_at": s["closed_at"],
        "closure_reason": s["closure_reason"],
        "term": s["term"],
        "runs": s["runs"],
        "decisions": [
            {**d, "approval_title": a["title"]}
            for a in s["approvals"].values() for d in a["decisions"]
        ],
        "approvals": [
            {k: a[k] for k in ("id", "title", "stage", "policy", "approvers", "round", "opened_at", "deadline_at", "outcome",
                               "document_version", "document_hash")}
            | {"delegations": a["delegations"]}
            for a in s["approvals"].values()
        ],
        "documents": s["mou"]["versions"],
        "tasks": list(s["tasks"].values()),
        "reviews": sorted(s["reviews"].values(), key=lambda r: r["scheduled_for"]),
        "rag_history": s["rag_history"],
        "metrics": [
            {"id": m.id, "name": m.name, "unit": m.unit, "target": m.target, "direction": m.direction.value,
             "owner": m.owner, **({k: v for k, v in s["metrics"].get(m.id, {}).items() if k != "metric_id"})}
            for m in definition.metrics
        ],
        "escalations": s["escalations"],
        "amendments": [{k: v for k, v in a.items() if k != "definition"} for a in s["amendments"]],
        "alignment": s["alignment"],
        "timeline": s["timeline"],
    }


def to_json(export: dict[str, Any]) -> str:
    return json.dumps(export, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
