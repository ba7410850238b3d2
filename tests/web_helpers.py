"""Helpers for the web tests: waiting on a condition, reading the outbox, parsing forms."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import httpx

from accord.config import Settings
from accord.mail import outbox
from accord.models import PartnershipState
from definitions.schema import PartnershipDefinition
from tests.conftest import DATA
from tests.helpers import eventually, unique

_LINK = re.compile(r"""https?://[^\s"'<>]+/a/[A-Za-z0-9_.\-]+""")
_HREF = re.compile(r"""href="([^"]+)\"""")
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def until(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll ``condition`` (sync or async) until it returns something truthy; return that."""

    async def check() -> Any:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        assert value, "condition not met yet"
        return value

    return await eventually(check, timeout)


def screening_definition() -> PartnershipDefinition:
    """tests/data/screening.yaml under a fresh id: tests share one dev server."""
    return unique(DATA / "screening.yaml")


def mails(settings: Settings) -> list[EmailMessage]:
    return [mail for _, mail in outbox.messages(settings.outbox_dir)]


def mail_for(settings: Settings, to: str, subject_part: str) -> EmailMessage | None:
    return next((m for m in mails(settings) if to in str(m["To"]) and subject_part in str(m["Subject"])), None)


def action_link(mail: EmailMessage) -> str:
    """The action link in an email's HTML part, as a path (the app is mounted at the base URL)."""
    match = _LINK.search(outbox.body(mail, "html"))
    assert match, f"no action link in {mail['Subject']!r}"
    return httpx.URL(match.group(0)).path


def all_links(mail: EmailMessage) -> set[str]:
    html, text = outbox.body(mail, "html"), outbox.body(mail, "plain")
    return {*_HREF.findall(html), *_LINK.findall(html), *_LINK.findall(text)}


def csrf_value(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF field in the form"
    return match.group(1)


def snapshot(state: PartnershipState) -> dict:
    """Everything the workflow knows: equal before and after means nothing changed."""
    return state.model_dump(mode="json")
