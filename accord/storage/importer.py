"""`accord setup --import-from DIR`: move a data folder's state into PostgreSQL.

Reads DIR/ledger.sqlite (read-only; any schema version, including the one the old Ledger
class wrote) and DIR/documents/ab/<sha256>.md, and writes them into the shared database in
one transaction. Running it again changes nothing, and importing a folder whose hosts have
since sent more only adds what is new:

- a send already in the database is kept, unless it is still ``attempting`` there and the
  folder knows how it ended (sent or failed);
- an event already in the database is kept (its notified time filled in if it had none);
- an alert ops were given is imported once (they are not alerted again about that send);
- a document is imported only if its text still matches its hash; damaged ones are listed
  and left out, never stored under a hash they no longer have.

The folder itself is never changed.
"""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg_pool import PoolTimeout

from accord.storage.interface import (
    MAX_KEY_CHARS,
    StorageError,
    clean_text,
    content_hash,
    is_digest,
)
from accord.storage.postgres import PostgresStorage
from accord.storage.sqlite import DOCUMENTS_DIR, LEDGER_FILE


@dataclass
class ImportReport:
    sends_read: int = 0
    sends_written: int = 0
    events_read: int = 0
    events_written: int = 0
    documents_read: int = 0
    documents_written: int = 0
    alerts_read: int = 0
    alerts_written: int = 0
    skipped: list[str] = field(default_factory=list)  # what could not be imported, and why

    def summary(self) -> str:
        return (f"sends {self.sends_written} new or completed of {self.sends_read}, "
                f"events {self.events_written} new of {self.events_read}, "
                f"documents {self.documents_written} new of {self.documents_read}"
                + (f", alerts {self.alerts_written} new of {self.alerts_read}" if self.alerts_read else "")
                + (f", {len(self.skipped)} skipped" if self.skipped else ""))


_SENDS = """
    INSERT INTO accord_sends AS s (send_key, status, recipient, attempts, message_id, error, updated_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (send_key) DO UPDATE SET
        status = excluded.status, message_id = excluded.message_id, error = excluded.error,
        attempts = greatest(s.attempts, excluded.attempts), holder = NULL, lease_until = NULL,
        updated_at = excluded.updated_at
    WHERE s.status = 'attempting' AND excluded.status <> 'attempting'
"""
_EVENTS = """
    INSERT INTO accord_events AS e (event_id, send_key, event, reason, occurred_at, received_at, notified_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (event_id) DO UPDATE SET notified_at = excluded.notified_at
    WHERE e.notified_at IS NULL AND excluded.notified_at IS NOT NULL
"""
_ALERTS = """
    INSERT INTO accord_alerts (send_key, kind, raised_at) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING
"""
_DOCUMENTS = "INSERT INTO accord_documents (sha256, content) VALUES (%s, %s) ON CONFLICT DO NOTHING"


async def import_folder(folder: Path, target: PostgresStorage) -> ImportReport:
    """Copy ``folder``'s ledger, events and documents into ``target`` (idempotent)."""
    folder = Path(folder)
    ledger, documents = folder / LEDGER_FILE, folder / DOCUMENTS_DIR
    if not ledger.is_file() and not documents.is_dir():
        raise StorageError(f"{folder} holds no Accord state to import (no {LEDGER_FILE}, no {DOCUMENTS_DIR}/)")
    report = ImportReport()
    sends, events, alerts = await asyncio.to_thread(_read_ledger, ledger, report) if ledger.is_file() else ([], [], [])
    docs = await asyncio.to_thread(_read_documents, documents, report) if documents.is_dir() else []
    try:
        async with target.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            if sends:
                await cur.executemany(_SENDS, sends)
                report.sends_written = cur.rowcount
            if events:
                await cur.executemany(_EVENTS, events)
                report.events_written = cur.rowcount
            if alerts:
                await cur.executemany(_ALERTS, alerts)
                report.alerts_written = cur.rowcount
            for digest, content in docs:
                await cur.execute(_DOCUMENTS, (digest, content))
                report.documents_written += cur.rowcount
    except (psycopg.Error, PoolTimeout) as exc:
        reason = getattr(getattr(exc, "diag", None), "message_primary", None) or str(exc) or type(exc).__name__
        raise StorageError(f"the import into {target.where} failed, nothing was imported: {reason}") from None
    return report


def _read_ledger(path: Path, report: ImportReport) -> tuple[list[tuple], list[tuple], list[tuple]]:
    try:
        with closing(sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=30)) as db:
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            send_rows = db.execute(
                "SELECT send_key, status, recipient, attempts, message_id, error, updated_at FROM sends"
            ).fetchall() if "sends" in tables else []
            event_rows = db.execute(
                "SELECT event_id, send_key, event, reason, timestamp, received_at, notified_at FROM events"
            ).fetchall() if "events" in tables else []
            alert_rows = db.execute(
                "SELECT send_key, kind, raised_at FROM alerts"
            ).fetchall() if "alerts" in tables else []
    except sqlite3.Error as exc:
        raise StorageError(f"{path} cannot be read as a send ledger: {exc}") from None
    sends = []
    for key, status, recipient, attempts, message_id, error, updated_at in send_rows:
        report.sends_read += 1
        if not _key_ok(key) or status not in ("attempting", "sent", "failed"):
            report.skipped.append(f"send {str(key)[:80]!r}: not a valid ledger row")
            continue
        sends.append((key, status, clean_text(recipient), max(int(attempts or 0), 1), message_id and clean_text(message_id),
                      error and clean_text(error), _moment(updated_at)))
    events = []
    for event_id, send_key, event, reason, timestamp, received_at, notified_at in event_rows:
        report.events_read += 1
        if not _key_ok(event_id) or not _key_ok(send_key):
            report.skipped.append(f"event {str(event_id)[:80]!r}: not a valid event row")
            continue
        events.append((event_id, send_key, clean_text(event), clean_text(reason), _moment(timestamp),
                       _moment(received_at), notified_at and _moment(notified_at)))
    alerts = []
    for send_key, kind, raised_at in alert_rows:
        report.alerts_read += 1
        if not _key_ok(send_key) or not _key_ok(kind):
            report.skipped.append(f"alert {str(send_key)[:80]!r}: not a valid alert row")
            continue
        alerts.append((send_key, kind, _moment(raised_at)))
    return sends, events, alerts


def _read_documents(directory: Path, report: ImportReport) -> list[tuple[str, bytes]]:
    found = []
    for path in sorted(directory.glob("*/*.md")):
        digest = path.stem
        if not is_digest(digest) or path.parent.name != digest[:2]:
            continue  # not one of ours
        report.documents_read += 1
        data = path.read_bytes()
        try:
            intact = content_hash(data.decode("utf-8")) == digest
        except UnicodeDecodeError:
            intact = False
        if not intact:
            report.skipped.append(f"document {digest}: its content no longer matches its hash (damaged)")
            continue
        found.append((digest, data))
    return found


def _key_ok(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_KEY_CHARS and "\x00" not in value


def _moment(value: str | None) -> datetime:
    try:
        moment = datetime.fromisoformat(value) if value else datetime.now(UTC)
    except ValueError:
        moment = datetime.now(UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
