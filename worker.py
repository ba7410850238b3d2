"""The Accord worker: runs the partnership workflows and their activities.

    python worker.py          # or: accord worker

Configuration comes from ACCORD_* environment variables (see accord/config.py).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from accord.client import connect
from accord.config import Settings
from accord.mail.ledger import Ledger
from accord.mail.outbox import Outbox
from activities.email import EmailActivities, Mailer
from workflows.partnership import PartnershipWorkflow

WORKFLOWS = [PartnershipWorkflow]


def mailer_for(settings: Settings) -> Mailer:
    if settings.mail_backend == "outbox":
        return Outbox(settings.outbox_dir)
    raise ValueError(f"mail backend {settings.mail_backend!r} is not available in this version")


def activities_for(settings: Settings, mailer: Mailer | None = None) -> list:
    email = EmailActivities(
        mailer or mailer_for(settings),
        Ledger(settings.data_dir / "ledger.sqlite"),
        sender=settings.mail_from,
        base_url=settings.web_base_url,
        keys=settings.keys,
    )
    return [email.send_email]


def build_worker(client: Client, settings: Settings, *, mailer: Mailer | None = None, task_queue: str | None = None) -> Worker:
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=WORKFLOWS,
        activities=activities_for(settings, mailer),
        # On shutdown, running activities get this long to finish before they are cancelled.
        graceful_shutdown_timeout=timedelta(seconds=30),
    )


async def run(settings: Settings | None = None) -> None:
    settings = settings or Settings()
    client = await connect(settings)
    async with build_worker(client, settings):
        logging.getLogger("accord").info("worker polling %s on %s", settings.task_queue, settings.temporal_address)
        await asyncio.Event().wait()


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")


def main() -> None:
    configure_logging()
    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
