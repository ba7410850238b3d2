"""The MOU as text: rendered from a Jinja2 template and the definition, shown as HTML, compared as a diff."""

from __future__ import annotations

import difflib
import re
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound
from markdown_it import MarkdownIt

from definitions import TEMPLATES
from definitions.schema import PartnershipDefinition

_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")


# Every value a template prints comes from the definition (names, titles, clauses, the note),
# and is literal text, not Markdown: "[Sign here](https://...)" in a party's name must not
# become a link in the signed document, nor "|" break the table of people. So each value is
# escaped for CommonMark as it is printed (Jinja's ``finalize``), in the default template and
# in any a partnership brings; the template's own Markdown stays Markdown. Backslash escapes
# are invisible in the HTML, and only characters that can start markup are escaped, so the
# Markdown source (what is stored, hashed and diffed) stays readable. Raw HTML needs no
# escaping here: ``to_html`` never passes it through (markdown-it with ``html=False``).
_INLINE = re.compile(r"[\\`*_\[\]<>|~]|&(?=#?\w+;)")
_INDENT = re.compile(r"^[ \t]+", re.MULTILINE)
_BLOCK_MARKER = re.compile(r"^(?:[#+=-]|\d{1,9}(?=[.)]))", re.MULTILINE)


def markdown_literal(value: object) -> str:
    """``value`` as CommonMark text that renders as exactly these characters (whitespace aside,
    which HTML collapses anyway)."""
    if value is None:
        return ""
    text = _INLINE.sub(lambda m: "\\" + m.group(0), str(value))
    # Indentation at a line's start would make a code block, and a heading, list or setext
    # marker counts only there.
    text = _INDENT.sub("", text)
    return _BLOCK_MARKER.sub(lambda m: m.group(0) + "\\" if m.group(0).isdigit() else "\\" + m.group(0), text)


class TemplateMissing(Exception):
    """The definition names an MOU template that is in none of the template folders."""


def template_folders(template_dirs: list[Path] | None = None) -> list[Path]:
    """Where an MOU template is looked for, in order: the configured folders (a partnership
    can replace the default), then the built-in one. `accord validate` checks the same."""
    return [*(template_dirs or []), TEMPLATES]


def render_markdown(
    definition: PartnershipDefinition, version: int, generated_on: datetime, note: str = "",
    template_dirs: list[Path] | None = None,
) -> str:
    """Render the MOU from its template (see :func:`template_folders`)."""
    assert definition.mou is not None
    env = Environment(
        loader=FileSystemLoader(template_folders(template_dirs)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=markdown_literal,
    )
    try:
        template = env.get_template(definition.mou.template)
    except TemplateNotFound:
        searched = ", ".join(str(p) for p in template_folders(template_dirs))
        raise TemplateMissing(f"MOU template {definition.mou.template!r} not found in {searched}") from None
    text = template.render(
        d=definition, c=definition.mou.clauses, people=definition.stakeholders(),
        version=version, generated_on=f"{generated_on:%d %B %Y}", note=note,
    )
    # Collapse the blank lines template logic leaves behind: diffs should show content, not layout.
    lines: list[str] = []
    for line in text.splitlines():
        if line.strip() or (lines and lines[-1].strip()):
            lines.append(line.rstrip())
    return "\n".join(lines).strip() + "\n"


def to_html(markdown: str) -> str:
    """HTML for people; raw HTML in the source is escaped, never passed through."""
    return _markdown.render(markdown)


def diff(old: str, new: str, old_label: str, new_label: str) -> str:
    return "".join(
        difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True), old_label, new_label)
    )
