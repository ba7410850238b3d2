"""The README's trace of one deadline points at the lines it names.

"How it is built" follows a checklist task's reminders from the definition field to the timer
with ``file:line`` references. Code moves; a reference left behind sends a newcomer to the
wrong line. Each reference must land on a line holding the name written just before it.
"""

from __future__ import annotations

import re

from tests.support.paths import ROOT

REFERENCE = re.compile(r"`([\w/]+\.py):(\d+)`")
NAME = re.compile(r"`([A-Za-z_][\w.]*)[^`]*`")


def trace() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("**One deadline, from the definition to its timer**")
    return readme[start:readme.index("\n\n", start)]


def named_before(text: str, at: int) -> str:
    """The last segment of the last code name written before position ``at`` (not a reference)."""
    names = [m.group(1) for m in NAME.finditer(text, 0, at) if not REFERENCE.fullmatch(m.group(0))]
    return names[-1].rsplit(".", 1)[-1]


def test_every_reference_in_the_deadline_trace_lands_on_the_line_it_names():
    text = trace()
    references = list(REFERENCE.finditer(text))
    assert len(references) >= 5, "the trace names its lines"
    assert len({m.group(1) for m in references}) <= 4, "the trace spans at most three files besides the definition"
    wrong = []
    for m in references:
        path, line = m.group(1), int(m.group(2))
        lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
        name = named_before(text, m.start())
        if not (0 < line <= len(lines)) or name not in lines[line - 1]:
            found = [n for n, text_line in enumerate(lines, 1) if name in text_line]
            wrong.append(f"{path}:{line} does not hold {name!r} (it is on line(s) {found[:5]})")
    assert not wrong, "\n".join(wrong)
