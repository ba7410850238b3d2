"""Accord's own state: the send ledger, provider events, documents and web sign-ins, behind one async interface.

    async with await open_storage(settings) as store:
        claim = await store.claim_send(key, "bea", holder=..., lease=timedelta(minutes=2))

Two backends (accord/storage/interface.py says what every operation promises):

- ``SqliteStorage`` (the embedded default): SQLite and files in ``settings.data_dir``, the
  layout Accord has always used (ledger.sqlite, documents/ab/<sha256>.md); opening it
  brings an old file up to date. One host only.
- ``PostgresStorage``, when ACCORD_DATABASE_URL is set: every worker and web instance on
  every host shares it. `accord setup` applies the schema (accord/storage/migrations.py)
  and can import an existing data folder (``--import-from DIR``); opening it refuses a
  schema older than the code (SchemaNotCurrent, a ConfigError: one clear line at start).

Not wired yet: the integrator's plan, in one pass. One ``SharedStorage(settings)`` per
process replaces every ``Ledger(settings.ledger_path)`` and ``DocumentStore(settings.documents_dir)``;
it is a Storage that opens on first use, so the constructors that build them stay synchronous.

1. activities/email.py: ``EmailActivities(mailer, store: Storage, ...)``. In ``send_email``
   the ledger steps (get; sent/failed early returns; the already_accepted check;
   attempting; sent; failed) become one call, and rendering moves into ``build_message()``
   so that only the claim's winner renders::

       info = activity.info()
       try:
           outcome = await send_once(
               self.store, request.send_key, request.to.id, holder=holder_of(info), lease=lease_of(info),
               deliver=lambda: self.mailer.send(build_message()),
               accepted=(partial(self.mailer.already_accepted, request.send_key)
                         if isinstance(self.mailer, CheckingMailer) else None))
       except SendInProgress as exc:  # another worker is sending it now: Temporal retries (EMAIL_RETRY)
           raise ApplicationError(str(exc), type="SendInProgress") from None
       except Exception:
           metrics.email_failed(request.template, "retryable")
           raise

   and the receipt from ``outcome.status``: sent -> "sent" + metrics.email_sent;
   already_sent -> "already_sent" (+ metrics.email_sent when ``outcome.recovered``);
   failed -> "failed" + metrics.email_failed(template, "permanent"); already_failed ->
   "failed". The module docstring's "attempting before, sent after" becomes "claimed
   before, sent after"; its logging lines stay.
2. worker.py: ``activities_for(settings, mailer=None, store=None)`` uses
   ``store or SharedStorage(settings)`` for ``EmailActivities(mailer, store, ...)`` and
   ``DocumentActivities(store, settings.template_dirs)``; ``build_worker`` passes ``store=``
   through. ``run`` makes ``store = SharedStorage(settings)``, awaits ``store.open()`` right
   after connecting to Temporal (SchemaNotCurrent is a ConfigError: `accord worker` already
   prints it in one line and exits 1; StorageUnavailable: retry as ``_connect_when_up``
   does), builds the worker with it, and ``await store.close()`` after the worker stopped.
   Other callers of ``activities_for``/``build_worker`` (accord/embedded.py, tests, bench/)
   need no change.
3. activities/documents.py: ``store: Storage``; ``self.store.put(text)`` ->
   ``await self.store.put_document(text)`` (three places).
4. accord/web/app.py: ``store = SharedStorage(settings)`` instead of ``DocumentStore(...)``;
   the lifespan awaits ``store.open()`` first (SchemaNotCurrent stops the start; an
   unreachable database is logged, and opened on first use) and ``store.close()`` last;
   ``webhooks.router(settings, store)`` shares it. ``mou_version``:
   ``text = await documents.load(store, version, meta.hash)``; ``page_of``:
   ``return await actions.page_for(...)``.
   accord/web/documents.py: ``load`` and ``show`` become ``async`` (``await
   store.get_document(digest)``, type ``Storage``); DocumentMissing is a KeyError and
   DocumentCorrupted a ValueError, so the ``except`` clauses stay. accord/web/actions.py:
   ``page_for`` and ``_decision_page`` become ``async`` (they call ``docs.show``).
5. accord/web/webhooks.py: ``router(settings, store: Storage)``; ``the_ledger()`` goes. Per event::

       try:
           stored = await store.record_event(event.event_id, event.send_key, event.event, event.reason, event.at)
       except ValueError:  # an id or key over MAX_KEY_CHARS, or with NUL
           ignored += 1; continue
       recorded += stored.new; duplicates += not stored.new
       if event.event in NOTIFY_EVENTS and event.workflow_id and stored.entry.notified_at is None: notify

   (``record_event`` returns the stored row: no second read). ``_notify``: ``await
   store.get_send(...)``, ``await store.mark_notified(...)``. StorageUnavailable answers 503,
   as an unreachable Temporal does.
6. accord/cli.py ``_mou_text``: inside ``go()``, ``async with await open_storage(settings) as
   store: text = await store.get_document(found.hash)``; its error line names
   ``describe_storage(settings)`` instead of ``settings.documents_dir``.
7. Delete accord/mail/ledger.py and accord/documents/store.py (``content_hash`` is
   ``accord.storage.content_hash``). Tests that build or read them directly
   (tests/lifecycle.py's Inbox, tests/faults.py, test_sendgrid, test_smtp, test_ics,
   test_webhook, test_ops_workers, test_faults_*, test_web_mou, test_mou_approvals,
   test_amendments, bench/) use ``SqliteStorage``/``open_storage`` and ``list_sends`` /
   ``get_send`` / ``list_events`` / ``get_document``: the field names are the ones they
   use (``status``, ``attempts``, ``message_id``, ``error``, ``recipient``; ``notified_at``),
   timestamps are datetimes instead of ISO strings. Until then they keep working: the
   SQLite backend writes the very file and tables they read.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from accord.config import Settings
from accord.storage.interface import (
    Claim,
    DocumentCorrupted,
    DocumentMissing,
    EventEntry,
    RecordedEvent,
    Role,
    SchemaNotCurrent,
    SendEntry,
    SessionEntry,
    Storage,
    StorageError,
    StorageMisconfigured,
    StorageUnavailable,
    content_hash,
)
from accord.storage.sending import (
    Outcome,
    SendInProgress,
    holder_of,
    lease_of,
    send_once,
)


async def open_storage(settings: Settings) -> Storage:
    """The configured store, opened: PostgreSQL if ``database_url`` is set, else SQLite and files
    in ``data_dir``. Raises SchemaNotCurrent or StorageUnavailable with a clear message."""
    url = _database_url(settings)
    if url:
        from accord.storage.postgres import PostgresStorage

        return await PostgresStorage.open(url)
    from accord.storage.sqlite import SqliteStorage

    return await SqliteStorage.open(settings.data_dir)


def describe_storage(settings: Settings) -> str:
    """Where the state lives, for messages: the database URL without its password, or the folder."""
    url = _database_url(settings)
    if url:
        from accord.storage.url import describe

        return f"PostgreSQL {describe(url)}"
    return f"SQLite and files in {settings.data_dir}"


def _database_url(settings: Settings) -> str | None:
    secret = getattr(settings, "database_url", None)
    url = secret.get_secret_value().strip() if secret is not None else ""
    return url or None


class SharedStorage(Storage):
    """The configured store for a whole process, opened on first use and kept: what the
    worker's activities, the web app and the webhook receive (constructed without awaiting).

    A process calls ``open()`` at start so that a schema behind the code stops it before it
    serves anything; an open that failed (the database was down) is tried again on next use."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._store: Storage | None = None
        self._opening = asyncio.Lock()

    async def open(self) -> Storage:
        if self._store is None:
            async with self._opening:
                if self._store is None:
                    self._store = await open_storage(self.settings)
        return self._store

    async def close(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            await store.close()

    async def claim_send(self, send_key: str, recipient: str, *, holder: str, lease: timedelta) -> Claim:
        return await (await self.open()).claim_send(send_key, recipient, holder=holder, lease=lease)

    async def mark_sent(self, send_key: str, message_id: str | None) -> None:
        await (await self.open()).mark_sent(send_key, message_id)

    async def mark_failed(self, send_key: str, error: str) -> None:
        await (await self.open()).mark_failed(send_key, error)

    async def release_send(self, send_key: str, holder: str) -> None:
        await (await self.open()).release_send(send_key, holder)

    async def get_send(self, send_key: str) -> SendEntry | None:
        return await (await self.open()).get_send(send_key)

    async def list_sends(self, prefix: str | None = None) -> list[SendEntry]:
        return await (await self.open()).list_sends(prefix)

    async def record_event(self, event_id: str, send_key: str, event: str, reason: str,
                           timestamp: datetime) -> RecordedEvent:
        return await (await self.open()).record_event(event_id, send_key, event, reason, timestamp)

    async def mark_notified(self, event_id: str) -> None:
        await (await self.open()).mark_notified(event_id)

    async def list_events(self, send_key: str | None = None) -> list[EventEntry]:
        return await (await self.open()).list_events(send_key)

    async def create_session(self, id_hash: str, person: str, role: Role | None, via: str, *,
                             lifetime: timedelta) -> SessionEntry:
        return await (await self.open()).create_session(id_hash, person, role, via, lifetime=lifetime)

    async def get_session(self, id_hash: str) -> SessionEntry | None:
        return await (await self.open()).get_session(id_hash)

    async def end_session(self, id_hash: str) -> None:
        await (await self.open()).end_session(id_hash)

    async def put_ticket(self, id_hash: str, kind: str, data: str, *, lifetime: timedelta) -> None:
        await (await self.open()).put_ticket(id_hash, kind, data, lifetime=lifetime)

    async def take_ticket(self, id_hash: str, kind: str) -> str | None:
        return await (await self.open()).take_ticket(id_hash, kind)

    async def put_document(self, text: str) -> str:
        return await (await self.open()).put_document(text)

    async def get_document(self, digest: str) -> str:
        return await (await self.open()).get_document(digest)

    async def has_document(self, digest: str) -> bool:
        return await (await self.open()).has_document(digest)


__all__ = [
    "Claim", "DocumentCorrupted", "DocumentMissing", "EventEntry", "Outcome", "RecordedEvent", "Role", "SchemaNotCurrent",
    "SendEntry", "SendInProgress", "SessionEntry", "SharedStorage", "Storage", "StorageError", "StorageMisconfigured",
    "StorageUnavailable", "content_hash", "describe_storage", "holder_of", "lease_of", "open_storage", "send_once",
]
