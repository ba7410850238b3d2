"""A resolution's proposed amendment: the full amended definition, checked before it is sent.

An escalation resolved by changing how the partnership works proposes the whole amended
definition (YAML), so the change can be diffed, validated and approved like the original.
It is checked here with the same loader as `accord validate` (every problem, with its line
and field path) and must keep the partnership's id: an amendment changes a partnership,
it does not start another. Applying it (through approval) is the partnership workflow's job.
"""

from __future__ import annotations

from accord.logic.limits import MAX_AMENDMENT
from definitions.loader import DefinitionError, Issue, parse

# The escalation workflow refuses longer amendments (the rule book's limit).
MAX_CHARS = MAX_AMENDMENT
FILE = "amendment"


def problems(text: str, partnership_id: str | None = None, *, file: str = FILE) -> list[Issue]:
    """Every problem with an amended definition; empty when it can be proposed."""
    if len(text) > MAX_CHARS:
        return [Issue(file, 1, "(file)", f"the amendment is longer than {MAX_CHARS:,} characters")]
    try:
        definition = parse(text, file)
    except DefinitionError as exc:
        return list(exc.issues)
    if partnership_id is not None and definition.id != partnership_id:
        line = next((n for n, row in enumerate(text.splitlines(), 1) if row.startswith("id:")), 1)
        return [Issue(file, line, "id", f"an amendment keeps the partnership's id {partnership_id!r} "
                      f"(this text has {definition.id!r})")]
    return []
