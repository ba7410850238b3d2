"""The web app's sign-in state: sessions and the one-time tickets of a sign-in, each kept by
the SHA-256 of its secret; expired ones are purged as new ones are written."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta

from accord.storage.interface import (
    Role,
    SessionEntry,
    checked_digest,
    checked_key,
    checked_lifetime,
    checked_role,
    checked_ticket,
    checked_zone,
    clean_text,
    is_digest,
)
from accord.storage.sqlite.connection import Connections, immediate

_SESSION_COLUMNS = "id_sha256, person, role, via, created_at, expires_at, zone"


class SignIns(Connections):
    async def create_session(self, id_hash: str, person: str, role: Role | None, via: str, *,
                             lifetime: timedelta, zone: str | None = None) -> SessionEntry:
        now = time.time()
        row = (checked_digest("session id hash", id_hash), clean_text(person), checked_role(role),
               checked_key("sign-in method", via), now, now + checked_lifetime(lifetime).total_seconds(),
               checked_zone(zone))

        def create(db: sqlite3.Connection) -> None:
            with immediate(db):
                _purge(db, row[4])
                db.execute(f"INSERT INTO sessions ({_SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", row)

        await self.run(create)
        return _session(row)

    async def get_session(self, id_hash: str) -> SessionEntry | None:
        if not is_digest(id_hash):
            return None
        row = await self.run(lambda db: db.execute(
            f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id_sha256 = ? AND expires_at > ?",
            (id_hash, time.time())).fetchone())
        return _session(row) if row else None

    async def end_session(self, id_hash: str) -> None:
        if is_digest(id_hash):
            await self.write("DELETE FROM sessions WHERE id_sha256 = ?", (id_hash,))

    async def put_ticket(self, id_hash: str, kind: str, data: str, *, lifetime: timedelta) -> None:
        row = (checked_digest("ticket hash", id_hash), checked_key("ticket kind", kind), checked_ticket(data),
               time.time() + checked_lifetime(lifetime).total_seconds())

        def put(db: sqlite3.Connection) -> None:
            with immediate(db):
                _purge(db, time.time())
                db.execute("INSERT INTO signin_tickets (id_sha256, kind, data, expires_at) VALUES (?, ?, ?, ?)", row)

        await self.run(put)

    async def take_ticket(self, id_hash: str, kind: str) -> str | None:
        if not is_digest(id_hash):
            return None
        # One statement: the row is deleted by whichever take comes first; the others find none.
        row = await self.run(lambda db: db.execute(
            "DELETE FROM signin_tickets WHERE id_sha256 = ? AND kind = ? RETURNING data, expires_at",
            (id_hash, kind)).fetchone())
        if row is None or row[1] <= time.time():
            return None
        return row[0]


def _purge(db: sqlite3.Connection, now: float) -> None:
    """Expired sessions and tickets: nothing can use them any more."""
    db.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,))
    db.execute("DELETE FROM signin_tickets WHERE expires_at <= ?", (now,))


def _session(row: tuple) -> SessionEntry:
    id_hash, person, role, via, created_at, expires_at, zone = row
    return SessionEntry(id_hash=id_hash, person=person, role=role, via=via,
                        created_at=datetime.fromtimestamp(created_at, UTC),
                        expires_at=datetime.fromtimestamp(expires_at, UTC), zone=zone)
