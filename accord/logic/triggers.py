"""When coordination decay becomes an escalation: the thresholds of the definition's triggers and
the "in a row" counting.

A trigger's ``count`` says how many in a row it takes; a definition that enables a counting
trigger without one gets the defaults below (the schema's own defaults are the same).
Which status reports trigger (a red, a run of ambers) is :func:`accord.logic.decay.status_trigger`.
"""

from __future__ import annotations

from collections.abc import Iterable

from accord.models import Review
from definitions.schema import Trigger, Triggers

AMBER_RUN = 2  # ambers in a row that escalate, unless the definition says
MISSED_RUN = 3  # weekly statuses missed in a row by a party, or reviews skipped in a row, that escalate


def amber_run(triggers: Triggers) -> int:
    """How many ambers in a row make ``repeated_amber``."""
    return triggers.repeated_amber.count or AMBER_RUN


def missed_run(trigger: Trigger) -> int:
    """How many missed in a row make ``missed_updates``."""
    return trigger.count or MISSED_RUN


def missed_in_a_row(before: int, silent: bool) -> int:
    """A party's weekly statuses missed in a row, after one more week (``silent``: it sent nothing)."""
    return before + 1 if silent else 0


def skipped_in_a_row(closed: Iterable[Review]) -> int:
    """How many of the latest closed reviews (of one kind) had no input at all, in a row."""
    count = 0
    for review in sorted(closed, key=lambda r: r.n, reverse=True):
        if review.inputs:
            break
        count += 1
    return count


def escalates(trigger: Trigger, in_a_row: int) -> bool:
    """A counting trigger (``missed_updates``) fires: enabled, and ``in_a_row`` reached its count."""
    return trigger.enabled and in_a_row >= missed_run(trigger)
