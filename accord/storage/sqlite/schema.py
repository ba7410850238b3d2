"""The ledger file's schema, as SQLite's ``user_version``, and bringing a file up to date.

0 is the ledger as Accord's first releases created it; each later version is additive (new
tables, new nullable columns), so a worker of the previous release still reads and writes a
migrated file while it is being replaced.
"""

from __future__ import annotations

import sqlite3

from accord.storage.sqlite.connection import immediate

SCHEMA_VERSION = 4

# Version 0, exactly as the old Ledger class created it (a folder may have been made by it).
_V0 = [
    """CREATE TABLE IF NOT EXISTS sends (
        send_key    TEXT PRIMARY KEY,
        status      TEXT NOT NULL CHECK (status IN ('attempting', 'sent', 'failed')),
        recipient   TEXT NOT NULL,
        attempts    INTEGER NOT NULL DEFAULT 0,
        message_id  TEXT,
        error       TEXT,
        updated_at  TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS events (
        event_id     TEXT PRIMARY KEY,
        send_key     TEXT NOT NULL,
        event        TEXT NOT NULL,
        reason       TEXT NOT NULL DEFAULT '',
        timestamp    TEXT NOT NULL,
        received_at  TEXT NOT NULL,
        notified_at  TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS events_by_send_key ON events (send_key)",
]
# Version 1: who holds an attempt, and until when (seconds since the epoch). NULL in rows
# written before: an old ``attempting`` row is an interrupted attempt, as it always was.
_V1_COLUMNS = {"holder": "TEXT", "lease_until": "REAL"}
# Version 2: the web app's sign-in state, kept by the SHA-256 of each secret. Times are
# seconds since the epoch, like lease_until.
_V2 = [
    """CREATE TABLE IF NOT EXISTS sessions (
        id_sha256   TEXT PRIMARY KEY,
        person      TEXT NOT NULL,
        role        TEXT CHECK (role IN ('ops', 'viewer')),
        via         TEXT NOT NULL,
        created_at  REAL NOT NULL,
        expires_at  REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions (expires_at)",
    """CREATE TABLE IF NOT EXISTS signin_tickets (
        id_sha256   TEXT PRIMARY KEY,
        kind        TEXT NOT NULL,
        data        TEXT NOT NULL,
        expires_at  REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS signin_tickets_by_expiry ON signin_tickets (expires_at)",
]
# Version 3: the alerts ops were given about a send, once per kind (as the old Ledger kept them).
_V3 = [
    """CREATE TABLE IF NOT EXISTS alerts (
        send_key   TEXT NOT NULL,
        kind       TEXT NOT NULL,
        raised_at  TEXT NOT NULL,
        PRIMARY KEY (send_key, kind)
    )""",
]

# Version 4: the time zone a signed-in person's pages show times in. NULL in sessions made
# before (UTC), and in those a previous release's web app makes while it is being replaced.
_V4_SESSION_COLUMNS = {"zone": "TEXT"}



def migrate(db: sqlite3.Connection) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version >= SCHEMA_VERSION:
        return  # a newer file than this code knows: its changes are additive
    db.execute("PRAGMA journal_mode=WAL")  # cannot change inside a transaction
    with immediate(db):
        if db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:  # another process may have won
            for statement in _V0:
                db.execute(statement)
            _add_columns(db, "sends", _V1_COLUMNS)
            for statement in (*_V2, *_V3):
                db.execute(statement)
            _add_columns(db, "sessions", _V4_SESSION_COLUMNS)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _add_columns(db: sqlite3.Connection, table: str, columns: dict[str, str]) -> None:
    """Add the ``columns`` (name: type) that ``table`` lacks: nullable, so older writers keep working."""
    present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    for column, kind in columns.items():
        if column not in present:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
