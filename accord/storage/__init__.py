"""Accord's own state: the send ledger, provider events and documents, behind one async interface.

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

Not wired yet. The integrator's plan, in one pass (nothing else needs to change):

1. activities/email.py: ``EmailActivities(mailer, store: Storage, ...)``; ``send_email``
   replaces the ledger steps (get / attempting / sent / failed, and the already_accepted
   check) with one call::

       info = activity.info()
       try:
           outcome = await send_once(
               self.store, request.send_key, request.to.id,
               holder=holder_of(info), lease=lease_of(info),
               deliver=lambda: self.mailer.send(build_message()),   # today's render + Message(...)
               accepted=(partial(self.mailer.already_accepted, request.send_key)
                         if isinstance(self.mailer, CheckingMailer) else None))
       except SendInProgress as exc:  # another worker is sending it now: retry later
           raise ApplicationError(str(exc), type="SendInProgress") from None
       except Exception:
           metrics.email_failed(request.template, "retryable"); raise

   then map ``outcome.status`` to the receipt: sent -> "sent" (metrics.email_sent);
   already_sent -> "already_sent" (metrics.email_sent only if ``outcome.recovered``);
   failed -> "failed" (metrics.email_failed "permanent"); already_failed -> "failed".
   Rendering moves into ``build_message`` so it runs only for the claim's winner. The
   module docstring's "attempting ... sent" paragraph becomes "claimed ... sent".
2. worker.py: ``run`` opens the store before building the worker
   (``store = await open_storage(settings)``; on StorageUnavailable retry as
   ``_connect_when_up`` does for Temporal; SchemaNotCurrent is a ConfigError, so
   `accord worker` already prints it in one line and exits 1), passes it down
   ``build_worker(client, settings, store=...)`` -> ``activities_for(settings, store, mailer)``,
   and closes it after the worker stops. ``activities_for`` builds
   ``EmailActivities(mailer, store, ...)`` and ``DocumentActivities(store, settings.template_dirs)``.
   tests/conftest.py's ``running_worker`` opens one (``async with await open_storage(settings)``).
3. activities/documents.py: ``self.store.put(text)`` -> ``await self.store.put_document(text)``
   (three places).
4. accord/web/app.py: ``store = DocumentStore(...)`` -> ``stores = SharedStorage(settings)``;
   the lifespan calls ``await stores.get()`` first (a stale schema stops the start; an
   unreachable database is logged and retried on first use) and ``await stores.close()``
   last. ``mou_version`` does ``text = await documents.load(await stores.get(), ...)``,
   and ``page_of`` passes ``documents=await stores.get()``.
   accord/web/documents.py: ``load`` and ``show`` become ``async`` and call
   ``await store.get_document(digest)``; DocumentMissing is a KeyError and
   DocumentCorrupted a ValueError, so their ``except`` clauses stay as they are.
   accord/web/actions.py: ``page_for`` and ``_decision_page`` become ``async`` (they call
   ``docs.show``); the type of ``documents`` becomes ``Storage``.
5. accord/web/webhooks.py: ``the_ledger()`` -> a ``SharedStorage`` created in ``router``
   (or the app's, passed in). Per event::

       recorded = await store.record_event(event.event_id, event.send_key, event.event, event.reason, event.at)
       recorded.new -> recorded += 1, else duplicates += 1
       notify when event.event in NOTIFY_EVENTS and event.workflow_id and recorded.entry.notified_at is None

   (no second read: ``record_event`` returns the stored row). In ``_notify``:
   ``await store.get_send(...)`` and ``await store.mark_notified(...)``. A ValueError from
   ``record_event`` (an event id or send key over MAX_KEY_CHARS, or with NUL) counts as
   ignored; StorageUnavailable answers 503 like an unreachable Temporal.
6. accord/cli.py ``_mou_text``: read inside ``go()`` with
   ``async with await open_storage(settings) as store: text = await store.get_document(found.hash)``;
   the error line names ``describe_storage(settings)`` instead of ``settings.documents_dir``.
7. Then delete accord/mail/ledger.py and accord/documents/store.py (``content_hash`` lives
   in accord.storage.interface). Tests that read the ledger directly (tests/lifecycle.py's
   Inbox, tests/faults.py, test_sendgrid, test_smtp, test_webhook, test_ops_workers,
   test_faults_*, bench/) read ``await store.list_sends()`` / ``get_send`` /
   ``list_events`` instead: field names are the same (``status``, ``attempts``,
   ``message_id``, ``error``, ``recipient``; events ``notified_at``). Until then they keep
   working: the SQLite backend writes the very file and tables they read.
"""

from __future__ import annotations

import asyncio

from accord.config import Settings
from accord.storage.interface import (
    Claim,
    DocumentCorrupted,
    DocumentMissing,
    EventEntry,
    RecordedEvent,
    SchemaNotCurrent,
    SendEntry,
    Storage,
    StorageError,
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


class SharedStorage:
    """One store for a long-lived process (the web app), opened on first use and kept.

    Opening again after a failure: a database that was down at start is used once it is up."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._store: Storage | None = None
        self._opening = asyncio.Lock()

    async def get(self) -> Storage:
        if self._store is None:
            async with self._opening:
                if self._store is None:
                    self._store = await open_storage(self.settings)
        return self._store

    async def close(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            await store.close()


__all__ = [
    "Claim", "DocumentCorrupted", "DocumentMissing", "EventEntry", "Outcome", "RecordedEvent", "SchemaNotCurrent",
    "SendEntry", "SendInProgress", "SharedStorage", "Storage", "StorageError", "StorageUnavailable", "content_hash",
    "describe_storage", "holder_of", "lease_of", "open_storage", "send_once",
]
