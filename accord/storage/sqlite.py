"""The embedded backend: SQLite for the ledger and events, files for documents, in data_dir.

The layout is the one Accord has always written, so an existing data folder keeps working:

    <data_dir>/ledger.sqlite               tables ``sends`` and ``events`` (WAL mode)
    <data_dir>/documents/ab/<sha256>.md    one file per document, named by its hash

The schema version is SQLite's ``user_version``: 0 is the ledger as Accord's first
releases created it (the ``Ledger`` class of v0.5 and earlier, since replaced by this
module), 1 adds the claim's ``holder`` and ``lease_until`` columns, 2 the web app's
``sessions`` and ``signin_tickets``, 3 the ``alerts`` ops were given (the table that Ledger
made from v0.5 on, same shape), 4 the signed-in person's time ``zone`` on ``sessions``. Opening the store brings the file up to date (the embedded
default has no setup step); the old columns are untouched, so a worker of the previous
release still reads and writes a migrated file while it is being replaced.

sqlite3 blocks, so every call runs on this store's own few threads, each with its own
connection, never on the event loop. Several processes (workers, the web app) share the
file: a writer waits for the lock (busy timeout), and an attempt that still finds the
database locked is retried until LOCK_WAIT has passed, then reported as unavailable.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

from accord.storage.interface import (
    Claim,
    DocumentCorrupted,
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
)

T = TypeVar("T")

LEDGER_FILE = "ledger.sqlite"
DOCUMENTS_DIR = "documents"
SCHEMA_VERSION = 4
LOCK_WAIT = 60.0  # seconds a call keeps trying on a locked database before giving up
THREADS = 4

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

_SEND_COLUMNS = "send_key, status, recipient, attempts, message_id, error, holder, lease_until, updated_at"
_EVENT_COLUMNS = "event_id, send_key, event, reason, timestamp, received_at, notified_at"
_SESSION_COLUMNS = "id_sha256, person, role, via, created_at, expires_at, zone"


class SqliteStorage(Storage):
    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.ledger_path = self.data_dir / LEDGER_FILE
        self.documents_dir = self.data_dir / DOCUMENTS_DIR
        self._executor = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="accord-sqlite")
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    @classmethod
    async def open(cls, data_dir: Path) -> SqliteStorage:
        """The store in ``data_dir``, created or brought up to the current schema."""
        store = cls(data_dir)
        try:
            await store._run(store._migrate)
        except BaseException:
            await store.close()
            raise
        return store

    # ------------------------------------------------------------------ plumbing

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            self.ledger_path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit: each statement is its own transaction unless BEGIN says otherwise.
            # check_same_thread=False only so close() can close them from another thread.
            db = sqlite3.connect(self.ledger_path, timeout=LOCK_WAIT, isolation_level=None, check_same_thread=False)
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    def _retrying(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on this thread's connection; on a locked database, wait and try again.

        The busy timeout waits inside SQLite; this loop covers the cases where SQLite gives
        up at once (a lock held across a checkpoint, a busy handler not consulted)."""
        deadline = time.monotonic() + LOCK_WAIT
        delay = 0.01
        while True:
            db = self._connection()
            try:
                return fn(db)
            except sqlite3.OperationalError as exc:
                if db.in_transaction:
                    db.rollback()
                message = str(exc).lower()
                if "locked" not in message and "busy" not in message:
                    raise
                if time.monotonic() + delay > deadline:
                    raise StorageUnavailable(f"{self.ledger_path} stayed locked for {LOCK_WAIT:g} s") from exc
            # A worker thread waiting for another process's lock: the event loop is not blocked.
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(self._retrying, fn))

    async def _files(self, fn: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(fn, *args))

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, partial(self._executor.shutdown, wait=True))
        with self._lock:
            for db in self._connections:
                db.close()
            self._connections.clear()

    # ------------------------------------------------------------------ schema

    def _migrate(self, db: sqlite3.Connection) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version >= SCHEMA_VERSION:
            return  # a newer file than this code knows: its changes are additive
        db.execute("PRAGMA journal_mode=WAL")  # cannot change inside a transaction
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:  # another process may have won
                for statement in _V0:
                    db.execute(statement)
                _add_columns(db, "sends", _V1_COLUMNS)
                for statement in (*_V2, *_V3):
                    db.execute(statement)
                _add_columns(db, "sessions", _V4_SESSION_COLUMNS)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.rollback()
            raise

    # ------------------------------------------------------------------ send ledger

    async def claim_send(self, send_key: str, recipient: str, *, holder: str, lease: timedelta) -> Claim:
        checked_key("send key", send_key)
        checked_key("holder", holder)
        lease = checked_lease(lease)

        def claim(db: sqlite3.Connection) -> Claim:
            now = time.time()
            db.execute("BEGIN IMMEDIATE")  # the write lock first: the read below sees the result
            try:
                won = db.execute(
                    "INSERT INTO sends (send_key, status, recipient, attempts, holder, lease_until, updated_at) "
                    "VALUES (?, 'attempting', ?, 1, ?, ?, ?) "
                    "ON CONFLICT(send_key) DO UPDATE SET "
                    "  attempts = sends.attempts + (CASE WHEN sends.holder IS excluded.holder THEN 0 ELSE 1 END), "
                    "  holder = excluded.holder, lease_until = excluded.lease_until, updated_at = excluded.updated_at "
                    "WHERE sends.status = 'attempting' AND (sends.holder IS excluded.holder "
                    "  OR sends.lease_until IS NULL OR sends.lease_until <= ?)",
                    (send_key, clean_text(recipient), holder, now + lease.total_seconds(), _now(), now),
                ).rowcount == 1
                row = db.execute(f"SELECT {_SEND_COLUMNS} FROM sends WHERE send_key = ?", (send_key,)).fetchone()
                db.execute("COMMIT")
            except BaseException:
                db.rollback()
                raise
            return Claim(won=won, entry=_send(row))

        return await self._run(claim)

    async def mark_sent(self, send_key: str, message_id: str | None) -> None:
        await self._write(
            "UPDATE sends SET status = 'sent', message_id = ?, error = NULL, holder = NULL, lease_until = NULL, "
            "updated_at = ? WHERE send_key = ? AND status <> 'sent'",
            (None if message_id is None else clean_text(message_id), _now(), checked_key("send key", send_key)),
        )

    async def mark_failed(self, send_key: str, error: str) -> None:
        await self._write(
            "UPDATE sends SET status = 'failed', error = ?, holder = NULL, lease_until = NULL, updated_at = ? "
            "WHERE send_key = ? AND status = 'attempting'",
            (clean_text(error), _now(), checked_key("send key", send_key)),
        )

    async def release_send(self, send_key: str, holder: str, error: str | None = None) -> None:
        await self._write(
            "UPDATE sends SET lease_until = NULL, error = coalesce(?, error), updated_at = ? "
            "WHERE send_key = ? AND holder = ? AND status = 'attempting'",
            (None if error is None else clean_text(error), _now(), checked_key("send key", send_key), holder),
        )

    async def get_send(self, send_key: str) -> SendEntry | None:
        checked_key("send key", send_key)
        row = await self._run(
            lambda db: db.execute(f"SELECT {_SEND_COLUMNS} FROM sends WHERE send_key = ?", (send_key,)).fetchone())
        return _send(row) if row else None

    async def list_sends(self, prefix: str | None = None) -> list[SendEntry]:
        query, args = f"SELECT {_SEND_COLUMNS} FROM sends", tuple[object, ...]()
        if prefix:
            query, args = query + " WHERE substr(send_key, 1, ?) = ?", (len(prefix), prefix)
        rows = await self._run(lambda db: db.execute(query + " ORDER BY updated_at, send_key", args).fetchall())
        return [_send(r) for r in rows]

    async def _write(self, sql: str, args: tuple) -> None:
        await self._run(lambda db: db.execute(sql, args))

    # ------------------------------------------------------------------ alerts to ops

    async def alert_once(self, send_key: str, kind: str) -> bool:
        args = (checked_key("send key", send_key), checked_key("alert kind", kind), _now())
        return await self._run(lambda db: db.execute(
            "INSERT INTO alerts (send_key, kind, raised_at) VALUES (?, ?, ?) ON CONFLICT(send_key, kind) DO NOTHING",
            args).rowcount == 1)

    async def alerted(self, send_key: str, kind: str) -> bool:
        args = (checked_key("send key", send_key), checked_key("alert kind", kind))
        return await self._run(lambda db: db.execute(
            "SELECT 1 FROM alerts WHERE send_key = ? AND kind = ?", args).fetchone() is not None)

    # ------------------------------------------------------------------ provider events

    async def record_event(self, event_id: str, send_key: str, event: str, reason: str,
                           timestamp: datetime) -> RecordedEvent:
        checked_key("event id", event_id)
        checked_key("send key", send_key)

        def record(db: sqlite3.Connection) -> RecordedEvent:
            db.execute("BEGIN IMMEDIATE")
            try:
                new = db.execute(
                    "INSERT INTO events (event_id, send_key, event, reason, timestamp, received_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(event_id) DO NOTHING",
                    (event_id, send_key, clean_text(event), clean_text(reason), _iso(timestamp), _now()),
                ).rowcount == 1
                row = db.execute(f"SELECT {_EVENT_COLUMNS} FROM events WHERE event_id = ?", (event_id,)).fetchone()
                db.execute("COMMIT")
            except BaseException:
                db.rollback()
                raise
            return RecordedEvent(new=new, entry=_event(row))

        return await self._run(record)

    async def mark_notified(self, event_id: str) -> None:
        await self._write("UPDATE events SET notified_at = ? WHERE event_id = ? AND notified_at IS NULL",
                          (_now(), checked_key("event id", event_id)))

    async def list_events(self, send_key: str | None = None) -> list[EventEntry]:
        query, args = f"SELECT {_EVENT_COLUMNS} FROM events", tuple[object, ...]()
        if send_key is not None:
            query, args = query + " WHERE send_key = ?", (send_key,)
        rows = await self._run(lambda db: db.execute(query + " ORDER BY timestamp, received_at", args).fetchall())
        return [_event(r) for r in rows]

    # ------------------------------------------------------------------ sign-in

    async def create_session(self, id_hash: str, person: str, role: Role | None, via: str, *,
                             lifetime: timedelta, zone: str | None = None) -> SessionEntry:
        now = time.time()
        row = (checked_digest("session id hash", id_hash), clean_text(person), checked_role(role),
               checked_key("sign-in method", via), now, now + checked_lifetime(lifetime).total_seconds(),
               checked_zone(zone))

        def create(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            try:
                _purge(db, row[4])
                db.execute(f"INSERT INTO sessions ({_SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", row)
                db.execute("COMMIT")
            except BaseException:
                db.rollback()
                raise

        await self._run(create)
        return _session(row)

    async def get_session(self, id_hash: str) -> SessionEntry | None:
        if not is_digest(id_hash):
            return None
        row = await self._run(lambda db: db.execute(
            f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id_sha256 = ? AND expires_at > ?",
            (id_hash, time.time())).fetchone())
        return _session(row) if row else None

    async def end_session(self, id_hash: str) -> None:
        if is_digest(id_hash):
            await self._write("DELETE FROM sessions WHERE id_sha256 = ?", (id_hash,))

    async def put_ticket(self, id_hash: str, kind: str, data: str, *, lifetime: timedelta) -> None:
        row = (checked_digest("ticket hash", id_hash), checked_key("ticket kind", kind), checked_ticket(data),
               time.time() + checked_lifetime(lifetime).total_seconds())

        def put(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            try:
                _purge(db, time.time())
                db.execute("INSERT INTO signin_tickets (id_sha256, kind, data, expires_at) VALUES (?, ?, ?, ?)", row)
                db.execute("COMMIT")
            except BaseException:
                db.rollback()
                raise

        await self._run(put)

    async def take_ticket(self, id_hash: str, kind: str) -> str | None:
        if not is_digest(id_hash):
            return None
        # One statement: the row is deleted by whichever take comes first; the others find none.
        row = await self._run(lambda db: db.execute(
            "DELETE FROM signin_tickets WHERE id_sha256 = ? AND kind = ? RETURNING data, expires_at",
            (id_hash, kind)).fetchone())
        if row is None or row[1] <= time.time():
            return None
        return row[0]

    # ------------------------------------------------------------------ documents

    def _document_path(self, digest: str) -> Path:
        return self.documents_dir / digest[:2] / f"{digest}.md"

    async def put_document(self, text: str) -> str:
        digest = content_hash(text)
        await self._files(self._write_document, self._document_path(digest), text)
        return digest

    @staticmethod
    def _write_document(path: Path, text: str) -> None:
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # A temporary file of its own (two writers of one document must not share one),
        # renamed into place: a reader sees the whole document or none.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem[:12]}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as file:
                file.write(text)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    async def get_document(self, digest: str) -> str:
        if not is_digest(digest):
            raise DocumentMissing(digest)
        return await self._files(self._read_document, self._document_path(digest), digest)

    @staticmethod
    def _read_document(path: Path, digest: str) -> str:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise DocumentMissing(digest) from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise DocumentCorrupted(f"document {digest} is corrupted: it is no longer UTF-8 text") from None
        if content_hash(text) != digest:
            raise DocumentCorrupted(f"document {digest} is corrupted: its content no longer matches its hash")
        return text

    async def has_document(self, digest: str) -> bool:
        if not is_digest(digest):
            return False
        return await self._files(self._document_path(digest).is_file)


# ---------------------------------------------------------------------- rows


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _iso(moment: datetime) -> str:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def _moment(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _send(row: tuple) -> SendEntry:
    key, status, recipient, attempts, message_id, error, holder, lease_until, updated_at = row
    return SendEntry(
        send_key=key, status=status, recipient=recipient, attempts=attempts, message_id=message_id, error=error,
        holder=holder, lease_until=None if lease_until is None else datetime.fromtimestamp(lease_until, UTC),
        updated_at=_moment(updated_at),
    )


def _purge(db: sqlite3.Connection, now: float) -> None:
    """Expired sessions and tickets: nothing can use them any more."""
    db.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,))
    db.execute("DELETE FROM signin_tickets WHERE expires_at <= ?", (now,))


def _session(row: tuple) -> SessionEntry:
    id_hash, person, role, via, created_at, expires_at, zone = row
    return SessionEntry(id_hash=id_hash, person=person, role=role, via=via,
                        created_at=datetime.fromtimestamp(created_at, UTC),
                        expires_at=datetime.fromtimestamp(expires_at, UTC), zone=zone)


def _add_columns(db: sqlite3.Connection, table: str, columns: dict[str, str]) -> None:
    """Add the ``columns`` (name: type) that ``table`` lacks: nullable, so older writers keep working."""
    present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    for column, kind in columns.items():
        if column not in present:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


def _event(row: tuple) -> EventEntry:
    event_id, send_key, event, reason, timestamp, received_at, notified_at = row
    return EventEntry(event_id=event_id, send_key=send_key, event=event, reason=reason, timestamp=_moment(timestamp),
                      received_at=_moment(received_at),
                      notified_at=None if notified_at is None else _moment(notified_at))
