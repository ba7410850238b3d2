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
from accord.documents.store import DocumentStore
from activities.documents import DocumentActivities
from activities.email import EmailActivities, Mailer
from workflows.escalation import ESCALATION_WORKFLOWS
from workflows.partnership import PartnershipWorkflow

WORKFLOWS = [PartnershipWorkflow, *ESCALATION_WORKFLOWS]


def mailer_for(settings: Settings) -> Mailer:
    if settings.mail_backend == "outbox":
        return Outbox(settings.outbox_dir)
    if settings.mail_backend == "sendgrid":
        from accord.mail.sendgrid_backend import SendGridMailer

        api_key = settings.sendgrid_api_key.get_secret_value().strip() if settings.sendgrid_api_key else ""
        if not api_key:
            raise ValueError("ACCORD_MAIL_BACKEND=sendgrid needs ACCORD_SENDGRID_API_KEY (a key with Mail Send access)")
        return SendGridMailer(api_key, host=settings.sendgrid_host, timeout=settings.sendgrid_timeout)
    if settings.mail_backend == "smtp":
        from accord.mail.smtp_backend import SmtpMailer

        return SmtpMailer(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_username,
            settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            settings.smtp_starttls,
            timeout=settings.smtp_timeout,
        )
    raise ValueError(f"unknown mail backend {settings.mail_backend!r}")


def activities_for(settings: Settings, mailer: Mailer | None = None) -> list:
    email = EmailActivities(
        mailer or mailer_for(settings),
        Ledger(settings.ledger_path),
        sender=settings.mail_from,
        base_url=settings.web_base_url,
        keys=settings.keys,
    )
    documents = DocumentActivities(DocumentStore(settings.documents_dir), settings.template_dirs)
    return [email.send_email, documents.render_mou, documents.store_document, documents.archive_partnership]


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
