"""The send ledger shared by several processes: a locked database is a wait, never an error.

Two workers starting at once once lost one of them to ``sqlite3.OperationalError: database
is locked``, raised by ``PRAGMA journal_mode=WAL`` while the other was creating the file's
tables (SQLite refuses a reader's upgrade to writer at once, without the busy timeout).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from pathlib import Path

from accord.mail.ledger import Ledger

ROOT = Path(__file__).resolve().parent.parent
SAFETY_TIMEOUT = 60  # only if something hangs; nothing waits for it to pass


class Watched(Ledger):
    """The real ledger, telling when it asks SQLite to switch the file to WAL."""

    def __init__(self, path: Path, seen: threading.Condition, attempts: list[str]):
        self._seen, self._attempts = seen, attempts
        super().__init__(path)

    def _connect(self) -> sqlite3.Connection:
        db = super()._connect()
        db.set_trace_callback(self._traced)  # called as each statement starts
        return db

    def _traced(self, sql: str) -> None:
        if "journal_mode" in sql:
            with self._seen:
                self._attempts.append(sql)
                self._seen.notify_all()


def test_a_ledger_opened_while_another_process_creates_the_file_waits_for_it(tmp_path):
    path = tmp_path / "ledger.sqlite"
    # Another process is in the middle of creating a brand-new ledger: it holds the write lock.
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        other.execute("CREATE TABLE another_process_was_here (x)")

        seen, attempts, outcome = threading.Condition(), [], {}

        def open_ledger() -> None:
            try:
                outcome["ledger"] = Watched(path, seen, attempts)
            except sqlite3.OperationalError as exc:  # the old code: "database is locked" at once
                outcome["error"] = exc
            with seen:
                seen.notify_all()

        opening = threading.Thread(target=open_ledger)
        opening.start()
        with seen:
            # It has tried, been refused by SQLite, and is trying again (or it gave up).
            assert seen.wait_for(lambda: len(attempts) >= 2 or outcome, SAFETY_TIMEOUT)
        assert "error" not in outcome, f"the ledger gave up instead of waiting: {outcome['error']}"
        other.execute("COMMIT")
        opening.join(SAFETY_TIMEOUT)

    assert "error" not in outcome, outcome.get("error")
    ledger = outcome["ledger"]
    ledger.attempting("k", "bea")
    ledger.sent("k", "msg-1")
    assert ledger.get("k").status == "sent"
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


# Each process opens the ledger when told to, then writes: what a worker does at start.
OPEN_AND_WRITE = """
import sys
from pathlib import Path
from accord.mail.ledger import Ledger
print("ready", flush=True)
sys.stdin.readline()
ledger = Ledger(Path(sys.argv[1]))
for i in range(5):
    key = f"{sys.argv[2]}/{i}"
    ledger.attempting(key, "bea")
    ledger.sent(key, "msg")
print("ok")
"""


def test_several_processes_opening_one_new_ledger_at_once_all_start(tmp_path):
    processes, rounds = 6, 8
    failures = []
    for round_ in range(rounds):
        path = tmp_path / f"round-{round_}" / "ledger.sqlite"
        started = [subprocess.Popen([sys.executable, "-c", OPEN_AND_WRITE, str(path), f"p{n}"], cwd=ROOT,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                   for n in range(processes)]
        for process in started:
            assert process.stdout.readline().strip() == "ready"
        for process in started:  # all ready: let them go together
            process.stdin.write("go\n")
            process.stdin.flush()
        for process in started:
            out, err = process.communicate(timeout=SAFETY_TIMEOUT)
            if process.returncode != 0 or out.strip() != "ok":
                failures.append(err.strip().splitlines()[-1] if err.strip() else f"exit {process.returncode}")
        if not failures:
            entries = Ledger(path).all()
            assert len(entries) == processes * 5 and {e.status for e in entries} == {"sent"}
    assert failures == [], f"{len(failures)} of {processes * rounds} processes failed to start: {failures[:3]}"
