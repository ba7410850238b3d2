"""The send ledger: one row per send key, so an email is never sent twice.

Temporal retries an activity after a crash or timeout; the ledger turns "send" into
"send unless already sent". A row is written *before* the provider is called
(``attempting``) and marked ``sent`` after, so a crash between the two is visible as
an attempt with unknown outcome rather than silently lost.

The ``events`` table keeps what the provider reported afterwards (delivered, bounce,
dropped...), one row per provider event id, so a webhook delivered twice is recorded once.

Several processes share the file (workers, the web app): every wait for another one's lock
is a wait, never an error (see :func:`_while_busy` for the one place SQLite does not wait).

The ``alerts`` table remembers which sends ops were alerted about (kind ``delayed``: still
failing after ``mail_alert_after``), so each is reported once. While a send is being retried,
``sends.error`` holds what the provider said last. Both came with v0.5; a ledger file of an
earlier version gains the table when it is opened, and nothing else changes in it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

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

_EVENTS = """
CREATE TABLE IF NOT EXISTS events (
    event_id     TEXT PRIMARY KEY,
    send_key     TEXT NOT NULL,
    event        TEXT NOT NULL,
    reason       TEXT NOT NULL DEFAULT '',
    timestamp    TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    notified_at  TEXT
)
"""
_EVENTS_INDEX = "CREATE INDEX IF NOT EXISTS events_by_send_key ON events (send_key)"

_ALERTS = """
CREATE TABLE IF NOT EXISTS alerts (
    send_key   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    raised_at  TEXT NOT NULL,
    PRIMARY KEY (send_key, kind)
)
"""

# How long a process waits for another one's lock before giving up.
LOCK_WAIT_SECONDS = 30
_SQLITE_BUSY = 5  # the primary result code of "database is locked"


@dataclass(frozen=True)
class Entry:
    send_key: str
    status: str
    recipient: str
    attempts: int
    message_id: str | None
    error: str | None


@dataclass(frozen=True)
class EventEntry:
    event_id: str
    send_key: str
    event: str
    reason: str
    timestamp: str
    notified_at: str | None


class Ledger:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db:
            _while_busy(lambda: db.execute("PRAGMA journal_mode=WAL"))
            # One write transaction, begun as a writer: it waits for the lock like any write.
            db.execute("BEGIN IMMEDIATE")
            for statement in (_SCHEMA, _EVENTS, _EVENTS_INDEX, _ALERTS):
                db.execute(statement)
            db.execute("COMMIT")

    def _connect(self) -> sqlite3.Connection:
        # Several worker processes may share the file: wait for a lock instead of failing.
        return sqlite3.connect(self.path, timeout=LOCK_WAIT_SECONDS, isolation_level=None)

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

    def retrying(self, send_key: str, error: str) -> None:
        """An attempt failed and will be retried: keep what the provider said."""
        with closing(self._connect()) as db:
            db.execute("UPDATE sends SET error = ?, updated_at = ? WHERE send_key = ? AND status = 'attempting'",
                       (error, _now(), send_key))

    def sent(self, send_key: str, message_id: str | None) -> None:
        with closing(self._connect()) as db:
            db.execute(
                "UPDATE sends SET status = 'sent', message_id = ?, error = NULL, updated_at = ? WHERE send_key = ?",
                (message_id, _now(), send_key),
            )

    def failed(self, send_key: str, error: str, recipient: str = "") -> None:
        """Failed for good; also for a send that never got as far as an attempt (an email
        that cannot be composed is refused before the provider is called)."""
        with closing(self._connect()) as db:
            db.execute(
                "INSERT INTO sends (send_key, status, recipient, error, updated_at) VALUES (?, 'failed', ?, ?, ?) "
                "ON CONFLICT(send_key) DO UPDATE SET status = 'failed', message_id = NULL, error = excluded.error, "
                "updated_at = excluded.updated_at",
                (send_key, recipient, error, _now()),
            )

    def all(self) -> list[Entry]:
        with closing(self._connect()) as db:
            rows = db.execute(
                "SELECT send_key, status, recipient, attempts, message_id, error FROM sends ORDER BY updated_at"
            ).fetchall()
        return [Entry(*r) for r in rows]

    # ------------------------------------------------------------------ alerts to ops

    def alerted(self, send_key: str, kind: str) -> bool:
        with closing(self._connect()) as db:
            row = db.execute("SELECT 1 FROM alerts WHERE send_key = ? AND kind = ?", (send_key, kind)).fetchone()
        return row is not None

    def alert(self, send_key: str, kind: str) -> bool:
        """Remember that ops were alerted about this send; False if they had been already."""
        with closing(self._connect()) as db:
            cursor = db.execute("INSERT INTO alerts (send_key, kind, raised_at) VALUES (?, ?, ?) "
                                "ON CONFLICT(send_key, kind) DO NOTHING", (send_key, kind, _now()))
            return cursor.rowcount == 1

    # ------------------------------------------------------------------ provider events

    def record_event(self, event_id: str, send_key: str, event: str, reason: str, timestamp: datetime) -> bool:
        """Record one provider event; False if this event id was recorded before."""
        with closing(self._connect()) as db:
            cursor = db.execute(
                "INSERT INTO events (event_id, send_key, event, reason, timestamp, received_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(event_id) DO NOTHING",
                (event_id, send_key, event, reason, timestamp.isoformat(), _now()),
            )
            return cursor.rowcount == 1

    def event(self, event_id: str) -> EventEntry | None:
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT event_id, send_key, event, reason, timestamp, notified_at FROM events WHERE event_id = ?",
                (event_id,),
            ).fetchone()
        return EventEntry(*row) if row else None

    def mark_notified(self, event_id: str) -> None:
        """The workflow has been told about this event (or cannot be: it no longer exists)."""
        with closing(self._connect()) as db:
            db.execute("UPDATE events SET notified_at = ? WHERE event_id = ?", (_now(), event_id))

    def events(self, send_key: str | None = None) -> list[EventEntry]:
        query = "SELECT event_id, send_key, event, reason, timestamp, notified_at FROM events"
        args: tuple[str, ...] = ()
        if send_key is not None:
            query, args = query + " WHERE send_key = ?", (send_key,)
        with closing(self._connect()) as db:
            rows = db.execute(query + " ORDER BY timestamp, received_at", args).fetchall()
        return [EventEntry(*r) for r in rows]


def _while_busy(run: Callable[[], T]) -> T:
    """Run ``run``, trying again while SQLite answers "database is locked".

    Only for the switch to WAL: on a file still in rollback mode, that pragma reads the file
    first and then needs the write lock. If another process holds the write lock at that
    moment (two workers opening a new ledger at once: the other is switching or creating
    tables), SQLite answers SQLITE_BUSY at once, without the busy timeout, because a reader
    waiting to become a writer could deadlock. Waiting and asking again is safe here: the
    pragma holds nothing between attempts. Once the file is in WAL mode it is a no-op.
    """
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    delay = 0.005
    while True:
        try:
            return run()
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF != _SQLITE_BUSY or time.monotonic() >= deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def _now() -> str:
    return datetime.now(UTC).isoformat()
