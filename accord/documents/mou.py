"""The MOU as text: rendered from a Jinja2 template and the definition, shown as HTML, compared as a diff."""

from __future__ import annotations

import difflib
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound
from markdown_it import MarkdownIt

from definitions import TEMPLATES
from definitions.schema import PartnershipDefinition

_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")


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
