"""The storage interface for Accord's own state, and the records it hands back.

Five kinds of state, nothing else: the send ledger (one row per send key), the alerts ops
were given about sends (once per send key and kind), provider events (one row per provider
event id), documents (content-addressed by SHA-256), and sign-in state for the web app
(sessions, and one-time sign-in tickets). Signing keys and
API keys are configuration, never storage. Sessions and tickets are kept by the SHA-256 of
their secret only: what the database holds cannot be presented as a cookie or a link.

Every operation is a coroutine; backends never block the event loop. Keys and ids that
come from outside (a webhook's event id and send key) are checked here, the same way for
every backend, so hostile input is refused with a ValueError rather than a database error.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Self

from accord.config import ConfigError
from accord.logic import zones

SendStatus = Literal["attempting", "sent", "failed"]
Role = Literal["ops", "viewer"]
ROLES: frozenset[str] = frozenset({"ops", "viewer"})

# Longer keys are refused: PostgreSQL cannot index a text value of a few kilobytes, and no
# key Accord makes comes near this (a send key is workflow id / chain / purpose / recipient).
MAX_KEY_CHARS = 512
# Free text (a provider's bounce reason, a refusal message) is kept to this many characters.
MAX_TEXT_CHARS = 2000
_DIGEST = re.compile(r"[0-9a-f]{64}")


class StorageError(RuntimeError):
    """Accord's state cannot be read or written (the base of the errors below)."""


class StorageUnavailable(StorageError):
    """The database cannot be reached, or stayed locked past the wait: try again later."""


class SchemaNotCurrent(StorageError, ConfigError):
    """The PostgreSQL schema is older than this code needs: run `accord setup`.

    A ConfigError too, so a process that meets it at start stops with one clear line."""


class StorageMisconfigured(StorageError, ConfigError):
    """ACCORD_DATABASE_URL cannot name a PostgreSQL database (a ConfigError: stop at start)."""


class DocumentMissing(KeyError):
    """No document is stored under this hash (or the hash is not a SHA-256 hex digest)."""


class DocumentCorrupted(ValueError):
    """The stored text no longer matches its hash: it was damaged or altered."""


@dataclass(frozen=True)
class SendEntry:
    """One send key in the ledger.

    ``attempting`` with a ``holder`` whose ``lease_until`` has not passed: an attempt is
    calling the provider now. ``attempting`` otherwise: an attempt was interrupted and its
    outcome is unknown (the provider may have accepted the email)."""

    send_key: str
    status: SendStatus
    recipient: str
    attempts: int
    message_id: str | None
    error: str | None
    holder: str | None
    lease_until: datetime | None
    updated_at: datetime


@dataclass(frozen=True)
class Claim:
    """What a claim found. ``won``: this caller holds the send key now (it was new, or its
    earlier attempt was interrupted) and must deliver, or first ask the provider if
    ``resumed``. Not won: ``entry`` says why (sent, failed, or held by a live attempt)."""

    won: bool
    entry: SendEntry

    @property
    def resumed(self) -> bool:
        """Won over an interrupted attempt: the provider may already have the email."""
        return self.won and self.entry.attempts > 1


@dataclass(frozen=True)
class EventEntry:
    """One provider event (delivered, bounce, dropped...) about one send key."""

    event_id: str
    send_key: str
    event: str
    reason: str
    timestamp: datetime
    received_at: datetime
    notified_at: datetime | None


@dataclass(frozen=True)
class RecordedEvent:
    """``new``: this call stored the event; otherwise it was stored before, as ``entry`` shows
    (``entry.notified_at`` says whether the workflow has been told)."""

    new: bool
    entry: EventEntry


@dataclass(frozen=True)
class SessionEntry:
    """A signed-in person's session. ``role`` None: signed in, but given no role."""

    id_hash: str
    person: str
    role: Role | None
    via: str  # how they signed in: "oidc" (the identity provider) or "local" (the one-time link)
    created_at: datetime
    expires_at: datetime
    # The IANA zone their pages show times in (the identity provider's ``zoneinfo`` claim, or
    # the machine's zone for the local link); None: UTC. Sessions made before it was kept have none.
    zone: str | None = None


