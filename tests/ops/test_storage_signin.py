"""The web app's sign-in state on both backends (SQLite, and a real PostgreSQL): sessions that
end for every web instance at once, and one-time tickets that really work once.

What a user would notice: a cookie that still works after signing out or after its time, a
one-time sign-in link that works twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from accord.storage import Storage

pytest_plugins = ["tests.support.storage_backends"]  # the backend fixture: sqlite and postgresql

if TYPE_CHECKING:
    from tests.support.storage_backends import Backend

HOURS = timedelta(hours=8)
LOST = timedelta(microseconds=1)  # over by the time anyone can look
CONCURRENT = 25


def new_hash() -> str:
    return hashlib.sha256(secrets.token_bytes(32)).hexdigest()


async def test_a_session_is_found_by_its_hash_until_it_is_ended_on_any_instance(backend: Backend):
    session = new_hash()
    async with await backend.open() as web_a, await backend.open() as web_b:
        made = await web_a.create_session(session, "alice@example.org", "ops", "oidc", lifetime=HOURS)
        assert (made.person, made.role, made.via) == ("alice@example.org", "ops", "oidc")
        found = await web_b.get_session(session)  # the other web instance knows it
        assert found is not None and (found.person, found.role, found.via) == ("alice@example.org", "ops", "oidc")
        assert timedelta(hours=7, minutes=59) < found.expires_at - found.created_at <= HOURS

        await web_b.end_session(session)  # signed out on one instance...
        assert await web_a.get_session(session) is None  # ...refused on every one
        await web_a.end_session(session)  # twice is harmless


async def test_a_session_past_its_lifetime_is_refused(store: Storage):
    expired, alive = new_hash(), new_hash()
    await store.create_session(expired, "bob@example.org", "viewer", "oidc", lifetime=LOST)
    await store.create_session(alive, "carol@example.org", None, "oidc", lifetime=HOURS)
    assert await store.get_session(expired) is None
    kept = await store.get_session(alive)
    assert kept is not None and kept.role is None  # signed in with no role is still a session


async def test_a_session_keeps_its_persons_time_zone_and_refuses_one_that_is_none(backend: Backend):
    dana, erin = new_hash(), new_hash()
    async with await backend.open() as web_a, await backend.open() as web_b:
        await web_a.create_session(dana, "dana@example.org", "viewer", "oidc", lifetime=HOURS, zone="America/New_York")
        await web_a.create_session(erin, "erin@example.org", "viewer", "oidc", lifetime=HOURS)
        assert (await web_b.get_session(dana)).zone == "America/New_York"  # on every web instance
        assert (await web_b.get_session(erin)).zone is None  # UTC
        for bad in ("Mars/Olympus_Mons", "EST", "", "x" * 5000, "Europe/Berlin\x00", "../../etc/passwd"):
            with pytest.raises(ValueError, match="time zone"):
                await web_a.create_session(new_hash(), "mallory", "ops", "oidc", lifetime=HOURS, zone=bad)


async def test_unknown_and_malformed_session_ids_find_nothing(store: Storage):
    assert await store.get_session(new_hash()) is None
    for bad in ("", "A" * 64, "0" * 63, "' OR 1=1 --", "x" * 10_000):
        assert await store.get_session(bad) is None
        await store.end_session(bad)  # a no-op, never an error


async def test_hostile_values_are_refused_before_the_database(store: Storage):
    for bad_hash in ("", "secret-session-id", "A" * 64):
        with pytest.raises(ValueError):
            await store.create_session(bad_hash, "alice", "ops", "oidc", lifetime=HOURS)
        with pytest.raises(ValueError):
            await store.put_ticket(bad_hash, "local", "{}", lifetime=HOURS)
    with pytest.raises(ValueError):
        await store.create_session(new_hash(), "alice", "admin", "oidc", lifetime=HOURS)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await store.create_session(new_hash(), "alice", "ops", "oidc", lifetime=timedelta(0))
    with pytest.raises(ValueError):
        await store.put_ticket(new_hash(), "oidc", "x" * 4001, lifetime=HOURS)
    with pytest.raises(ValueError):
        await store.put_ticket(new_hash(), "oidc", "nul\x00", lifetime=HOURS)
    # A person's name from an identity provider is stored bounded and without NUL.
    long_name = new_hash()
    made = await store.create_session(long_name, "al\x00ice" + "e" * 5000, "ops", "oidc", lifetime=HOURS)
    assert made.person.startswith("alice") and len(made.person) <= 2000
    assert (await store.get_session(long_name)).person == made.person


async def test_a_ticket_is_taken_once_by_its_own_kind(store: Storage):
    ticket = new_hash()
    await store.put_ticket(ticket, "local", '{"role": "ops"}', lifetime=timedelta(minutes=10))
    assert await store.take_ticket(ticket, "oidc") is None  # another kind neither finds nor uses it
    assert await store.take_ticket(ticket, "local") == '{"role": "ops"}'
    assert await store.take_ticket(ticket, "local") is None  # used
    assert await store.take_ticket(new_hash(), "local") is None
    assert await store.take_ticket("not a hash", "local") is None


async def test_an_expired_ticket_is_refused(store: Storage):
    ticket = new_hash()
    await store.put_ticket(ticket, "local", "{}", lifetime=LOST)
    assert await store.take_ticket(ticket, "local") is None


async def test_of_many_concurrent_takes_of_one_ticket_on_two_instances_one_gets_it(backend: Backend):
    ticket = new_hash()
    async with await backend.open() as one, await backend.open() as two:
        await one.put_ticket(ticket, "local", '{"n": 1}', lifetime=timedelta(minutes=10))
        taken = await asyncio.gather(*(s.take_ticket(ticket, "local") for s in (one, two) for _ in range(CONCURRENT)))
    assert taken.count('{"n": 1}') == 1 and taken.count(None) == 2 * CONCURRENT - 1
