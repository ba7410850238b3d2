"""A one-activity workflow for the mail tests, and a worker process that runs only activities.

The workflow calls the real ``send_email`` activity with the partnership workflow's kind
of retry policy (unlimited attempts), with timings the test chooses.

    python -m tests.support.mail_workflows      # a worker for ACCORD_TASK_QUEUE, activities only
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from accord.models import EmailReceipt, EmailRequest, Payload


class SendJob(Payload):
    request: EmailRequest
    start_to_close_seconds: float = 120
    initial_interval_seconds: float = 5


@workflow.defn(name="MailTestSendOnce")
class SendOnce:
    @workflow.run
    async def run(self, job: SendJob) -> EmailReceipt:
        return await workflow.execute_activity(
            "send_email",
            job.request,
            result_type=EmailReceipt,
            start_to_close_timeout=timedelta(seconds=job.start_to_close_seconds),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(seconds=job.initial_interval_seconds),
                backoff_coefficient=2.0,
                maximum_interval=timedelta(minutes=30),
                non_retryable_error_types=["InvalidEmailRequest"],
            ),
        )


async def _serve_activities() -> None:
    import asyncio

    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.worker import Worker

    import worker as accord_worker
    from accord.config import Settings

    settings = Settings()
    client = await Client.connect(
        settings.temporal_address, namespace=settings.temporal_namespace, data_converter=pydantic_data_converter
    )
    async with Worker(client, task_queue=settings.task_queue, activities=accord_worker.activities_for(settings)):
        print("worker ready", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    import asyncio

    asyncio.run(_serve_activities())
