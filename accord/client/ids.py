"""A partnership's workflow id, from its definition's id and back."""

from __future__ import annotations


def workflow_id_for(partnership_id: str) -> str:
    return f"partnership-{partnership_id}"


def partnership_id_of(workflow_id: str) -> str:
    """The definition id of a partnership workflow id (the inverse of :func:`workflow_id_for`)."""
    return workflow_id.removeprefix("partnership-")
