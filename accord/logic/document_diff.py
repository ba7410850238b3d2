"""What changed between two versions of a Markdown document, summed up for people: which sections
(by their headings), how many lines were added and removed, and the first changed lines.

The signatories of a later MOU round read it in their email and on the decision page, so they
need not compare the versions themselves (``accord mou diff`` gives the whole unified diff).
"""

from __future__ import annotations

import difflib

from accord.models import DocumentChanges

# How many changed lines an email shows, and how much of each.
SAMPLE_LINES = 12
LINE_CHARS = 200
MAX_SECTIONS = 20


def _heading(line: str) -> str | None:
    text = line.strip()
    if text.startswith("#"):
        return text.lstrip("#").strip() or None
    return None


def _sections(lines: list[str]) -> list[str]:
    """The heading each line is under ("" before the first heading)."""
    out, current = [], ""
    for line in lines:
        current = _heading(line) or current
        out.append(current)
    return out


def summarize(old: str, new: str, previous_version: int | None = None) -> DocumentChanges:
    before, after = old.splitlines(), new.splitlines()
    in_before, in_after = _sections(before), _sections(after)
    sections: list[str] = []
    sample: list[str] = []
    added = removed = 0

    def note(section: str, mark: str, line: str) -> None:
        if section and section not in sections:
            sections.append(section)
        if line.strip() and len(sample) < SAMPLE_LINES:
            text = line.strip()
            sample.append(f"{mark} {text if len(text) <= LINE_CHARS else text[:LINE_CHARS - 1] + '…'}")

    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for i in range(i1, i2):
            removed += 1
            note(in_before[i], "-", before[i])
        for j in range(j1, j2):
            added += 1
            note(in_after[j], "+", after[j])
    return DocumentChanges(previous_version=previous_version, sections=sections[:MAX_SECTIONS], added=added,
                           removed=removed, lines=sample)


def describe(changes: DocumentChanges) -> list[str]:
    """The summary as lines for an email: counts, sections, then the sample."""
    if not changes.added and not changes.removed:
        return ["No line changed."]
    out = [f"{changes.added} line(s) added, {changes.removed} removed"
           + (f", in: {'; '.join(changes.sections)}" if changes.sections else "")]
    return out + changes.lines
