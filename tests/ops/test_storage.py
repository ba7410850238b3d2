"""Accord's own state, the same tests on both backends: SQLite + files, and a real PostgreSQL.

What a user would notice: an email sent twice (claims), a bounce reported twice (events),
a document shown that is not the one signed (documents).
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from accord.storage import DocumentCorrupted, DocumentMissing, Storage

pytest_plugins = ["tests.support.storage_backends"]  # the backend fixture: sqlite and postgresql

if TYPE_CHECKING:
    from tests.support.storage_backends import Backend

KEY = "partnership-acme/c1/mou/request/bea"
LEASE = timedelta(minutes=2)
# A lease that has run out by the time anyone else can look: the attempt holding it was lost.
LOST = timedelta(microseconds=1)
CONCURRENT = 25  # claims per store in the races below


# ---------------------------------------------------------------------- claims


async def test_the_first_claim_wins_and_a_sent_email_is_never_claimed_again(store: Storage):
    first = await store.claim_send(KEY, "bea", holder="attempt-1", lease=LEASE)
    assert first.won and not first.resumed
    assert (first.entry.status, first.entry.attempts, first.entry.holder) == ("attempting", 1, "attempt-1")

    await store.mark_sent(KEY, "msg-1")
    again = await store.claim_send(KEY, "bea", holder="attempt-2", lease=LEASE)
    assert not again.won
    assert (again.entry.status, again.entry.message_id, again.entry.attempts) == ("sent", "msg-1", 1)

    await store.mark_failed(KEY, "too late")  # a refusal after acceptance does not undo it
    await store.mark_sent(KEY, "msg-2")  # nor does a second acceptance change the id
    entry = await store.get_send(KEY)
    assert (entry.status, entry.message_id, entry.error, entry.recipient) == ("sent", "msg-1", None, "bea")


async def test_a_refused_email_stays_failed(store: Storage):
    await store.claim_send(KEY, "bea", holder="attempt-1", lease=LEASE)
    await store.mark_failed(KEY, "550 no such mailbox")
    again = await store.claim_send(KEY, "bea", holder="attempt-2", lease=LEASE)
    assert not again.won
    assert (again.entry.status, again.entry.error) == ("failed", "550 no such mailbox")


async def test_a_live_attempt_holds_the_key_and_an_interrupted_one_is_taken_over(store: Storage):
    await store.claim_send(KEY, "bea", holder="worker-a", lease=LEASE)
    held = await store.claim_send(KEY, "bea", holder="worker-b", lease=LEASE)
    assert not held.won and held.entry.holder == "worker-a" and held.entry.lease_until is not None

    await store.release_send(KEY, "worker-b")  # not the holder: nothing changes
    assert not (await store.claim_send(KEY, "bea", holder="worker-b", lease=LEASE)).won

    await store.release_send(KEY, "worker-a")  # its provider call failed: outcome unknown
    released = await store.get_send(KEY)
    assert (released.status, released.lease_until) == ("attempting", None)  # the interrupted attempt shows
    taken = await store.claim_send(KEY, "bea", holder="worker-b", lease=LEASE)
    assert taken.won and taken.resumed  # the provider may have it: ask before sending again
    assert (taken.entry.attempts, taken.entry.holder) == (2, "worker-b")


async def test_a_lease_that_ran_out_is_taken_over(store: Storage):
    lost = await store.claim_send(KEY, "bea", holder="killed-worker", lease=LOST)
    assert lost.won
    taken = await store.claim_send(KEY, "bea", holder="retry", lease=LEASE)
    assert taken.won and taken.resumed and taken.entry.attempts == 2


async def test_a_claim_repeated_by_its_holder_still_holds(store: Storage):
    """The answer to a claim was lost (connection dropped after commit): the same attempt
    claims again and must still be the one that sends."""
    await store.claim_send(KEY, "bea", holder="attempt-1", lease=LEASE)
    again = await store.claim_send(KEY, "bea", holder="attempt-1", lease=LEASE)
    assert again.won and not again.resumed and again.entry.attempts == 1


async def _race(backend: Backend, claim) -> list:
    """CONCURRENT claims on each of two independently opened stores, all at once."""
    async with await backend.open() as one, await backend.open() as two:
        return await asyncio.gather(*(claim(s, f"{name}-{i}") for name, s in (("a", one), ("b", two))
                                      for i in range(CONCURRENT)))


async def test_of_many_concurrent_claims_on_two_connections_exactly_one_wins(backend: Backend):
    claims = await _race(backend, lambda s, holder: s.claim_send(KEY, "bea", holder=holder, lease=LEASE))
    winners = [c for c in claims if c.won]
    assert len(winners) == 1
    winner = winners[0].entry.holder
    assert {c.entry.holder for c in claims} == {winner}  # every loser sees who holds it
    async with await backend.open() as s:
        assert (await s.get_send(KEY)).attempts == 1


async def test_of_many_concurrent_takeovers_of_an_interrupted_attempt_exactly_one_wins(backend: Backend):
    async with await backend.open() as s:
        await s.claim_send(KEY, "bea", holder="killed-worker", lease=LOST)
    claims = await _race(backend, lambda s, holder: s.claim_send(KEY, "bea", holder=holder, lease=LEASE))
    assert sum(c.won for c in claims) == 1
    async with await backend.open() as s:
        entry = await s.get_send(KEY)
    assert entry.attempts == 2 and entry.holder != "killed-worker"


async def test_sends_are_listed_by_exact_prefix(store: Storage):
    for key in ("wf_1/c/a/bea", "wf_1/c/b/amir", "wfX1/c/a/bea", "wf_10/c/a/bea"):
        await store.claim_send(key, key.rsplit("/", 1)[1], holder="h", lease=LEASE)
    # "_" and "%" are wildcards in LIKE: a prefix is matched literally.
    assert sorted(e.send_key for e in await store.list_sends("wf_1/")) == ["wf_1/c/a/bea", "wf_1/c/b/amir"]
    assert len(await store.list_sends()) == 4
    assert await store.get_send("wf_2/none") is None


async def test_hostile_keys_are_refused_before_the_database(store: Storage):
    for bad in ("", "x" * 513, "key\x00with-nul"):
        with pytest.raises(ValueError):
            await store.claim_send(bad, "bea", holder="h", lease=LEASE)
        with pytest.raises(ValueError):
            await store.record_event(bad, KEY, "bounce", "", datetime.now(UTC))
    with pytest.raises(ValueError):
        await store.claim_send(KEY, "bea", holder="h", lease=timedelta(0))
    assert await store.list_sends() == [] and await store.list_events() == []


async def test_a_released_attempt_keeps_what_the_provider_said(store: Storage):
    """For the alert of an email that keeps failing: the last answer, until the email goes out."""
    await store.claim_send(KEY, "bea", holder="attempt-1", lease=LEASE)
    await store.release_send(KEY, "attempt-1", "503 Service Unavailable\x00")
    assert (await store.get_send(KEY)).error == "503 Service Unavailable"
    await store.claim_send(KEY, "bea", holder="attempt-2", lease=LEASE)
    await store.release_send(KEY, "attempt-2")  # cancelled: nothing said, the last answer stays
    assert (await store.get_send(KEY)).error == "503 Service Unavailable"
    await store.release_send(KEY, "someone-else", "not the holder: ignored")
    assert (await store.get_send(KEY)).error == "503 Service Unavailable"
    await store.claim_send(KEY, "bea", holder="attempt-3", lease=LEASE)
    await store.mark_sent(KEY, "msg-1")
    assert (await store.get_send(KEY)).error is None


# ---------------------------------------------------------------------- alerts to ops


async def test_ops_are_alerted_once_per_send_and_kind_whichever_instance_notices(backend: Backend):
    async with await backend.open() as one, await backend.open() as two:
        assert not await one.alerted(KEY, "delayed")
        raised = await asyncio.gather(*(s.alert_once(KEY, "delayed") for s in (one, two) for _ in range(CONCURRENT)))
        assert sum(raised) == 1
        assert await two.alerted(KEY, "delayed") and not await two.alerted(KEY, "another-kind")
        assert not await one.alerted("other/key", "delayed")
    with pytest.raises(ValueError):
        async with await backend.open() as s:
            await s.alert_once("x" * 600, "delayed")


# ---------------------------------------------------------------------- provider events


async def test_an_event_is_recorded_once_and_its_notice_remembered(store: Storage):
    at = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    first = await store.record_event("sg-1", KEY, "bounce", "550 unknown\x00 user", at)
    assert first.new and first.entry.notified_at is None
    assert (first.entry.reason, first.entry.timestamp) == ("550 unknown user", at)  # NUL dropped, time kept

    again = await store.record_event("sg-1", KEY, "bounce", "retried delivery", at)
    assert not again.new and again.entry.reason == "550 unknown user"

    await store.mark_notified("sg-1")
    told = await store.record_event("sg-1", KEY, "bounce", "", at)
    assert not told.new and told.entry.notified_at is not None  # the webhook will not tell the workflow twice

    await store.record_event("sg-0", KEY, "delivered", "", at - timedelta(minutes=5))
    await store.record_event("sg-x", "other/key", "delivered", "", at)
    assert [e.event_id for e in await store.list_events(KEY)] == ["sg-0", "sg-1"]  # in the order they happened
    assert len(await store.list_events()) == 3


async def test_an_event_delivered_to_two_web_instances_at_once_is_recorded_once(backend: Backend):
    at = datetime.now(UTC)
    async with await backend.open() as one, await backend.open() as two:
        recorded = await asyncio.gather(*(s.record_event("sg-dup", KEY, "dropped", "spam", at)
                                          for s in (one, two) for _ in range(CONCURRENT)))
        assert sum(r.new for r in recorded) == 1
        assert len(await one.list_events(KEY)) == 1


# ---------------------------------------------------------------------- documents


MOU = "# Memorandum of understanding\n\nAcme & Beta agree — «ça va» 🤝\n\x00 and a NUL\n"


async def test_a_document_round_trips_under_its_hash(store: Storage):
    import hashlib

    digest = await store.put_document(MOU)
    assert digest == hashlib.sha256(MOU.encode()).hexdigest()
    assert await store.put_document(MOU) == digest  # storing it again is harmless
    assert await store.get_document(digest) == MOU
    assert await store.has_document(digest)


async def test_a_document_from_another_instance_is_readable(backend: Backend):
    async with await backend.open() as worker, await backend.open() as web:
        digest = await worker.put_document(MOU)
        assert await web.get_document(digest) == MOU


async def test_a_damaged_document_is_never_returned(backend: Backend, store: Storage):
    digest = await store.put_document(MOU)
    await backend.damage(digest, MOU.replace("agree", "do not agree"))
    with pytest.raises(DocumentCorrupted, match="no longer matches its hash"):
        await store.get_document(digest)
    with pytest.raises(ValueError):  # what the web pages catch today
        await store.get_document(digest)


async def test_missing_and_malformed_hashes(store: Storage):
    absent = "0" * 64
    with pytest.raises(DocumentMissing):
        await store.get_document(absent)
    for bad in ("../../../etc/passwd", "A" * 64, "0" * 63, ""):
        with pytest.raises(KeyError):  # what the web pages catch today
            await store.get_document(bad)
        assert not await store.has_document(bad)
    assert not await store.has_document(absent)


async def test_concurrent_writers_of_one_document_leave_it_whole(backend: Backend):
    text = MOU * 2000  # large enough for writes to overlap
    async with await backend.open() as one, await backend.open() as two:
        digests = await asyncio.gather(*(s.put_document(text) for s in (one, two) for _ in range(8)))
        assert Counter(digests).most_common(1)[0][1] == 16
        assert await two.get_document(digests[0]) == text


# ---------------------------------------------------------------------- opening and sharing


async def test_a_long_lived_process_shares_one_store_opened_on_first_use(backend: Backend):
    from accord.storage import SharedStorage

    shared = SharedStorage(backend.settings())  # made without awaiting, as activities_for and create_app need
    first, second = await asyncio.gather(shared.open(), shared.open())
    assert first is second  # opened once, however many requests arrive together
    digest = await shared.put_document(MOU)
    await shared.claim_send(KEY, "bea", holder="h", lease=LEASE)
    await shared.close()
    assert await shared.get_document(digest) == MOU  # opened again on use
    assert (await shared.get_send(KEY)).holder == "h"
    await shared.close()


async def test_an_activity_attempt_holds_its_claim_for_as_long_as_temporal_lets_it_run():
    from temporalio import activity
    from temporalio.testing import ActivityEnvironment

    from accord.storage import holder_of, lease_of

    @activity.defn
    async def probe() -> tuple[str, timedelta]:
        return holder_of(activity.info()), lease_of(activity.info())

    env = ActivityEnvironment()
    first_holder, lease = await env.run(probe)
    assert lease == env.info.start_to_close_timeout
    env.info = dataclasses.replace(env.info, attempt=env.info.attempt + 1)
    retry_holder, _ = await env.run(probe)
    assert retry_holder != first_holder  # the retry is not mistaken for the attempt it replaces
    assert (await env.run(probe))[0] == retry_holder  # the same attempt claiming again is itself


# ---------------------------------------------------------------------- SQLite: a shared file


async def test_sqlite_waits_for_a_locked_database_without_blocking_the_event_loop(tmp_path):
    from accord.storage.sqlite import SqliteStorage

    async with await SqliteStorage.open(tmp_path) as store:
        other = sqlite3.connect(tmp_path / "ledger.sqlite", isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")  # another process in the middle of a write
        claim = asyncio.create_task(store.claim_send(KEY, "bea", holder="h", lease=LEASE))
        await asyncio.sleep(0.3)  # the loop runs on while the claim waits for the lock
        assert not claim.done()
        other.execute("COMMIT")
        other.close()
        assert (await claim).won


async def test_sqlite_reports_a_database_locked_too_long_as_unavailable(tmp_path, monkeypatch):
    from accord.storage import StorageUnavailable
    from accord.storage import sqlite as backend_module
    from accord.storage.sqlite import connection

    async with await backend_module.SqliteStorage.open(tmp_path):
        pass  # the file exists, migrated
    monkeypatch.setattr(connection, "LOCK_WAIT", 0.3)
    other = sqlite3.connect(tmp_path / "ledger.sqlite", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        async with await backend_module.SqliteStorage.open(tmp_path) as store:
            with pytest.raises(StorageUnavailable, match="stayed locked for 0.3 s"):
                await store.claim_send(KEY, "bea", holder="h", lease=LEASE)
    finally:
        other.execute("COMMIT")
        other.close()
