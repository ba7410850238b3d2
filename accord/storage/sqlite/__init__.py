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

The parts: connection.py (the threads, their connections, waiting on a lock), schema.py
(the versions above), ledger.py (sends, alerts, provider events), sign_ins.py (sessions,
tickets), documents.py (the files). ``SqliteStorage`` is all of them together.

sqlite3 blocks, so every call runs on this store's own few threads, each with its own
connection, never on the event loop. Several processes (workers, the web app) share the
file: a writer waits for the lock (busy timeout), and an attempt that still finds the
database locked is retried until LOCK_WAIT has passed, then reported as unavailable.
"""

from __future__ import annotations

from pathlib import Path

from accord.storage.interface import Storage
from accord.storage.sqlite.connection import (
    DOCUMENTS_DIR,
    LEDGER_FILE,
    LOCK_WAIT,
    THREADS,
)
from accord.storage.sqlite.documents import Documents
from accord.storage.sqlite.ledger import Ledger
from accord.storage.sqlite.schema import SCHEMA_VERSION, migrate
from accord.storage.sqlite.sign_ins import SignIns

__all__ = ["DOCUMENTS_DIR", "LEDGER_FILE", "LOCK_WAIT", "SCHEMA_VERSION", "THREADS", "SqliteStorage"]


class SqliteStorage(Ledger, SignIns, Documents, Storage):
    @classmethod
    async def open(cls, data_dir: Path) -> SqliteStorage:
        """The store in ``data_dir``, created or brought up to the current schema."""
        store = cls(data_dir)
        try:
            await store.run(migrate)
        except BaseException:
            await store.close()
            raise
        return store