class Storage(ABC):
    """Accord's own state. Use as ``async with await open_storage(settings) as store``."""

    # ------------------------------------------------------------------ send ledger

    @abstractmethod
    async def claim_send(self, send_key: str, recipient: str, *, holder: str, lease: timedelta) -> Claim:
        """Claim a send key before the provider is called, in one atomic write.

        Wins when the key is new (a row ``attempting``, attempts 1), or when it is
        ``attempting`` without a live holder (an interrupted attempt: attempts + 1), or when
        ``holder`` already holds it (a claim repeated after a lost answer: attempts
        unchanged). The winner holds it until ``lease`` has passed (server time on
        PostgreSQL), or until it marks it sent, failed or released. Of any number of
        concurrent claims, on any number of hosts, exactly one wins. A ``sent`` or
        ``failed`` key is never claimed again."""

    @abstractmethod
    async def mark_sent(self, send_key: str, message_id: str | None) -> None:
        """The provider accepted the email (``message_id`` is its id, if it gave one).

        Final: a key already sent keeps its first message id."""

    @abstractmethod
    async def mark_failed(self, send_key: str, error: str) -> None:
        """The provider refused the email for good. Only an ``attempting`` key changes: an
        email another attempt got accepted stays sent."""

    @abstractmethod
    async def release_send(self, send_key: str, holder: str, error: str | None = None) -> None:
        """``holder``'s attempt ended without knowing the outcome (a retryable provider
        error, a timeout, a cancellation): the key stays ``attempting`` and the next claim
        may take it at once instead of waiting for the lease. ``error``, if given, is what
        the provider said: kept in the entry for the alert of an email that keeps failing.
        A no-op for other holders."""

    @abstractmethod
    async def get_send(self, send_key: str) -> SendEntry | None:
        """The ledger row of one send key, or None if it was never claimed."""

    @abstractmethod
    async def list_sends(self, prefix: str | None = None) -> list[SendEntry]:
        """Every send whose key starts with ``prefix`` (all when None; a workflow's sends
        with ``f"{workflow_id}/"``), oldest change first."""

    # ------------------------------------------------------------------ alerts to ops

    @abstractmethod
    async def alert_once(self, send_key: str, kind: str) -> bool:
        """Remember that ops were alerted about this send (``kind``: e.g. "delayed"); False if
        they had been already. Of concurrent calls on any number of hosts, one gets True."""

    @abstractmethod
    async def alerted(self, send_key: str, kind: str) -> bool:
        """Whether ops were alerted about this send for this ``kind``."""

    # ------------------------------------------------------------------ provider events

    @abstractmethod
    async def record_event(self, event_id: str, send_key: str, event: str, reason: str,
                           timestamp: datetime) -> RecordedEvent:
        """Store one provider event once per ``event_id`` (providers deliver at least once).

        Returns whether this call stored it, and the stored row either way."""

    @abstractmethod
    async def mark_notified(self, event_id: str) -> None:
        """The workflow has been told about this event (or cannot be: it no longer exists)."""

    @abstractmethod
    async def list_events(self, send_key: str | None = None) -> list[EventEntry]:
        """The events of one send key (all when None), in the order they happened."""

    # ------------------------------------------------------------------ documents

    @abstractmethod
    async def put_document(self, text: str) -> str:
        """Store a document under the SHA-256 of its UTF-8 text; return that hex digest.
        Storing the same text again is harmless."""

    @abstractmethod
    async def get_document(self, digest: str) -> str:
        """The text stored under ``digest``, checked against it.

        Raises DocumentMissing (a KeyError) or DocumentCorrupted (a ValueError)."""

    @abstractmethod
    async def has_document(self, digest: str) -> bool:
        """Whether a document is stored under ``digest`` (False for anything not a digest)."""

    # ------------------------------------------------------------------ sign-in

    @abstractmethod
    async def create_session(self, id_hash: str, person: str, role: Role | None, via: str, *,
                             lifetime: timedelta, zone: str | None = None) -> SessionEntry:
        """Keep a new session under the SHA-256 of its id, ending after ``lifetime`` (server
        time on PostgreSQL), with the person's time zone (``zone``, checked: ValueError if the
        zone database does not know it). Sessions and tickets that have expired are deleted on
        the way."""

    @abstractmethod
    async def get_session(self, id_hash: str) -> SessionEntry | None:
        """The session, or None if there is none under this hash, or it has expired or ended."""

    @abstractmethod
    async def end_session(self, id_hash: str) -> None:
        """Sign-out: the session is gone for every web instance at once. A no-op if unknown."""

    @abstractmethod
    async def put_ticket(self, id_hash: str, kind: str, data: str, *, lifetime: timedelta) -> None:
        """Keep a one-time ticket (a sign-in in progress, a local sign-in link) for ``lifetime``."""

    @abstractmethod
    async def take_ticket(self, id_hash: str, kind: str) -> str | None:
        """A ticket's data, removing it in the same atomic step: of any number of concurrent
        takes, on any number of hosts, one gets it. None if unknown, taken, or expired."""

    # ------------------------------------------------------------------ lifecycle

    @abstractmethod
    async def close(self) -> None:
        """Release connections and threads; the store is not used afterwards."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


# ---------------------------------------------------------------------- shared checks


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verified_text(data: bytes, digest: str) -> str:
    """A stored document's bytes as its text, refused unless they are still what was stored."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DocumentCorrupted(f"document {digest} is corrupted: it is no longer UTF-8 text") from None
    if content_hash(text) != digest:
        raise DocumentCorrupted(f"document {digest} is corrupted: its content no longer matches its hash")
    return text


