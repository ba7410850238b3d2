"""Accord's own state: the send ledger and its alerts, provider events, documents and web sign-ins, behind one async interface.

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

Who uses it: one ``SharedStorage(settings)`` per process, opened at start and shared:

- the worker (worker.py): the email activity claims each send key before the provider is
  called (``send_once``) and keeps the "still failing" alerts; the document activities
  store MOU versions and archives. A schema behind the code stops the worker at start; an
  unreachable database is waited for, as Temporal is;
- the web app (accord/web/app.py): MOU pages and action pages read documents, the SendGrid
  webhook records provider events, sign-in keeps sessions and tickets. A schema behind the
  code stops the start; an unreachable database answers 503 until it is back;
- `accord mou show/diff` and `accord signin-link` open it for one command (``open_storage``).
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

    async def release_send(self, send_key: str, holder: str, error: str | None = None) -> None:
        await (await self.open()).release_send(send_key, holder, error)

    async def get_send(self, send_key: str) -> SendEntry | None:
        return await (await self.open()).get_send(send_key)

    async def list_sends(self, prefix: str | None = None) -> list[SendEntry]:
        return await (await self.open()).list_sends(prefix)

    async def alert_once(self, send_key: str, kind: str) -> bool:
        return await (await self.open()).alert_once(send_key, kind)

    async def alerted(self, send_key: str, kind: str) -> bool:
        return await (await self.open()).alerted(send_key, kind)

    async def record_event(self, event_id: str, send_key: str, event: str, reason: str,
                           timestamp: datetime) -> RecordedEvent:
        return await (await self.open()).record_event(event_id, send_key, event, reason, timestamp)

    async def mark_notified(self, event_id: str) -> None:
        await (await self.open()).mark_notified(event_id)

    async def list_events(self, send_key: str | None = None) -> list[EventEntry]:
        return await (await self.open()).list_events(send_key)

    async def create_session(self, id_hash: str, person: str, role: Role | None, via: str, *,
                             lifetime: timedelta, zone: str | None = None) -> SessionEntry:
        return await (await self.open()).create_session(id_hash, person, role, via, lifetime=lifetime, zone=zone)

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
