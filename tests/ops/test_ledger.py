"""The embedded store's SQLite file (ledger.sqlite) shared by several processes: a locked
database is a wait, never an error.

Two workers starting at once once lost one of them to ``sqlite3.OperationalError: database
is locked``, raised by ``PRAGMA journal_mode=WAL`` while the other was creating the file's
tables (SQLite refuses a reader's upgrade to writer at once, without the busy timeout).
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

from accord.storage.sqlite import SqliteStorage
from tests.support.paths import ROOT

SAFETY_TIMEOUT = 60  # only if something hangs; nothing waits for it to pass
LEASE = timedelta(minutes=2)


class Watched(SqliteStorage):
    """The real store, telling when it asks SQLite to switch the file to WAL."""

    seen: ClassVar[threading.Condition] = threading.Condition()
    attempts: ClassVar[list[str]] = []

    def _connection(self) -> sqlite3.Connection:
        db = super()._connection()
        db.set_trace_callback(self._traced)  # called as each statement starts
        return db

    def _traced(self, sql: str) -> None:
        if "journal_mode" in sql:
            with self.seen:
                self.attempts.append(sql)
                self.seen.notify_all()


async def test_a_store_opened_while_another_process_creates_the_file_waits_for_it(tmp_path):
    path = tmp_path / "ledger.sqlite"
    seen, attempts, outcome = Watched.seen, Watched.attempts, {}
    attempts.clear()
    # Another process is in the middle of creating a brand-new ledger: it holds the write lock.
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        other.execute("CREATE TABLE another_process_was_here (x)")

        def open_store() -> None:  # a process of its own would: its own loop, its own connections
            try:
                outcome["store"] = asyncio.run(Watched.open(tmp_path))
            except sqlite3.OperationalError as exc:  # the old code: "database is locked" at once
                outcome["error"] = exc
            with seen:
                seen.notify_all()

        opening = threading.Thread(target=open_store)
        opening.start()
        def refused_and_retrying() -> bool:  # it has tried, been refused by SQLite, and tries again (or gave up)
            with seen:
                return seen.wait_for(lambda: len(attempts) >= 2 or outcome, SAFETY_TIMEOUT)

        assert await asyncio.to_thread(refused_and_retrying)
        assert "error" not in outcome, f"the store gave up instead of waiting: {outcome['error']}"
        other.execute("COMMIT")
        await asyncio.to_thread(opening.join, SAFETY_TIMEOUT)

    assert "error" not in outcome, outcome.get("error")
    await outcome["store"].close()
    async with await SqliteStorage.open(tmp_path) as store:
        assert (await store.claim_send("k", "bea", holder="h", lease=LEASE)).won
        await store.mark_sent("k", "msg-1")
        assert (await store.get_send("k")).status == "sent"
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


# Each process opens a new data folder's store whenever told to (a line naming the folder),
# then sends: what a worker does at start. One process per worker, used for every round.
OPEN_AND_WRITE = """
import asyncio, sys
from datetime import timedelta
from pathlib import Path
from accord.storage.sqlite import SqliteStorage

async def start(folder):
    async with await SqliteStorage.open(Path(folder)) as store:
        for i in range(5):
            key = f"{sys.argv[1]}/{i}"
            await store.claim_send(key, "bea", holder=sys.argv[1], lease=timedelta(minutes=2))
            await store.mark_sent(key, "msg")

print("ready", flush=True)
for line in sys.stdin:
    try:
        asyncio.run(start(line.strip()))
        print("ok", flush=True)
    except Exception as exc:
        print(f"failed: {type(exc).__name__}: {exc}", flush=True)
"""


def test_several_processes_opening_one_new_data_folder_at_once_all_start(tmp_path):
    processes, rounds = 6, 8
    failures = []
    started = [subprocess.Popen([sys.executable, "-c", OPEN_AND_WRITE, f"p{n}"], cwd=ROOT, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for n in range(processes)]
    try:
        for process in started:
            assert process.stdout.readline().strip() == "ready"
        for round_ in range(rounds):
            folder = tmp_path / f"round-{round_}"
            for process in started:  # all waiting: let them go together
                process.stdin.write(f"{folder}\n")
                process.stdin.flush()
            for process in started:
                answer = process.stdout.readline().strip()  # each answers once its start is done
                if answer != "ok":
                    failures.append(answer or f"exit {process.poll()}: {process.stderr.read()[-500:]}")
            if not failures:
                entries = asyncio.run(_sends_in(folder))
                assert len(entries) == processes * 5 and {e.status for e in entries} == {"sent"}
    finally:
        for process in started:
            process.stdin.close()
            process.wait(SAFETY_TIMEOUT)
    assert failures == [], f"{len(failures)} of {processes * rounds} starts failed: {failures[:3]}"


async def _sends_in(folder: Path) -> list:
    async with await SqliteStorage.open(folder) as store:
        return await store.list_sends()
