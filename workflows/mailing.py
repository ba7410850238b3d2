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

with workflow.unsafe.imports_passed_through():
    from accord.models import ActionLink, EmailReceipt, EmailRequest, Invitation, Recipient

EMAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=30),
    non_retryable_error_types=["InvalidEmailRequest"],
)


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
) -> EmailReceipt:
    """Send one email. With ``track``, the activity is shielded from the caller's cancellation
    and handed to ``track``: a workflow about to continue as new waits for it to finish, so
    an email is never cut off half-way and sent again by the next run."""
    workflow_id = workflow.info().workflow_id
    request = EmailRequest(
        # The chain id keeps keys unique per run chain and stable across continue-as-new;
        # the last segment is the recipient (bounce handling relies on it).
        send_key=f"{workflow_id}/{chain_id}/{purpose}/{to.id}",
        workflow_id=workflow_id,
        template=template,
        to=to,
        subject=subject,
        context={"partnership": partnership, "recipient_name": to.name, **context},
        action=action,
        invitation=invitation,
    )
    options: dict[str, Any] = dict(
        result_type=EmailReceipt,
        start_to_close_timeout=timedelta(minutes=2),
        retry_policy=EMAIL_RETRY,
        summary=f"email {to.id}: {subject[:60]}",
    )
    try:
        if track is None:
            return await workflow.execute_activity("send_email", request, **options)
        handle = workflow.start_activity("send_email", request, **options)
        track(handle)
        return await asyncio.shield(handle)
    except ActivityError as exc:
        if isinstance(exc.cause, CancelledError):
            raise
        return EmailReceipt(send_key=request.send_key, status="failed", error=str(exc.cause or exc))
