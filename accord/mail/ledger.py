"""The send ledger: one row per send key, so an email is never sent twice.

Temporal retries an activity after a crash or timeout; the ledger turns "send" into
"send unless already sent". A row is written *before* the provider is called
(``attempting``) and marked ``sent`` after, so a crash between the two is visible as
an attempt with unknown outcome rather than silently lost.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sends (
    send_key    TEXT PRIMARY KEY,
    status      TEXT NOT NULL CHECK (status IN ('attempting', 'sent', 'failed')),
    recipient   TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    message_id  TEXT,
    error       TEXT,
    updated_at  TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class Entry:
    send_key: str
    status: str
    recipient: str
    attempts: int
    message_id: str | None
    error: str | None


class Ledger:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        # Several worker processes may share the file: wait for a lock instead of failing.
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    def get(self, send_key: str) -> Entry | None:
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT send_key, status, recipient, attempts, message_id, error FROM sends WHERE send_key = ?",
                (send_key,),
            ).fetchone()
        return Entry(*row) if row else None

    def attempting(self, send_key: str, recipient: str) -> None:
        with closing(self._connect()) as db:
            db.execute(
                "INSERT INTO sends (send_key, status, recipient, attempts, updated_at) VALUES (?, 'attempting', ?, 1, ?) "
                "ON CONFLICT(send_key) DO UPDATE SET attempts = attempts + 1, updated_at = excluded.updated_at "
                "WHERE status = 'attempting'",
                (send_key, recipient, _now()),
            )

    def sent(self, send_key: str, message_id: str | None) -> None:
        self._finish(send_key, "sent", message_id=message_id)

    def failed(self, send_key: str, error: str) -> None:
        self._finish(send_key, "failed", error=error)

    def _finish(self, send_key: str, status: str, message_id: str | None = None, error: str | None = None) -> None:
        with closing(self._connect()) as db:
            db.execute(
                "UPDATE sends SET status = ?, message_id = ?, error = ?, updated_at = ? WHERE send_key = ?",
                (status, message_id, error, _now(), send_key),
            )

    def all(self) -> list[Entry]:
        with closing(self._connect()) as db:
            rows = db.execute(
                "SELECT send_key, status, recipient, attempts, message_id, error FROM sends ORDER BY updated_at"
            ).fetchall()
        return [Entry(*r) for r in rows]


def _now() -> str:
    return datetime.now(UTC).isoformat()
