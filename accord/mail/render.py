"""Email bodies from Jinja2 templates: an HTML part and a plain-text part for each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from accord.logic.time_display import format_instant

# Every value in an email comes from a person or a definition: a goal statement, a decline
# reason, a bounce message, a party's name. The HTML part escapes all of them; the plain-text
# part carries them as typed (entities there would show as "&amp;").
PLAIN_TEXT = ".txt.j2"


def _escape(template_name: str | None) -> bool:
    """Escape every template but the plain-text parts. Jinja's ``select_autoescape(["html"])``
    looks only at the last extension, so it never matched ``*.html.j2``: decide by the full
    suffix, and escape anything not known to be plain text."""
    return not (template_name or "").endswith(PLAIN_TEXT)


_env = Environment(
    loader=PackageLoader("accord.mail", "templates"),
    autoescape=_escape,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(value: Any) -> str:
    """Dates and times in emails, written by the one function that writes them for people."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return format_instant(value)
    return str(value)


_env.filters["when"] = _when


def render(template: str, context: dict[str, Any], link: str | None) -> tuple[str, str]:
    """Return (html, text) for ``template`` with ``context`` and the action ``link``."""
    data = {"heading": "", "ask": "", "body": "", "due_at": None, "consequence": "", "overdue": False,
            "action_label": "Open", "statements": [], "approvers": [], "sections": [], "reference": "", **context,
            "link": link}
    html = _env.get_template(f"{template}.html.j2").render(data)
    text = _env.get_template(f"{template}.txt.j2").render(data)
    return html, text
