"""Sending email from workflow code: one place for the activity call and its failure rules.

Used by every workflow. A provider outage is retried without limit (it delays an email,
never drops it); a permanent refusal comes back as a failed receipt for the caller to
record and report, never as an exception that would fail the workflow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, CancelledError

from workflows.toolkit.activities import send_email

with workflow.unsafe.imports_passed_through():
    from accord.logic.describe import when
    from accord.logic.limits import MAX_EMAIL_ERROR, MAX_SEND_KEY
    from accord.models import (
        ActionLink,
        EmailDelay,
        EmailReceipt,
        EmailRequest,
        Invitation,
        Recipient,
    )


EMAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=30),
    non_retryable_error_types=["InvalidEmailRequest"],
)


def send_key(chain_id: str, purpose: str, recipient: str) -> str:
    """``<workflow id>/<chain id>/<purpose>/<recipient id>``: the chain id keeps keys unique per
    run chain and stable across continue-as-new; the last segment is the recipient (bounce
    and delay handling rely on it)."""
    return f"{workflow.info().workflow_id}/{chain_id}/{purpose}/{recipient}"


def purpose_of(key: str) -> str:
    """The purpose segment of a send key (it may itself contain '/')."""
    return key.split("/", 2)[-1].rsplit("/", 1)[0]


async def send(
    *,
    chain_id: str,
    purpose: str,
    to: Recipient,
    template: str,
    subject: str,
    context: dict[str, Any],
    partnership: str,
    action: ActionLink | None = None,
    invitation: Invitation | None = None,
    track: Callable[[asyncio.Future], None] | None = None,
    started: Callable[[str, asyncio.Future], None] | None = None,
) -> EmailReceipt:
    """Send one email. With ``track``, the activity is shielded from the caller's cancellation
    and handed to ``track``: a workflow about to continue as new waits for it to finish, so
    an email is never cut off half-way and sent again by the next run. ``started`` is told
    the send key and the activity as soon as it is scheduled (emails in flight: see
    ``email_delayed`` in the workflows)."""
    workflow_id = workflow.info().workflow_id
    request = EmailRequest(
        send_key=send_key(chain_id, purpose, to.id),
        workflow_id=workflow_id,
        template=template,
        to=to,
        subject=subject,
        context={"partnership": partnership, "recipient_name": to.name, **context},
        action=action,
        invitation=invitation,
    )
    options: dict[str, Any] = {
        "start_to_close_timeout": timedelta(minutes=2),
        "retry_policy": EMAIL_RETRY,
        "summary": f"email {to.id}: {subject[:60]}",
    }
    try:
        # execute_activity is start_activity and await: the same command either way.
        handle = workflow.start_activity(send_email, request, **options)
        if started is not None:
            started(request.send_key, handle)
        if track is None:
            return await handle
        track(handle)
        return await asyncio.shield(handle)
    except ActivityError as exc:
        if isinstance(exc.cause, CancelledError):
            raise
        return EmailReceipt(send_key=request.send_key, status="failed", error=str(exc.cause or exc))


def how_it_ended(done: asyncio.Future) -> str:
    """In a word, how a finished email activity ended."""
    if done.cancelled():
        return "cancelled"
    if done.exception() is not None:
        return "given up"
    return "refused" if done.result().status == "failed" else "sent"


def delay_notice(delay: EmailDelay, who: str, partnership: str) -> tuple[str, dict[str, Any]]:
    """The subject and context of ops' notice that an email to ``who`` is delayed."""
    return (
        f"Email to {who} delayed: {partnership}",
        {
            "heading": "An email has not gone out",
            "body": f"The email to {who} ({purpose_of(delay.send_key)}) has not gone out since "
            f"{when(delay.since)}: the mail provider keeps failing (last: {delay.error or 'no answer'}; "
            f"{delay.attempts} attempts so far). Accord keeps trying without end. Other emails delayed meanwhile "
            f"are listed in the status of workflow {workflow.info().workflow_id}.",
            "consequence": f"{who} does not get it until the mail provider accepts it.",
        },
    )


def valid_delay(delay: object, chain_id: str) -> EmailDelay | None:
    """The signal's payload if it names an email of this workflow's chain (bounded), else None."""
    if not isinstance(delay, EmailDelay) or len(delay.send_key) > MAX_SEND_KEY:
        return None
    if not delay.send_key.startswith(f"{workflow.info().workflow_id}/{chain_id}/"):
        return None
    return delay.model_copy(update={"error": delay.error[:MAX_EMAIL_ERROR], "recipient": delay.send_key.rsplit("/", 1)[-1]})
