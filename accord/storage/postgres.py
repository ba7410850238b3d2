"""The PostgreSQL backend (ACCORD_DATABASE_URL): every host shares one ledger and one document store.

psycopg 3, asynchronous, with a connection pool. Every operation is one statement in its
own transaction (autocommit), so nothing holds a lock across a round trip. The schema is
made by accord.storage.migrations (`accord setup`); opening the store checks it is current
and refuses to start otherwise.

Times in the ledger (the claim's lease, updated_at, received_at) are the database server's,
so hosts with drifting clocks still agree on whether a lease has run out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from accord.storage import migrations
from accord.storage.interface import (
    Claim,
    DocumentMissing,
    EventEntry,
    RecordedEvent,
    Role,
    SendEntry,
    SessionEntry,
    Storage,
    StorageUnavailable,
    checked_digest,
    checked_key,
    checked_lease,
    checked_lifetime,
    checked_role,
    checked_ticket,
    checked_zone,
    clean_text,
    content_hash,
    is_digest,
    verified_text,
)
from accord.storage.url import describe

POOL_MIN = 1
POOL_MAX = 10
CONNECT_TIMEOUT = 10.0  # seconds to wait for a connection (at start, and from the pool)

_SEND_COLUMNS = "send_key, status, recipient, attempts, message_id, error, holder, lease_until, updated_at"
_EVENT_COLUMNS = "event_id, send_key, event, reason, occurred_at, received_at, notified_at"
_SESSION_COLUMNS = "id_sha256, person, role, via, created_at, expires_at, zone"


class PostgresStorage(Storage):
    def __init__(self, pool: AsyncConnectionPool, where: str):
        self.pool = pool
        self.where = where  # the URL without its password, for messages

    @classmethod
    async def open(cls, url: str, *, timeout: float = CONNECT_TIMEOUT) -> PostgresStorage:
        """Connect; refuse (SchemaNotCurrent) a schema older than this code.

        A first connection says clearly why the server cannot be used (StorageUnavailable,
        StorageMisconfigured) and checks the schema; then the pool opens."""
        where = describe(url)
        first = await migrations.connect(url, timeout=timeout)
        try:
            await migrations.require_current(first, where)
        finally:
            await first.close()
        pool = AsyncConnectionPool(
            url, min_size=POOL_MIN, max_size=POOL_MAX, open=False, timeout=timeout,
            kwargs={"autocommit": True, "connect_timeout": max(1, int(timeout))},
            # A connection broken while idle (a server restart) is replaced, not handed out.
            check=AsyncConnectionPool.check_connection, name="accord",
        )
        try:
            await pool.open(wait=True, timeout=timeout)
        except PoolTimeout:
            await pool.close()
            raise StorageUnavailable(f"cannot connect to PostgreSQL at {where} within {timeout:g} s") from None
        return cls(pool, where)

    async def close(self) -> None:
        await self.pool.close()

    async def _one(self, sql: str, args: tuple) -> tuple | None:
        rows = await self._all(sql, args)
        return rows[0] if rows else None

    async def _all(self, sql: str, args: tuple = ()) -> list[tuple]:
        try:
            async with self.pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
                await cur.execute(sql, args)
                return await cur.fetchall() if cur.description else []
        except (psycopg.OperationalError, PoolTimeout) as exc:
            # Server gone, restarting, or every connection busy: the caller retries later.
            raise StorageUnavailable(f"PostgreSQL at {self.where}: {str(exc).strip() or type(exc).__name__}") from exc

    # ------------------------------------------------------------------ send ledger

    async def claim_send(self, send_key: str, recipient: str, *, holder: str, lease: timedelta) -> Claim:
        checked_key("send key", send_key)
        checked_key("holder", holder)
        # One statement: of concurrent claims, one inserts or updates; the others wait for
        # its row lock, then see the fresh lease in the WHERE and change nothing.
        won = await self._one(
            f"INSERT INTO accord_sends AS s (send_key, status, recipient, attempts, holder, lease_until) "
            f"VALUES (%s, 'attempting', %s, 1, %s, now() + %s) "
            f"ON CONFLICT (send_key) DO UPDATE SET "
            f"  attempts = s.attempts + (CASE WHEN s.holder = excluded.holder THEN 0 ELSE 1 END), "
            f"  holder = excluded.holder, lease_until = excluded.lease_until, updated_at = now() "
            f"WHERE s.status = 'attempting' AND (s.holder = excluded.holder "
            f"  OR s.lease_until IS NULL OR s.lease_until <= now()) "
            f"RETURNING {_SEND_COLUMNS}",
            (send_key, clean_text(recipient), holder, checked_lease(lease)),
        )
        if won is not None:
            return Claim(won=True, entry=_send(won))
        held = await self.get_send(send_key)
        assert held is not None  # a row that blocked the insert is never deleted
        return Claim(won=False, entry=held)

    async def mark_sent(self, send_key: str, message_id: str | None) -> None:
        await self._one(
            "UPDATE accord_sends SET status = 'sent', message_id = %s, error = NULL, holder = NULL, "
            "lease_until = NULL, updated_at = now() WHERE send_key = %s AND status <> 'sent'",
            (None if message_id is None else clean_text(message_id), checked_key("send key", send_key)),
        )

    async def mark_failed(self, send_key: str, error: str) -> None:
        await self._one(
            "UPDATE accord_sends SET status = 'failed', error = %s, holder = NULL, lease_until = NULL, "
            "updated_at = now() WHERE send_key = %s AND status = 'attempting'",
            (clean_text(error), checked_key("send key", send_key)),
        )

    async def release_send(self, send_key: str, holder: str, error: str | None = None) -> None:
        await self._one(
            "UPDATE accord_sends SET lease_until = NULL, error = coalesce(%s, error), updated_at = now() "
            "WHERE send_key = %s AND holder = %s AND status = 'attempting'",
            (None if error is None else clean_text(error), checked_key("send key", send_key), holder),
        )

    async def get_send(self, send_key: str) -> SendEntry | None:
        row = await self._one(f"SELECT {_SEND_COLUMNS} FROM accord_sends WHERE send_key = %s",
                              (checked_key("send key", send_key),))
        return _send(row) if row else None

    async def list_sends(self, prefix: str | None = None) -> list[SendEntry]:
        query, args = f"SELECT {_SEND_COLUMNS} FROM accord_sends", tuple[object, ...]()
        if prefix:
            query, args = query + " WHERE starts_with(send_key, %s)", (prefix,)
        return [_send(r) for r in await self._all(query + " ORDER BY updated_at, send_key", args)]

    # ------------------------------------------------------------------ alerts to ops

    async def alert_once(self, send_key: str, kind: str) -> bool:
        row = await self._one(
            "INSERT INTO accord_alerts (send_key, kind) VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING 1",
            (checked_key("send key", send_key), checked_key("alert kind", kind)))
        return row is not None

    async def alerted(self, send_key: str, kind: str) -> bool:
        row = await self._one("SELECT 1 FROM accord_alerts WHERE send_key = %s AND kind = %s",
                              (checked_key("send key", send_key), checked_key("alert kind", kind)))
        return row is not None

    # ------------------------------------------------------------------ provider events

    async def record_event(self, event_id: str, send_key: str, event: str, reason: str,
                           timestamp: datetime) -> RecordedEvent:
        checked_key("event id", event_id)
        checked_key("send key", send_key)
        row = await self._one(
            f"INSERT INTO accord_events (event_id, send_key, event, reason, occurred_at) "
            f"VALUES (%s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING RETURNING {_EVENT_COLUMNS}",
            (event_id, send_key, clean_text(event), clean_text(reason), timestamp),
        )
        if row is not None:
            return RecordedEvent(new=True, entry=_event(row))
        row = await self._one(f"SELECT {_EVENT_COLUMNS} FROM accord_events WHERE event_id = %s", (event_id,))
        assert row is not None  # the row that blocked the insert is never deleted
        return RecordedEvent(new=False, entry=_event(row))

    async def mark_notified(self, event_id: str) -> None:
        await self._one("UPDATE accord_events SET notified_at = now() WHERE event_id = %s AND notified_at IS NULL",
                        (checked_key("event id", event_id),))

    async def list_events(self, send_key: str | None = None) -> list[EventEntry]:
        query, args = f"SELECT {_EVENT_COLUMNS} FROM accord_events", tuple[object, ...]()
        if send_key is not None:
            query, args = query + " WHERE send_key = %s", (send_key,)
        return [_event(r) for r in await self._all(query + " ORDER BY occurred_at, received_at", args)]

    # ------------------------------------------------------------------ sign-in

    async def create_session(self, id_hash: str, person: str, role: Role | None, via: str, *,
                             lifetime: timedelta, zone: str | None = None) -> SessionEntry:
        args = (checked_digest("session id hash", id_hash), clean_text(person), checked_role(role),
                checked_key("sign-in method", via), checked_lifetime(lifetime), checked_zone(zone))
        await self._purge()
        row = await self._one(
            f"INSERT INTO accord_sessions (id_sha256, person, role, via, expires_at, zone) "
            f"VALUES (%s, %s, %s, %s, now() + %s, %s) RETURNING {_SESSION_COLUMNS}", args)
        assert row is not None  # INSERT ... RETURNING: one row, or an error
        return SessionEntry(*row)

    async def get_session(self, id_hash: str) -> SessionEntry | None:
        if not is_digest(id_hash):
            return None
        row = await self._one(f"SELECT {_SESSION_COLUMNS} FROM accord_sessions "
                              f"WHERE id_sha256 = %s AND expires_at > now()", (id_hash,))
        return SessionEntry(*row) if row else None

    async def end_session(self, id_hash: str) -> None:
        if is_digest(id_hash):
            await self._one("DELETE FROM accord_sessions WHERE id_sha256 = %s", (id_hash,))

    async def put_ticket(self, id_hash: str, kind: str, data: str, *, lifetime: timedelta) -> None:
        args = (checked_digest("ticket hash", id_hash), checked_key("ticket kind", kind), checked_ticket(data),
                checked_lifetime(lifetime))
        await self._purge()
        await self._one("INSERT INTO accord_signin_tickets (id_sha256, kind, data, expires_at) "
                        "VALUES (%s, %s, %s, now() + %s)", args)

    async def take_ticket(self, id_hash: str, kind: str) -> str | None:
        if not is_digest(id_hash):
            return None
        # One statement: of concurrent takes, one deletes the row; the others wait for its
        # lock, then find nothing to delete.
        row = await self._one("DELETE FROM accord_signin_tickets WHERE id_sha256 = %s AND kind = %s "
                              "RETURNING data, expires_at > now()", (id_hash, kind))
        return row[0] if row and row[1] else None

    async def _purge(self) -> None:
        """Expired sessions and tickets: nothing can use them any more."""
        await self._one("DELETE FROM accord_sessions WHERE expires_at <= now()", ())
        await self._one("DELETE FROM accord_signin_tickets WHERE expires_at <= now()", ())

    # ------------------------------------------------------------------ documents

    async def put_document(self, text: str) -> str:
        digest = content_hash(text)
        # bytea, not text: a document may hold characters PostgreSQL text refuses (NUL).
        await self._one("INSERT INTO accord_documents (sha256, content) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                        (digest, text.encode("utf-8")))
        return digest

    async def get_document(self, digest: str) -> str:
        if not is_digest(digest):
            raise DocumentMissing(digest)
        row = await self._one("SELECT content FROM accord_documents WHERE sha256 = %s", (digest,))
        if row is None:
            raise DocumentMissing(digest)
        return verified_text(bytes(row[0]), digest)

    async def has_document(self, digest: str) -> bool:
        if not is_digest(digest):
            return False
        return await self._one("SELECT 1 FROM accord_documents WHERE sha256 = %s", (digest,)) is not None


def _send(row: tuple) -> SendEntry:
    return SendEntry(*row)


def _event(row: tuple) -> EventEntry:
    return EventEntry(*row)

