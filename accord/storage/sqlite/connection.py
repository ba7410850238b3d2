"""The store's plumbing: each of its few threads has its own connection to the ledger file,
and a call that finds the database locked waits and tries again until LOCK_WAIT has passed.

sqlite3 blocks, so every call runs on these threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TypeVar

from accord.storage.interface import StorageUnavailable

T = TypeVar("T")

LEDGER_FILE = "ledger.sqlite"
DOCUMENTS_DIR = "documents"
LOCK_WAIT = 60.0  # seconds a call keeps trying on a locked database before giving up
THREADS = 4


@contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, the write lock taken first (BEGIN IMMEDIATE: what is read inside
    sees what is written); committed at the end, rolled back on any error."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise


class Connections:
    """The ledger file's connections and the threads they run on (the base of ``SqliteStorage``)."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.ledger_path = self.data_dir / LEDGER_FILE
        self.documents_dir = self.data_dir / DOCUMENTS_DIR
        self._executor = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="accord-sqlite")
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

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

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(self._retrying, fn))

    async def run_files(self, fn: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(fn, *args))

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, partial(self._executor.shutdown, wait=True))
        with self._lock:
            for db in self._connections:
                db.close()
            self._connections.clear()

    async def write(self, sql: str, args: tuple) -> None:
        await self.run(lambda db: db.execute(sql, args))
