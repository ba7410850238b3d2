"""The bounds of :mod:`definitions.limits` (rules version 1), checked on a whole definition:
its size, every duration, list, text and the MOU template's name. See definitions/limits.py
for each bound's reason.

Like :mod:`definitions.checks`, this runs inside workflow code: pure and deterministic,
without clocks or the filesystem.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from enum import Enum

from pydantic import BaseModel

from definitions import limits
from definitions.durations import Duration
from definitions.problem import Path, Problem
from definitions.schema import PartnershipDefinition

ZERO = "must be longer than zero"
TOO_MANY = "has too many"
_DRIVE = re.compile(r"^[A-Za-z]:")


def _walk(node: object, path: Path, field: str) -> Iterator[tuple[Path, str, object]]:
    """Every value under ``node`` with its path and the name of the field that holds it (list
    items and dict values are held by their list's or dict's field)."""
    yield path, field, node
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _walk(getattr(node, name), (*path, name), name)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _walk(item, (*path, i), field)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, key), field)


def limit_problems(d: PartnershipDefinition, allow_short: bool) -> Iterator[Problem]:
    size = len(d.model_dump_json().encode())
    if size > limits.MAX_DEFINITION_BYTES:
        yield Problem((), f"the definition is {size:,} bytes as JSON; at most {limits.MAX_DEFINITION_BYTES:,}"
                          " (it travels in every workflow input, and Temporal refuses large payloads)")
    for path, field, value in _walk(d, (), ""):
        if isinstance(value, Duration):
            yield from _duration_problems(path, value, limits.DURATIONS[field], allow_short)
        elif isinstance(value, list) and field in limits.LISTS:
            most = limits.LISTS[field]
            if len(value) > most:
                yield Problem(path, f"{TOO_MANY} entries: {len(value):,}; at most {most}")
        elif isinstance(value, dict) and field == "other":
            most = limits.LISTS[field]
            if len(value) > most:
                yield Problem(path, f"{TOO_MANY} clauses: {len(value):,}; at most {most}")
            for key in value:
                yield from _text_problems((*path, key), key, limits.CLAUSE_TITLE, "its title")
        elif isinstance(value, str) and not isinstance(value, Enum) and field not in limits.REFERENCES:
            yield from _text_problems(path, value, limits.TEXTS[field])
    if d.mou is not None:
        yield from _template_problems(("mou", "template"), d.mou.template)


def _approx_seconds(duration: Duration) -> int:
    """``duration.approx`` in whole seconds, without building a timedelta (which overflows
    for the very durations this is asked about)."""
    months = duration.months
    return (30 * (months % 12) + 365 * (months // 12)) * 86400 + duration.seconds


def _duration_problems(path: Path, value: Duration, limit: limits.DurationLimit, allow_short: bool) -> Iterator[Problem]:
    if value.is_zero:
        yield Problem(path, ZERO)
    elif _approx_seconds(value) > _approx_seconds(limit.longest):
        yield Problem(path, f"is longer than {limit.longest}, the longest {limit.kind} a partnership can have")
    elif limit.shortest is not None and not allow_short and _approx_seconds(value) < _approx_seconds(limit.shortest):
        yield Problem(
            path,
            f"is shorter than {limit.shortest}, the shortest {limit.kind} a partnership can have"
            " (shorter ones are for tests: the deployment's allow_short_durations setting)",
        )


def _text_problems(path: Path, text: str, limit: limits.TextLimit, what: str = "") -> Iterator[Problem]:
    subject = f"{what} " if what else ""
    if len(text) > limit.longest:
        yield Problem(path, f"{subject}is {len(text):,} characters long; at most {limit.longest:,}")
    for i, c in enumerate(text):
        control = unicodedata.category(c) == "Cc"
        if limit.single_line:
            bad = control or c in limits.LINE_BREAKING or c in limits.BIDI_CONTROLS
        else:
            bad = control and c not in limits.MULTI_LINE_ALLOWED_CONTROLS
        if bad:
            kind = ("a line break" if c in "\r\n" or c in limits.LINE_BREAKING
                    else "a bidirectional override" if c in limits.BIDI_CONTROLS else "a control character")
            yield Problem(path, f"{subject}has {kind} (U+{ord(c):04X}) at character {i + 1}"
                          + ("; it must be one line of plain text" if limit.single_line else ""))
            return


def _template_problems(path: Path, name: str) -> Iterator[Problem]:
    """The MOU template is a file name in the template folders, never a path out of them."""
    parts = name.split("/")
    if not name.strip():
        yield Problem(path, "name the MOU template file, e.g. mou.md.j2")
    elif name.startswith("/") or _DRIVE.match(name) or "\\" in name:
        yield Problem(path, "must be a file name relative to the template folders (no absolute path, drive or backslash)")
    elif ".." in parts:
        yield Problem(path, "must not climb out of the template folders ('..')")
