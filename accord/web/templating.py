"""The Jinja2 environment for the web pages, with the date filters they share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, pass_context

from accord.logic.time_display import format_instant, reader_zone


@pass_context
def when(context: Any, value: datetime | None) -> str:
    """A time as the emails write it (accord.logic.time_display, the one place), in the page's
    ``reader_zone`` (a signed link's recipient's zone, or the signed-in person's) with the zone
    named, else in UTC."""
    if value is None:
        return "—"
    return format_instant(value, reader_zone(context.get("reader_zone")))


def relative(value: datetime | None, now: datetime | None = None) -> str:
    """'in 3 days' / '2 hours ago': deadlines read faster this way."""
    if value is None:
        return ""
    seconds = (value - (now or datetime.now(UTC))).total_seconds()
    future = seconds >= 0
    seconds = abs(seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            span = f"{n} {unit}{'s' if n != 1 else ''}"
            break
    else:
        return "now"
    return f"in {span}" if future else f"{span} ago"


def label(value: object) -> str:
    """Enum values as words: 'changes_requested' -> 'changes requested'."""
    return str(getattr(value, "value", value)).replace("_", " ")


def templates() -> Jinja2Templates:
    env = Environment(
        loader=PackageLoader("accord.web", "templates"),
        # Every page is HTML and shows text from people and definitions: escape every value,
        # whatever a template's file name (select_autoescape reads only the last extension).
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, relative=relative, label=label)
    return Jinja2Templates(env=env)
