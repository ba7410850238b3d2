"""Data folders as the previous releases left them, for the upgrade and import tests.

The previous releases kept Accord's state with two classes, since replaced by
accord/storage/: ``accord.mail.ledger.Ledger`` (ledger.sqlite: ``sends``, ``events``,
``alerts``) and ``accord.documents.store.DocumentStore`` (documents/ab/<sha256>.md). These
write the very tables, columns and files with the very statements they used (frozen here from
their last version), so the tests read what a running install has on disk.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

SCHEMA = [
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
    """CREATE TABLE IF NOT EXISTS alerts (
        send_key   TEXT NOT NULL,
        kind       TEXT NOT NULL,
        raised_at  TEXT NOT NULL,
        PRIMARY KEY (send_key, kind)
    )""",
]


def _now() -> str:
    return datetime.now(UTC).isoformat()


class OldLedger:
    """The previous releases' send ledger (the writes a worker and the webhook made)."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("BEGIN IMMEDIATE")
            for statement in SCHEMA:
                db.execute(statement)
            db.execute("COMMIT")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    def _write(self, sql: str, args: tuple) -> None:
        with closing(self._connect()) as db:
            db.execute(sql, args)

    def attempting(self, send_key: str, recipient: str) -> None:
        self._write("INSERT INTO sends (send_key, status, recipient, attempts, updated_at) VALUES (?, 'attempting', ?, 1, ?) "
                    "ON CONFLICT(send_key) DO UPDATE SET attempts = attempts + 1, updated_at = excluded.updated_at "
                    "WHERE status = 'attempting'", (send_key, recipient, _now()))

    def sent(self, send_key: str, message_id: str | None) -> None:
        self._write("UPDATE sends SET status = 'sent', message_id = ?, error = NULL, updated_at = ? WHERE send_key = ?",
                    (message_id, _now(), send_key))

    def failed(self, send_key: str, error: str, recipient: str = "") -> None:
        self._write("INSERT INTO sends (send_key, status, recipient, error, updated_at) VALUES (?, 'failed', ?, ?, ?) "
                    "ON CONFLICT(send_key) DO UPDATE SET status = 'failed', message_id = NULL, error = excluded.error, "
                    "updated_at = excluded.updated_at", (send_key, recipient, error, _now()))

    def alert(self, send_key: str, kind: str) -> None:
        self._write("INSERT INTO alerts (send_key, kind, raised_at) VALUES (?, ?, ?) ON CONFLICT(send_key, kind) DO NOTHING",
                    (send_key, kind, _now()))

    def record_event(self, event_id: str, send_key: str, event: str, reason: str, timestamp: datetime) -> None:
        self._write("INSERT INTO events (event_id, send_key, event, reason, timestamp, received_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(event_id) DO NOTHING",
                    (event_id, send_key, event, reason, timestamp.isoformat(), _now()))

    def mark_notified(self, event_id: str) -> None:
        self._write("UPDATE events SET notified_at = ? WHERE event_id = ?", (_now(), event_id))

    def status(self, send_key: str) -> tuple[str, str | None] | None:
        """(status, message_id), as the previous release's worker reads a send before sending."""
        with closing(self._connect()) as db:
            return db.execute("SELECT status, message_id FROM sends WHERE send_key = ?", (send_key,)).fetchone()


class OldDocuments:
    """The previous releases' document store: one file per document, named by its SHA-256."""

    def __init__(self, directory: Path):
        self.directory = directory

    def put(self, text: str) -> str:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        path = self.directory / digest[:2] / f"{digest}.md"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, path)
        return digest
