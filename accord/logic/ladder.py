"""When an open escalation climbs the ladder, and to where.

An escalation sits at one level of the definition's ladder; that level's contacts have
``respond_within`` to acknowledge (or resolve) it. If nobody does, it climbs to the next
level, and past the last level it is handed to ops and stays open. Acknowledging stops
the climb: somebody owns the problem now, and chasing them up the ladder would punish
the person who answered.

:func:`next_climb` answers "what happens next, and when" from the current position
only, so the workflow recomputes it on every pass of its loop (after a continue-as-new,
after an acknowledgement) instead of keeping timers of its own. Levels are 1-based, as
in the definition's triggers; ``None`` stands for "past the last level" (ops).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from accord.models import shown_level
from definitions.durations import Duration
from definitions.schema import EscalationLevel


@dataclass(frozen=True)
class Climb:
    """The escalation leaves ``level`` at ``at`` for ``to_level`` (None: past the last level, ops)."""

    at: datetime
    level: int
    to_level: int | None
    window: Duration

    @property
    def cause(self) -> str:
        # Kept short and uniform: it is the "why" of the recorded level change.
        return f"no response within {self.window}"


def check_level(ladder: Sequence[EscalationLevel], level: int) -> EscalationLevel:
    """The ladder entry for a 1-based level; ValueError outside the ladder."""
    if not 1 <= level <= len(ladder):
        raise ValueError(f"level {level} is outside the ladder (1 to {len(ladder)})")
    return ladder[level - 1]


def next_climb(
    ladder: Sequence[EscalationLevel], level: int | None, reached_at: datetime, acknowledged: bool
) -> Climb | None:
    """When the escalation climbs from ``level`` (reached at ``reached_at``), and to which level.

    None when it will not climb again: it was acknowledged, or it is already past the
    last level (``level`` None).
    """
    if acknowledged or level is None:
        return None
    current = check_level(ladder, level)
    to_level = level + 1 if level < len(ladder) else None
    return Climb(at=current.respond_within.after(reached_at), level=level, to_level=to_level, window=current.respond_within)


def schedule(ladder: Sequence[EscalationLevel], level: int | None, reached_at: datetime) -> list[Climb]:
    """Every climb still ahead if nobody responds, in time order (the last one hands it to ops).

    Each level's window counts from when that level is reached, i.e. from the previous
    climb: a 2d, 5d, 1w ladder climbs 2d, 7d and 14d after the escalation opened.
    """
    climbs: list[Climb] = []
    at = reached_at
    while (climb := next_climb(ladder, level, at, acknowledged=False)) is not None:
        climbs.append(climb)
        level, at = climb.to_level, climb.at
    return climbs


def position(ladder: Sequence[EscalationLevel], level: int, with_ops: bool) -> str:
    """Where an escalation is, in words, with the one number it is shown as everywhere
    (:func:`accord.models.shown_level`; the search attribute ``AccordEscalationLevel``):
    ``"level 2 of 3: Sponsors"``, and past the last level ``"level 4: ops (past the 3-level ladder)"``."""
    if with_ops:
        return f"level {shown_level(level, True)}: ops (past the {len(ladder)}-level ladder)"
    name = ladder[level - 1].name if 1 <= level <= len(ladder) else "?"
    return f"level {level} of {len(ladder)}: {name}"
