"""The Accord worker: runs the partnership workflows and their activities.

    python worker.py          # or: accord worker

Configuration comes from ACCORD_* environment variables and the ACCORD_CONFIG file (see
accord/config.py). Run as many as the load needs, on one task queue: Temporal shares the
work among them. On SIGTERM (or Ctrl-C) a worker stops polling, gives running activities
``worker_shutdown_grace`` seconds to finish, then exits 0; what it had not started is
picked up by the others, or by the next worker to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import (
    SandboxedWorkflowRunner,
    SandboxRestrictions,
)

from accord import signing_keys
from accord.client import connect
from accord.codec import codec_for
from accord.config import ConfigError, Settings
from accord.mail.outbox import Outbox
from accord.storage import SharedStorage, Storage, StorageUnavailable, describe_storage
from activities.documents import DocumentActivities
from activities.email import EmailActivities, Mailer
from activities.watchdog import find_stuck_partnerships
from workflows.escalation import ESCALATION_WORKFLOWS
from workflows.partnership import PartnershipWorkflow
from workflows.watchdog import WatchdogWorkflow, watchdog_id

WORKFLOWS = [PartnershipWorkflow, *ESCALATION_WORKFLOWS, WatchdogWorkflow]


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


def activities_for(settings: Settings, mailer: Mailer | None = None, store: Storage | None = None) -> list:
    """The activities, sharing one store (the configured one, opened on first use, if none is given)."""
    store = store or SharedStorage(settings)
    email = EmailActivities(
        mailer or mailer_for(settings),
        store,
        sender=settings.mail_from,
        base_url=settings.web_base_url,
        keys=settings.keys,
        alert_after=timedelta(seconds=settings.mail_alert_after),
    )
    documents = DocumentActivities(store, settings.template_dirs)
    return [email.send_email, documents.render_mou, documents.store_document, documents.archive_partnership,
            find_stuck_partnerships]


async def ensure_watchdog(client: Client, settings: Settings, task_queue: str | None = None) -> str:
    """Start the task queue's watchdog unless it runs already (idempotent: one per task queue,
    however many workers call this). Returns its workflow id."""
    from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

    from accord.ops.stuck import WatchdogInput

    queue = task_queue or settings.task_queue
    await client.start_workflow(
        WatchdogWorkflow.run,
        WatchdogInput(task_queue=queue, interval_seconds=settings.watchdog_interval,
                      stuck_activity_after_seconds=settings.stuck_activity_after,
                      task_attempts=settings.stuck_task_attempts, ops_emails=settings.ops_emails),
        id=watchdog_id(queue), task_queue=queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING, id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        static_summary="Accord watchdog: tells ops of stuck partnerships",
    )
    return watchdog_id(queue)


# The workflow modules are imported once and shared by every run, instead of once per run in
# its own sandbox: a cached partnership then holds about a quarter of the memory and a new
# run costs a third of the CPU (bench/RESULTS.md). Safe because they keep no mutable module
# state (tests/workflows/test_workflow_modules.py checks it). The sandbox's checks on what workflow
# code may call still run on every history in CI: the replayer there keeps the full sandbox.
WORKFLOW_RUNNER = SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows"))


class _Worker(Worker):
    """A worker that closes the store it made for itself (if it made one) once it has stopped."""

    def __init__(self, *args, own_store: SharedStorage | None, **kwargs):
        super().__init__(*args, **kwargs)
        self._own_store = own_store

    async def run(self) -> None:
        try:
            await super().run()
        finally:
            if self._own_store is not None:
                await self._own_store.close()


def build_worker(client: Client, settings: Settings, *, mailer: Mailer | None = None, task_queue: str | None = None,
                 store: Storage | None = None) -> Worker:
    """The worker, with ``store`` for Accord's state (the caller's to close); without one, the
    configured storage, opened on first use and closed when the worker stops."""
    # The worker writes with its client's data converter: with codec_keys set, a client made
    # without the codec would put personal data into histories in clear. Refuse it.
    if codec_for(settings) is not None and client.data_converter.payload_codec is None:
        raise ConfigError("codec_keys are set but this worker's Temporal client does not encrypt: "
                          "connect with accord.client.connect(settings)")
    own_store = SharedStorage(settings) if store is None else None
    return _Worker(
        client,
        own_store=own_store,
        task_queue=task_queue or settings.task_queue,
        workflows=WORKFLOWS,
        workflow_runner=WORKFLOW_RUNNER,
        activities=activities_for(settings, mailer, store or own_store),
        # On shutdown, running activities get this long to finish before they are cancelled.
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_shutdown_grace),
        identity=settings.worker_identity,  # None: the client's (pid@host)
    )


async def run(settings: Settings | None = None, stop: asyncio.Event | None = None) -> None:
    """Run one worker until SIGTERM/SIGINT (or ``stop`` is set), then shut down gracefully.

    With ``metrics_port`` set it also serves /metrics, /healthz and /readyz there, and
    keeps the visibility gauges (escalations by level, partnerships by stage) current.
    """
    from accord.ops import telemetry
    from accord.ops.monitor import MetricsServer, VisibilityGauges

    settings = settings or Settings()
    # Before anything else: a missing, short or published signing key is a ConfigError.
    signing_keys.check_for_start(settings)
    log = logging.getLogger("accord.worker")
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread
            loop.add_signal_handler(sig, stop.set)
    # Accord's own state, shared by every worker: a schema behind the code stops the worker
    # here (SchemaNotCurrent is a ConfigError: one line, exit 1), before it takes any task.
    store = SharedStorage(settings)
    if not await _open_when_up(store, settings, stop):
        return
    runtime, prometheus = telemetry.build_runtime(settings)
    client = await _connect_when_up(settings, stop, runtime=runtime, interceptors=telemetry.tracing_interceptors(settings))
    if client is None:
        await store.close()
        return
    worker = build_worker(client, settings, store=store)
    try:
        await ensure_watchdog(client, settings)
    except Exception as exc:  # noqa: BLE001 - never keep a worker from starting; `accord setup` starts it too
        log.warning("the watchdog could not be started: %s", exc)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(store.close)  # last: after the worker's activities have finished
        server = None
        if settings.metrics_port is not None and runtime is not None:  # build_runtime made one for this port
            server = await stack.enter_async_context(MetricsServer(
                settings.metrics_host, settings.metrics_port, prometheus_address=prometheus, client=client))
            gauges_stop = asyncio.Event()
            gauges = asyncio.create_task(VisibilityGauges(
                client, runtime, settings.metrics_poll_interval, stuck_activity_after=settings.stuck_activity_after,
                stuck_task_attempts=settings.stuck_task_attempts).run(gauges_stop))

            async def stop_gauges() -> None:
                gauges_stop.set()
                await gauges

            stack.push_async_callback(stop_gauges)
        running = asyncio.create_task(worker.run())
        if server is not None:
            server.polling = True
        log.info("worker %s polling %s on %s (namespace %s)", settings.worker_identity or client.identity,
                 settings.task_queue, settings.temporal_address, settings.temporal_namespace)
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if server is not None:
            server.polling = False
        if not running.done():
            log.info("shutting down: no new tasks; running activities have %s s to finish", settings.worker_shutdown_grace)
            await worker.shutdown()
        await running  # raises if the worker failed: the process exits non-zero
        log.info("worker stopped")


async def _open_when_up(store: SharedStorage, settings: Settings, stop: asyncio.Event) -> bool:
    """Open the storage, retrying while the database is not up yet (as ``_connect_when_up``
    does for Temporal). A schema behind the code is raised at once; False when stopped."""
    delay = 1.0
    while True:
        try:
            await store.open()
            return True
        except StorageUnavailable as exc:
            logging.getLogger("accord.worker").warning(
                "Accord's storage (%s) is not reachable yet (%s); retrying in %.0f s", describe_storage(settings), exc,
                delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
            return False
        delay = min(delay * 2, 15)


async def _connect_when_up(settings: Settings, stop: asyncio.Event, **options) -> Client | None:
    """Connect, retrying while the server is not up yet (a container starting beside it).
    A configuration error is raised at once; None when stopped while waiting."""
    from accord.config import ConfigError

    delay = 1.0
    while True:
        try:
            return await connect(settings, **options)
        except ConfigError:
            raise
        except RuntimeError as exc:
            found = re.search(r'message: "([^"]+)"', str(exc))
            logging.getLogger("accord.worker").warning(
                "Temporal at %s is not reachable yet (%s); retrying in %.0f s", settings.temporal_address,
                found.group(1) if found else str(exc)[:200], delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
            return None
        delay = min(delay * 2, 15)


def configure_logging(settings: Settings | None = None) -> None:
    """Logging as configured: ``log_format`` text or json, ``log_level``."""
    from accord.ops.telemetry import configure_logging as configure

    configure(settings)


def main(settings: Settings | None = None) -> None:
    """Run one worker process until it is stopped, then end the process: exit 0, or 1 with one
    line on stderr for a configuration error. `python worker.py` comes here, and so does
    `accord worker` with its --address/--namespace (the CLI depends on this module, never
    the other way round)."""
    from rich.console import Console

    from accord.ops.process_exit import exit_process

    settings = settings or Settings()
    configure_logging(settings)
    code = 0
    try:
        asyncio.run(run(settings))
    except KeyboardInterrupt:
        pass
    except ConfigError as exc:  # e.g. a missing, short or published signing key
        Console(stderr=True, soft_wrap=True).print(f"error: {exc}", markup=False, highlight=False)
        code = 1
    exit_process(code)


if __name__ == "__main__":
    main()
