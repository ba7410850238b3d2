"""Email bodies from Jinja2 templates: an HTML part and a plain-text part for each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

_env = Environment(
    loader=PackageLoader("accord.mail", "templates"),
    autoescape=select_autoescape(["html"], default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(value: Any) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.strftime("%A %d %B %Y, %H:%M UTC")
    return str(value)


_env.filters["when"] = _when


def render(template: str, context: dict[str, Any], link: str | None) -> tuple[str, str]:
    """Return (html, text) for ``template`` with ``context`` and the action ``link``."""
    data = {"heading": "", "ask": "", "body": "", "due_at": None, "consequence": "", "overdue": False,
            "action_label": "Open", "statements": [], "approvers": [], **context, "link": link}
    html = _env.get_template(f"{template}.html.j2").render(data)
    text = _env.get_template(f"{template}.txt.j2").render(data)
    return html, text
