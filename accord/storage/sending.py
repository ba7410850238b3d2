"""Exactly once, as far as the provider allows: the send ledger's protocol around one delivery.

    outcome = await send_once(store, send_key, recipient, holder=..., lease=...,
                              deliver=lambda: mailer.send(message()), accepted=...)

1. Claim the send key (one atomic write). Sent or failed before: answer from the ledger.
   Held by another live attempt (a second worker running the same send): raise
   SendInProgress, a retryable error, and deliver nothing; the retry finds it sent, or
   finds the attempt interrupted and takes it over.
2. Won over an interrupted attempt (``resumed``): its outcome is unknown, so ask the
   provider first when it can tell (``accepted``: SendGrid's Email Activity API) and
   do not deliver again if it has the email.
3. Deliver. Accepted: mark sent. Refused for good (PermanentMailError): mark failed.
   Anything else (a timeout, an outage, a cancellation): release the claim, leaving the
   key ``attempting`` (outcome unknown) for the retry, with what the provider said, and
   re-raise.

This is the old ledger's logic (get, attempting, sent) with its race closed: two workers
that both read "nothing yet" could both send; two claims cannot both win.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from accord.mail.message import PermanentMailError
from accord.storage.interface import SendEntry, Storage

if TYPE_CHECKING:
    from temporalio.activity import Info

# How long a claim holds a send key when the activity has no timeout: the email activity's
# start-to-close timeout (workflows/mailing.py), after which Temporal retries it anyway.
DEFAULT_LEASE = timedelta(minutes=2)


class SendInProgress(Exception):
    """Another attempt holds this send key and its lease has not run out: try again later."""

    def __init__(self, entry: SendEntry):
        until = f" until {entry.lease_until:%H:%M:%S} UTC at the latest" if entry.lease_until else ""
        super().__init__(f"email {entry.send_key} is being sent by another attempt ({entry.holder}){until}")
        self.entry = entry


def holder_of(info: Info) -> str:
    """The claim's holder for one activity attempt: unique to the run, the activity and the
    attempt, and the same if that attempt repeats its claim after losing the answer."""
    return f"{info.workflow_run_id}/{info.activity_id}#{info.attempt}"


def lease_of(info: Info) -> timedelta:
    """How long an attempt may hold a send key: as long as Temporal lets the attempt run."""
    return info.start_to_close_timeout or info.schedule_to_close_timeout or DEFAULT_LEASE


@dataclass(frozen=True)
class Outcome:
    """sent / failed: this call delivered or was refused; already_*: an earlier attempt did."""

    status: Literal["sent", "already_sent", "failed", "already_failed"]
    message_id: str | None = None
    error: str | None = None
    # already_sent because the provider had it from an interrupted attempt (which could not count it).
    recovered: bool = False


async def send_once(
    store: Storage,
    send_key: str,
    recipient: str,
    *,
    holder: str,
    lease: timedelta,
    deliver: Callable[[], Awaitable[str | None]],
    accepted: Callable[[], Awaitable[str | None]] | None = None,
) -> Outcome:
    """Deliver at most once per send key across every worker sharing ``store``.

    ``deliver`` renders and hands the email to the provider, returning its message id (it
    is called only by the claim's winner); ``accepted`` asks the provider for the message id
    of an earlier accepted attempt, if it can tell."""
    claim = await store.claim_send(send_key, recipient, holder=holder, lease=lease)
    entry = claim.entry
    if entry.status == "sent":
        return Outcome("already_sent", message_id=entry.message_id)
    if entry.status == "failed":
        return Outcome("already_failed", error=entry.error)
    if not claim.won:
        raise SendInProgress(entry)
    try:
        if claim.resumed and accepted is not None:
            found = await accepted()
            if found is not None:
                await store.mark_sent(send_key, found)
                return Outcome("already_sent", message_id=found, recovered=True)
        try:
            message_id = await deliver()
        except PermanentMailError as exc:
            await store.mark_failed(send_key, str(exc))
            return Outcome("failed", error=str(exc))
        await store.mark_sent(send_key, message_id)
        return Outcome("sent", message_id=message_id)
    except BaseException as exc:
        # Outcome unknown: the key stays attempting, free for the retry to take over now. What
        # the provider said is kept for ops (a cancellation says nothing about the provider).
        said = (str(exc) or type(exc).__name__) if isinstance(exc, Exception) else None
        with contextlib.suppress(Exception):
            await store.release_send(send_key, holder, said)
        raise
