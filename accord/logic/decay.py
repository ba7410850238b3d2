"""Coordination decay: red/amber/green status reports and missed weekly updates.

Each party reports a RAG status every week. A red, a run of ambers, or a run of missed
reports is a sign the partnership is drifting; the escalation triggers (``red_status``,
``repeated_amber``, ``missed_updates``) say when that becomes an escalation.
"""

from __future__ import annotations

from collections.abc import Iterable

from accord.models import Rag, TriggerKind

GREEN, AMBER, RED = Rag.green, Rag.amber, Rag.red
RAG = (GREEN, AMBER, RED)  # best to worst


def _check(statuses: Iterable[str]) -> None:
    for status in statuses:
        if status not in RAG:
            raise ValueError(f"a status is green, amber or red, not {status!r}")


def status_trigger(history: list[str], amber_count: int) -> TriggerKind | None:
    """``"red_status"`` when the latest report is red, ``"repeated_amber"`` when the last
    ``amber_count`` are all amber, else None. ``history`` is oldest first.

    It stays true while the ambers go on: not raising a second escalation while one is
    open is the caller's job.
    """
    _check(history)
    if amber_count < 1:
        raise ValueError(f"amber_count must be at least 1, not {amber_count}")
    if history and history[-1] == RED:
        return TriggerKind.red_status
    if len(history) >= amber_count and all(s == AMBER for s in history[-amber_count:]):
        return TriggerKind.repeated_amber
    return None


def missed_in_a_row(expected: list[int], received: set[int]) -> int:
    """How many of the latest status rounds a party was asked for went unanswered, in a row.

    ``expected``: the round numbers it was asked for; ``received``: those it answered.
    """
    count = 0
    for round_number in sorted(set(expected), reverse=True):
        if round_number in received:
            break
        count += 1
    return count


def overall(statuses: dict[str, str]) -> str:
    """The partnership's status from each party's: the worst wins. ValueError when empty
    (no report is not "green")."""
    _check(statuses.values())
    if not statuses:
        raise ValueError("no status reported yet")
    return max(statuses.values(), key=RAG.index)
