"""Email bodies from Jinja2 templates: an HTML part and a plain-text part for each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context
from jinja2.runtime import Context

from accord.logic.time_display import format_instant
from accord.logic.zones import problem as zone_problem

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


@pass_context
def _when(context: Context, value: Any) -> str:
    """A time in the reader's zone, the zone named ("Monday 2 March 2026, 10:00 GMT (Europe/London)");
    for a reader without one, in UTC as always."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return str(value)
    zone = context.get("reader_zone")
    if isinstance(zone, str) and zone_problem(zone) is None:
        return format_instant(value, zone)
    return format_instant(value)


_env.filters["when"] = _when


def render(template: str, context: dict[str, Any], link: str | None, zone: str | None = None) -> tuple[str, str]:
    """Return (html, text) for ``template`` with ``context`` and the action ``link``; times are
    shown in ``zone`` (the reader's, an IANA name), else in UTC."""
    data = {"heading": "", "ask": "", "body": "", "due_at": None, "consequence": "", "overdue": False,
            "action_label": "Open", "statements": [], "approvers": [], "sections": [], "reference": "", "meeting_at": None,
            **context, "link": link, "reader_zone": zone}
    html = _env.get_template(f"{template}.html.j2").render(data)
    text = _env.get_template(f"{template}.txt.j2").render(data)
    return html, text
