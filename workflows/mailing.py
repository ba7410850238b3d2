"""Sending email from workflow code: one place for the activity call and its failure rules.

Used by every workflow. A provider outage is retried without limit (it delays an email,
never drops it); a permanent refusal comes back as a failed receipt for the caller to
record and report, never as an exception that would fail the workflow.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, CancelledError

with workflow.unsafe.imports_passed_through():
    from accord.models import ActionLink, EmailReceipt, EmailRequest, Recipient

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
) -> EmailReceipt:
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
    )
    try:
        return await workflow.execute_activity(
            "send_email",
            request,
            result_type=EmailReceipt,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=EMAIL_RETRY,
            summary=f"email {to.id}: {subject[:60]}",
        )
    except ActivityError as exc:
        if isinstance(exc.cause, CancelledError):
            raise
        return EmailReceipt(send_key=request.send_key, status="failed", error=str(exc.cause or exc))
