"""The PostgreSQL schema, as numbered migrations, and the migrator `accord setup` runs.

Each migration is plain SQL with a number; ``accord_schema_version`` holds one row per
migration applied. ``migrate`` applies the missing ones in one transaction, under an
advisory lock, so two `accord setup` runs at once (two hosts deploying) apply each
migration exactly once, and a failed migration leaves the schema as it was (PostgreSQL's
DDL is transactional). Workers and web apps only check the version (``require_current``).

Why not Alembic: it would bring SQLAlchemy for a few tables that are queried with plain
SQL through psycopg, and its strength (autogenerating migrations from ORM models) has
nothing to work from here. A numbered list is the whole schema history, readable at once.

Rules for the next migration: append, never edit one that has shipped; keep it additive
(new tables, new nullable columns, new indexes) so that processes still running the
previous release keep working while they are replaced: they accept a schema newer than
theirs, and refuse only an older one.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import psycopg

from accord.storage.interface import (
    SchemaNotCurrent,
    StorageError,
    StorageMisconfigured,
    StorageUnavailable,
)


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "send ledger, provider events, documents", """
        CREATE TABLE accord_sends (
            send_key     text PRIMARY KEY,
            status       text NOT NULL CHECK (status IN ('attempting', 'sent', 'failed')),
            recipient    text NOT NULL,
            attempts     integer NOT NULL DEFAULT 1,
            message_id   text,
            error        text,
            -- The attempt that claimed the key, and until when it holds it (NULL: nobody).
            holder       text,
            lease_until  timestamptz,
            updated_at   timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE accord_events (
            event_id     text PRIMARY KEY,
            send_key     text NOT NULL,
            event        text NOT NULL,
            reason       text NOT NULL DEFAULT '',
            occurred_at  timestamptz NOT NULL,
            received_at  timestamptz NOT NULL DEFAULT now(),
            notified_at  timestamptz
        );
        CREATE INDEX accord_events_by_send_key ON accord_events (send_key);
        CREATE TABLE accord_documents (
            sha256       text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
            content      bytea NOT NULL,
            stored_at    timestamptz NOT NULL DEFAULT now()
        );
    """),
    Migration(2, "web sign-in: sessions and one-time sign-in tickets", """
        -- Kept by the SHA-256 of the secret (the cookie, the link): the table holds nothing
        -- that signs anyone in.
        CREATE TABLE accord_sessions (
            id_sha256    text PRIMARY KEY CHECK (id_sha256 ~ '^[0-9a-f]{64}$'),
            person       text NOT NULL,
            role         text CHECK (role IN ('ops', 'viewer')),
            via          text NOT NULL,
            created_at   timestamptz NOT NULL DEFAULT now(),
            expires_at   timestamptz NOT NULL
        );
        CREATE INDEX accord_sessions_by_expiry ON accord_sessions (expires_at);
        CREATE TABLE accord_signin_tickets (
            id_sha256    text PRIMARY KEY CHECK (id_sha256 ~ '^[0-9a-f]{64}$'),
            kind         text NOT NULL,
            data         text NOT NULL,
            expires_at   timestamptz NOT NULL
        );
        CREATE INDEX accord_signin_tickets_by_expiry ON accord_signin_tickets (expires_at);
    """),
    Migration(3, "alerts to ops about sends (an email still failing past mail_alert_after)", """
        -- One row per send and kind: ops are alerted once, whichever worker notices first.
        CREATE TABLE accord_alerts (
            send_key     text NOT NULL,
            kind         text NOT NULL,
            raised_at    timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (send_key, kind)
        );
    """),
    Migration(4, "the time zone a signed-in person's pages show times in", """
        -- An IANA name (the identity provider's zoneinfo claim, checked); NULL: UTC. Nullable,
        -- so a web app of the previous release still signs people in while it is replaced.
        ALTER TABLE accord_sessions ADD COLUMN zone text;
    """),
)
LATEST = MIGRATIONS[-1].version

_VERSION_TABLE = """
    CREATE TABLE IF NOT EXISTS accord_schema_version (
        version      integer PRIMARY KEY,
        description  text NOT NULL,
        applied_at   timestamptz NOT NULL DEFAULT now()
    )
"""
# Any constant will do, as long as it is Accord's: pg_advisory_xact_lock takes a bigint.
_LOCK_ID = 0x4143434F5244  # "ACCORD"


async def current_version(conn: psycopg.AsyncConnection) -> int:
    """The highest migration applied; 0 for a database Accord has never set up."""
    cur = await conn.execute("SELECT to_regclass('accord_schema_version') IS NOT NULL")
    if not await _value(cur):
        return 0
    return await _value(await conn.execute("SELECT coalesce(max(version), 0) FROM accord_schema_version"))


async def _value(cur: psycopg.AsyncCursor) -> Any:
    row = await cur.fetchone()
    assert row is not None  # an aggregate or a test: always one row
    return row[0]


async def migrate(conn: psycopg.AsyncConnection) -> list[Migration]:
    """Apply the migrations this database lacks; return those applied (none: it was current)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
        await conn.execute(_VERSION_TABLE)
        done = await current_version(conn)
        pending = [m for m in MIGRATIONS if m.version > done]
        for migration in pending:
            await conn.execute(migration.sql)
            await conn.execute("INSERT INTO accord_schema_version (version, description) VALUES (%s, %s)",
                               (migration.version, migration.description))
    return pending


async def require_current(conn: psycopg.AsyncConnection, where: str) -> int:
    """The schema's version; SchemaNotCurrent if it is older than this code needs."""
    version = await current_version(conn)
    if version < LATEST:
        state = "has no Accord schema" if version == 0 else f"has schema version {version}"
        raise SchemaNotCurrent(f"the PostgreSQL database at {where} {state}; this Accord needs version {LATEST}: "
                               "run `accord setup` (with the same ACCORD_DATABASE_URL) first")
    return version


async def connect(url: str, *, wait: float = 0, timeout: float = 10) -> psycopg.AsyncConnection:
    """One connection (autocommit), retrying for ``wait`` seconds while the server is starting.

    Raises StorageMisconfigured for a URL that is not PostgreSQL's, StorageUnavailable with
    the server's reason (refused, wrong password...) when it cannot connect."""
    from accord.storage.url import describe, problem

    where = describe(url)
    if wrong := problem(url):
        raise StorageMisconfigured(f"ACCORD_DATABASE_URL: {wrong}")
    deadline = time.monotonic() + wait
    while True:
        try:
            return await psycopg.AsyncConnection.connect(url, autocommit=True, connect_timeout=max(1, int(timeout)))
        except psycopg.OperationalError as exc:
            if time.monotonic() >= deadline:
                text = str(exc).strip()
                reason = text.splitlines()[0] if text else type(exc).__name__
                raise StorageUnavailable(f"cannot connect to PostgreSQL at {where}: {reason}") from None
        await asyncio.sleep(1)  # the database is starting beside us (docker compose)


async def apply(url: str, *, wait: float = 0) -> list[Migration]:
    """Connect (retrying for ``wait`` seconds while the server is starting) and migrate.

    Raises StorageUnavailable if it cannot connect, StorageError if a migration is refused."""
    from accord.storage.url import describe

    conn = await connect(url, wait=wait)
    try:
        return await migrate(conn)
    except psycopg.Error as exc:
        reason = exc.diag.message_primary or str(exc)
        raise StorageError(f"the schema could not be applied to {describe(url)}: {reason}") from None
    finally:
        await conn.close()