def is_digest(value: object) -> bool:
    return isinstance(value, str) and _DIGEST.fullmatch(value) is not None


def checked_key(what: str, value: str) -> str:
    """A key or id as it may be stored: non-empty, bounded, no NUL (PostgreSQL refuses it)."""
    if not isinstance(value, str) or not value or len(value) > MAX_KEY_CHARS or "\x00" in value:
        raise ValueError(f"{what} must be 1 to {MAX_KEY_CHARS} characters without NUL")
    return value


def clean_text(value: str | None) -> str:
    """Free text as stored: bounded, NUL removed (PostgreSQL text cannot hold it)."""
    return (value or "").replace("\x00", "")[:MAX_TEXT_CHARS]


def checked_lease(lease: timedelta) -> timedelta:
    if lease <= timedelta(0):
        raise ValueError("a claim's lease must be positive")
    return lease


def checked_digest(what: str, value: str) -> str:
    """A session or ticket is stored under a SHA-256 hex digest, never under its secret."""
    if not is_digest(value):
        raise ValueError(f"{what} must be a SHA-256 hex digest")
    return value


def checked_role(role: str | None) -> Role | None:
    if role is not None and role not in ROLES:
        raise ValueError(f"a role is one of {sorted(ROLES)} (or none), not {role!r}")
    return role  # type: ignore[return-value]  # checked against ROLES just above


# A ticket's data is a little JSON Accord writes (a nonce, a PKCE verifier, a page to return to).
MAX_TICKET_CHARS = 4000


def checked_ticket(data: str) -> str:
    if not isinstance(data, str) or len(data) > MAX_TICKET_CHARS or "\x00" in data:
        raise ValueError(f"a ticket's data must be at most {MAX_TICKET_CHARS} characters without NUL")
    return data


def checked_zone(zone: str | None) -> str | None:
    """A session's zone: None, or a name the pinned zone database knows (accord.logic.zones)."""
    if zone is not None and (wrong := zones.problem(zone)) is not None:
        raise ValueError(f"a session's time zone: {wrong}")
    return zone


def checked_lifetime(lifetime: timedelta) -> timedelta:
    if lifetime <= timedelta(0):
        raise ValueError("a session's or ticket's lifetime must be positive")
    return lifetime
