"""The send ledger (one row a send: who may attempt it, and how it went), the alerts ops were
given about a send, and the provider's events about sends (delivered, bounced...)."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta

from accord.storage.interface import (
    Claim,
    EventEntry,
    RecordedEvent,
    SendEntry,
    checked_key,
    checked_lease,
    clean_text,
)
from accord.storage.sqlite.connection import Connections, immediate

_SEND_COLUMNS = "send_key, status, recipient, attempts, message_id, error, holder, lease_until, updated_at"
_EVENT_COLUMNS = "event_id, send_key, event, reason, timestamp, received_at, notified_at"


class Ledger(Connections):
    async def claim_send(self, send_key: str, recipient: str, *, holder: str, lease: timedelta) -> Claim:
        checked_key("send key", send_key)
        checked_key("holder", holder)
        lease = checked_lease(lease)

        def claim(db: sqlite3.Connection) -> Claim:
            now = time.time()
            with immediate(db):  # the write lock first: the read below sees the result
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
            return Claim(won=won, entry=_send(row))

        return await self.run(claim)

    async def mark_sent(self, send_key: str, message_id: str | None) -> None:
        await self.write(
            "UPDATE sends SET status = 'sent', message_id = ?, error = NULL, holder = NULL, lease_until = NULL, "
            "updated_at = ? WHERE send_key = ? AND status <> 'sent'",
            (None if message_id is None else clean_text(message_id), _now(), checked_key("send key", send_key)),
        )

    async def mark_failed(self, send_key: str, error: str) -> None:
        await self.write(
            "UPDATE sends SET status = 'failed', error = ?, holder = NULL, lease_until = NULL, updated_at = ? "
            "WHERE send_key = ? AND status = 'attempting'",
            (clean_text(error), _now(), checked_key("send key", send_key)),
        )

    async def release_send(self, send_key: str, holder: str, error: str | None = None) -> None:
        await self.write(
            "UPDATE sends SET lease_until = NULL, error = coalesce(?, error), updated_at = ? "
            "WHERE send_key = ? AND holder = ? AND status = 'attempting'",
            (None if error is None else clean_text(error), _now(), checked_key("send key", send_key), holder),
        )

    async def get_send(self, send_key: str) -> SendEntry | None:
        checked_key("send key", send_key)
        row = await self.run(
            lambda db: db.execute(f"SELECT {_SEND_COLUMNS} FROM sends WHERE send_key = ?", (send_key,)).fetchone())
        return _send(row) if row else None

    async def list_sends(self, prefix: str | None = None) -> list[SendEntry]:
        query, args = f"SELECT {_SEND_COLUMNS} FROM sends", tuple[object, ...]()
        if prefix:
            query, args = query + " WHERE substr(send_key, 1, ?) = ?", (len(prefix), prefix)
        rows = await self.run(lambda db: db.execute(query + " ORDER BY updated_at, send_key", args).fetchall())
        return [_send(r) for r in rows]

    async def alert_once(self, send_key: str, kind: str) -> bool:
        args = (checked_key("send key", send_key), checked_key("alert kind", kind), _now())
        return await self.run(lambda db: db.execute(
            "INSERT INTO alerts (send_key, kind, raised_at) VALUES (?, ?, ?) ON CONFLICT(send_key, kind) DO NOTHING",
            args).rowcount == 1)

    async def alerted(self, send_key: str, kind: str) -> bool:
        args = (checked_key("send key", send_key), checked_key("alert kind", kind))
        return await self.run(lambda db: db.execute(
            "SELECT 1 FROM alerts WHERE send_key = ? AND kind = ?", args).fetchone() is not None)

    # ------------------------------------------------------------------ provider events

    async def record_event(self, event_id: str, send_key: str, event: str, reason: str,
                           timestamp: datetime) -> RecordedEvent:
        checked_key("event id", event_id)
        checked_key("send key", send_key)

        def record(db: sqlite3.Connection) -> RecordedEvent:
            with immediate(db):
                new = db.execute(
                    "INSERT INTO events (event_id, send_key, event, reason, timestamp, received_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(event_id) DO NOTHING",
                    (event_id, send_key, clean_text(event), clean_text(reason), _iso(timestamp), _now()),
                ).rowcount == 1
                row = db.execute(f"SELECT {_EVENT_COLUMNS} FROM events WHERE event_id = ?", (event_id,)).fetchone()
            return RecordedEvent(new=new, entry=_event(row))

        return await self.run(record)

    async def mark_notified(self, event_id: str) -> None:
        await self.write("UPDATE events SET notified_at = ? WHERE event_id = ? AND notified_at IS NULL",
                          (_now(), checked_key("event id", event_id)))

    async def list_events(self, send_key: str | None = None) -> list[EventEntry]:
        query, args = f"SELECT {_EVENT_COLUMNS} FROM events", tuple[object, ...]()
        if send_key is not None:
            query, args = query + " WHERE send_key = ?", (send_key,)
        rows = await self.run(lambda db: db.execute(query + " ORDER BY timestamp, received_at", args).fetchall())
        return [_event(r) for r in rows]


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


def _event(row: tuple) -> EventEntry:
    event_id, send_key, event, reason, timestamp, received_at, notified_at = row
    return EventEntry(event_id=event_id, send_key=send_key, event=event, reason=reason, timestamp=_moment(timestamp),
                      received_at=_moment(received_at),
                      notified_at=None if notified_at is None else _moment(notified_at))
