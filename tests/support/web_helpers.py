"""Helpers for the web tests: waiting on a condition, reading the outbox, parsing forms."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx

from accord import tokens
from accord.client import Accord
from accord.config import Settings
from accord.mail import outbox
from accord.models import ActionLink, PartnershipState
from accord.web import csrf
from definitions.schema import PartnershipDefinition
from tests.support.helpers import eventually, unique
from tests.support.paths import DATA

_LINK = re.compile(r"""https?://[^\s"'<>]+/a/[A-Za-z0-9_.\-]+""")
_HREF = re.compile(r"""href="([^"]+)\"""")
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_DOCUMENT_HASH = re.compile(r'name="document_hash" value="([0-9a-f]{64})"')


@dataclass
class Live:
    """A running partnership, its client and settings, and HTTP clients on the app: ``http`` as
    a stakeholder (no account: action links only), ``ops`` signed in as the local operator."""

    accord: Accord
    wf: str
    settings: Settings
    http: httpx.AsyncClient
    ops: httpx.AsyncClient | None = None

    async def state(self) -> PartnershipState:
        return await self.accord.state(self.wf)

    def token_for(self, recipient: str, action: str, ref: str, *, workflow_id: str | None = None,
                  expires_at: datetime | None = None, round: int = 1) -> str:
        link = ActionLink(action=action, ref=ref, round=round,
                          expires_at=expires_at or datetime.now(UTC) + timedelta(days=3))
        return tokens.mint(workflow_id or self.wf, recipient, link, self.settings.keys)

    def csrf_for(self, token: str) -> dict[str, str]:
        """A correct CSRF field for ``token`` with this client's cookie (the page may refuse to show one)."""
        nonce = self.http.cookies.get(csrf.COOKIE)
        assert nonce, "GET an action page first: it sets the CSRF cookie"
        return {csrf.FIELD: csrf.field(self.settings.keys, nonce, token)}


def token_of(path: str) -> str:
    return path.removeprefix("/a/")


async def until(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll ``condition`` (sync or async) until it returns something truthy; return that."""

    async def check() -> Any:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        assert value, "condition not met yet"
        return value

    return await eventually(check, timeout)


async def idle(accord: Accord, workflow_id: str) -> bool:
    """No activity running and no workflow task pending: the workflow has taken in every result.

    Needed before acting on an approval right after its request emails appear in the outbox:
    the outbox file is written before the workflow has seen the email activity complete.
    """
    raw = (await accord.handle(workflow_id).describe()).raw_description
    return not raw.pending_activities and not raw.HasField("pending_workflow_task")


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


def document_hash(html: str) -> str:
    """The document hash a decision form carries (it must match the version up for decision)."""
    match = _DOCUMENT_HASH.search(html)
    assert match, "no document hash in the form"
    return match.group(1)


def snapshot(state: PartnershipState) -> dict:
    """Everything the workflow knows: equal before and after means nothing changed."""
    return state.model_dump(mode="json")
