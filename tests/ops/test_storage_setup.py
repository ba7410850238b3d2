"""Getting Accord's state in place: PostgreSQL migrations, an existing data folder kept working
(SQLite) or moved (into PostgreSQL), and the operator's commands: `accord setup`, `accord config check`.

The data folders here are written the way the previous releases' Ledger and DocumentStore
classes wrote them (the same tables, columns, statements and file layout; tests/support/old_data.py),
so what is tested is what a running install has on disk.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from accord.cli import app
from accord.config import Settings
from accord.storage import SchemaNotCurrent, migrations, open_storage
from accord.storage.importer import import_folder
from accord.storage.postgres import PostgresStorage
from accord.storage.sqlite import SqliteStorage
from accord.storage.sqlite import schema as sqlite_schema
from tests.support.old_data import OldDocuments, OldLedger

SENT, FAILED, INTERRUPTED = "wf-1/c1/task/assigned/0/bea", "wf-1/c1/mou/request/amir", "wf-2/c1/statement/cara"
AT = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
MOU_V1 = "# MOU v1\n\nAcme and Beta agree.\n"
MOU_V2 = "# MOU v2\n\nAcme and Beta agree — with a pilot.\n"


def old_data_folder(folder: Path) -> dict[str, str]:
    """A data folder as today's code leaves it: the ledger, events, documents, one damaged."""
    ledger = OldLedger(folder / "ledger.sqlite")
    for key, who in ((SENT, "bea"), (FAILED, "amir"), (INTERRUPTED, "cara")):
        ledger.attempting(key, who)
    ledger.sent(SENT, "sg-msg-1")
    ledger.failed(FAILED, "550 mailbox unavailable")
    ledger.record_event("ev-1", SENT, "delivered", "250 ok", AT)
    ledger.record_event("ev-2", FAILED, "bounce", "550 mailbox unavailable", AT + timedelta(seconds=5))
    ledger.mark_notified("ev-2")
    ledger.alert(INTERRUPTED, "delayed")  # ops were told it kept failing
    store = OldDocuments(folder / "documents")
    digests = {"v1": store.put(MOU_V1), "v2": store.put(MOU_V2), "damaged": store.put("# to be damaged\n")}
    (folder / "documents" / digests["damaged"][:2] / f"{digests['damaged']}.md").write_text("# altered\n")
    return digests


async def cli(args: list[str], **env: str):
    return await asyncio.to_thread(CliRunner().invoke, app, args, env=env)


# ---------------------------------------------------------------------- migrations


async def test_an_empty_database_is_refused_until_setup_migrates_it(postgres_db: str):
    with pytest.raises(SchemaNotCurrent, match=r"has no Accord schema.*run `accord setup`"):
        await PostgresStorage.open(postgres_db)
    applied = await migrations.apply(postgres_db)
    assert [m.version for m in applied] == [m.version for m in migrations.MIGRATIONS]
    assert await migrations.apply(postgres_db) == []  # again: nothing to do, nothing changed
    async with await psycopg.AsyncConnection.connect(postgres_db) as conn:
        rows = await (await conn.execute("SELECT version FROM accord_schema_version ORDER BY version")).fetchall()
    assert rows == [(m.version,) for m in migrations.MIGRATIONS]
    async with await PostgresStorage.open(postgres_db) as store:
        assert await store.list_sends() == []


async def test_two_setups_at_once_apply_each_migration_once(postgres_db: str):
    results = await asyncio.gather(*(migrations.apply(postgres_db) for _ in range(3)))
    assert sorted(len(r) for r in results) == [0, 0, len(migrations.MIGRATIONS)]


async def test_a_schema_behind_the_code_is_refused_and_migrated_forward(postgres_db: str, monkeypatch):
    await migrations.apply(postgres_db)
    async with await PostgresStorage.open(postgres_db) as store:
        await store.put_document(MOU_V1)
    # The next release adds a migration: processes of that release refuse this database...
    nxt = migrations.Migration(migrations.LATEST + 1, "a column for the next release",
                               "ALTER TABLE accord_documents ADD COLUMN media_type text")
    monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, nxt))
    monkeypatch.setattr(migrations, "LATEST", nxt.version)
    with pytest.raises(SchemaNotCurrent, match=rf"has schema version {nxt.version - 1}; this Accord needs version "
                                               rf"{nxt.version}: run `accord setup`"):
        await PostgresStorage.open(postgres_db)
    # ...until its setup applies just that one; what was stored stays.
    assert await migrations.apply(postgres_db) == [nxt]
    async with await PostgresStorage.open(postgres_db) as store:
        assert await store.get_document(await store.put_document(MOU_V1)) == MOU_V1
    # A process of the previous release still starts on the newer schema (rolling upgrade).
    monkeypatch.undo()
    async with await PostgresStorage.open(postgres_db):
        pass


PREVIOUS_SESSION = "a" * 64  # the SHA-256 of a cookie the previous release handed out


async def _as_previous_release_left_it(backend: str, folder: Path, url: str | None, monkeypatch) -> None:
    """Accord's state as the release before session zones left it (SQLite schema 3, PostgreSQL
    migration 3), with a signed-in person's session written by that release's own statement."""
    with monkeypatch.context() as previous:
        if backend == "sqlite":
            previous.setattr(sqlite_schema, "SCHEMA_VERSION", 3)
            previous.setattr(sqlite_schema, "_V4_SESSION_COLUMNS", {})
            async with await SqliteStorage.open(folder):
                pass
            with closing(sqlite3.connect(folder / "ledger.sqlite")) as db, db:
                assert db.execute("PRAGMA user_version").fetchone() == (3,)
                db.execute("INSERT INTO sessions (id_sha256, person, role, via, created_at, expires_at) "
                           "VALUES (?, ?, ?, ?, ?, ?)", (PREVIOUS_SESSION, "alice@example.org", "ops", "oidc",
                                                         time.time(), time.time() + 3600))
            return
        previous.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:3])
        previous.setattr(migrations, "LATEST", 3)
        await migrations.apply(url)
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await conn.execute("INSERT INTO accord_sessions (id_sha256, person, role, via, expires_at) "
                               "VALUES (%s, %s, %s, %s, now() + %s)",
                               (PREVIOUS_SESSION, "alice@example.org", "ops", "oidc", timedelta(hours=1)))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_sessions_of_the_previous_release_survive_the_time_zone_migration(backend, tmp_path, request, monkeypatch):
    """Someone signed in before the upgrade stays signed in (their pages in UTC until they sign
    in again); new sessions keep their zone; and a web app of the previous release, still
    running while it is replaced, keeps signing people in on the migrated schema."""
    url = request.getfixturevalue("postgres_db") if backend == "postgresql" else None
    await _as_previous_release_left_it(backend, tmp_path, url, monkeypatch)
    settings = Settings(data_dir=tmp_path, database_url=url)
    if url is not None:
        with pytest.raises(SchemaNotCurrent, match="version 3; this Accord needs version 4"):
            await open_storage(settings)
        assert [m.version for m in await migrations.apply(url)] == [4]  # what `accord setup` does
    async with await open_storage(settings) as store:  # SQLite: opening migrates
        kept = await store.get_session(PREVIOUS_SESSION)
        assert kept is not None and (kept.person, kept.role, kept.zone) == ("alice@example.org", "ops", None)
        fresh = "b" * 64
        await store.create_session(fresh, "dana@example.org", "viewer", "oidc", lifetime=timedelta(hours=1),
                                   zone="America/New_York")
        assert (await store.get_session(fresh)).zone == "America/New_York"
        # The previous release's web app signs someone in with its own statement, on the new schema.
        older = "c" * 64
        if url is None:
            with closing(sqlite3.connect(tmp_path / "ledger.sqlite")) as db, db:
                assert db.execute("PRAGMA user_version").fetchone() == (4,)
                db.execute("INSERT INTO sessions (id_sha256, person, role, via, created_at, expires_at) "
                           "VALUES (?, ?, ?, ?, ?, ?)", (older, "bob@example.org", "viewer", "oidc",
                                                         time.time(), time.time() + 3600))
        else:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                await conn.execute("INSERT INTO accord_sessions (id_sha256, person, role, via, expires_at) "
                                   "VALUES (%s, %s, %s, %s, now() + %s)",
                                   (older, "bob@example.org", "viewer", "oidc", timedelta(hours=1)))
        assert (await store.get_session(older)).zone is None


# ---------------------------------------------------------------------- existing data folders


async def test_an_existing_data_folder_keeps_working_with_the_sqlite_backend(tmp_path: Path):
    digests = old_data_folder(tmp_path)
    async with await SqliteStorage.open(tmp_path) as store:
        sends = {e.send_key: (e.status, e.message_id, e.error, e.recipient) for e in await store.list_sends()}
        assert sends == {SENT: ("sent", "sg-msg-1", None, "bea"), FAILED: ("failed", None, "550 mailbox unavailable", "amir"),
                         INTERRUPTED: ("attempting", None, None, "cara")}
        events = await store.list_events()
        assert [(e.event_id, e.timestamp, e.notified_at is not None) for e in events] == \
            [("ev-1", AT, False), ("ev-2", AT + timedelta(seconds=5), True)]
        assert await store.get_document(digests["v2"]) == MOU_V2
        assert await store.alerted(INTERRUPTED, "delayed") and not await store.alert_once(INTERRUPTED, "delayed")
        # The interrupted attempt from before the upgrade is taken over, as it always was.
        taken = await store.claim_send(INTERRUPTED, "cara", holder="new-worker", lease=timedelta(minutes=2))
        assert taken.won and taken.resumed and taken.entry.attempts == 2
        assert not (await store.claim_send(SENT, "bea", holder="new-worker", lease=timedelta(minutes=2))).won
    # And the previous release still reads and writes the migrated file (workers not yet upgraded).
    old = OldLedger(tmp_path / "ledger.sqlite")
    assert old.status(INTERRUPTED) == ("attempting", None) and old.status(SENT) == ("sent", "sg-msg-1")
    old.sent(INTERRUPTED, "sg-msg-3")
    async with await SqliteStorage.open(tmp_path) as store:
        assert (await store.get_send(INTERRUPTED)).status == "sent"


async def test_a_data_folder_is_imported_into_postgresql_once(tmp_path: Path, postgres_db: str):
    digests = old_data_folder(tmp_path)
    await migrations.apply(postgres_db)
    async with await PostgresStorage.open(postgres_db) as store:
        report = await import_folder(tmp_path, store)
        assert (report.sends_read, report.sends_written, report.events_read, report.events_written,
                report.documents_read, report.documents_written, report.alerts_read, report.alerts_written) == \
            (3, 3, 2, 2, 3, 2, 1, 1)
        assert report.skipped == [f"document {digests['damaged']}: its content no longer matches its hash (damaged)"]

        sends = {e.send_key: (e.status, e.message_id, e.error, e.recipient, e.attempts) for e in await store.list_sends()}
        assert sends == {SENT: ("sent", "sg-msg-1", None, "bea", 1),
                         FAILED: ("failed", None, "550 mailbox unavailable", "amir", 1),
                         INTERRUPTED: ("attempting", None, None, "cara", 1)}
        events = await store.list_events()
        assert [(e.event_id, e.send_key, e.event, e.timestamp, e.notified_at is not None) for e in events] == \
            [("ev-1", SENT, "delivered", AT, False), ("ev-2", FAILED, "bounce", AT + timedelta(seconds=5), True)]
        assert await store.get_document(digests["v1"]) == MOU_V1
        assert not await store.has_document(digests["damaged"])  # never stored under a hash it no longer has
        assert await store.alerted(INTERRUPTED, "delayed")  # ops are not alerted about it again

        again = await import_folder(tmp_path, store)
        assert (again.sends_written, again.events_written, again.documents_written, again.alerts_written) == (0, 0, 0, 0)

        # The old host went on a little before it was stopped: importing again brings only that.
        OldLedger(tmp_path / "ledger.sqlite").sent(INTERRUPTED, "sg-msg-3")
        v3 = OldDocuments(tmp_path / "documents").put("# MOU v3\n")
        later = await import_folder(tmp_path, store)
        assert (later.sends_written, later.events_written, later.documents_written) == (1, 0, 1)
        assert (await store.get_send(INTERRUPTED)).message_id == "sg-msg-3"
        assert await store.get_document(v3) == "# MOU v3\n"


async def test_a_folder_without_state_is_not_imported(tmp_path: Path, postgres_db: str):
    from accord.storage import StorageError

    await migrations.apply(postgres_db)
    async with await PostgresStorage.open(postgres_db) as store:
        with pytest.raises(StorageError, match="holds no Accord state"):
            await import_folder(tmp_path / "nothing-here", store)
        (tmp_path / "ledger.sqlite").write_text("not a database")
        with pytest.raises(StorageError, match="cannot be read as a send ledger"):
            await import_folder(tmp_path, store)


# ---------------------------------------------------------------------- the commands


async def test_setup_migrates_imports_and_registers_and_config_check_says_so(dev_env, tmp_path: Path, postgres_server):
    address = dev_env.client.service_client.config.target_host
    folder = tmp_path / "old-accord"
    old_data_folder(folder)
    url = postgres_server.create_database()
    env = {"ACCORD_DATABASE_URL": url, "ACCORD_DATA_DIR": str(tmp_path / "unused")}

    behind = await cli(["config", "check", "--connect", "--address", address], **env)
    assert behind.exit_code == 1, behind.output
    assert "database_url: the PostgreSQL database at" in behind.output and "run `accord setup`" in behind.output
    # Shared state, shared keys: with a database, the signing keys come from configuration only.
    assert "error: signing_keys: no signing key: set ACCORD_SIGNING_KEYS" in behind.output
    assert not (tmp_path / "unused" / "signing.key").exists()
    env["ACCORD_SIGNING_KEYS"] = "k" * 43

    first = await cli(["setup", "--address", address, "--import-from", str(folder)], **env)
    assert first.exit_code == 0, first.output
    assert "schema migrated: 1 (send ledger, provider events, documents)" in first.output
    assert (f"imported {folder}: sends 3 new or completed of 3, events 2 new of 2, documents 2 new of 3, "
            "alerts 1 new of 1, 1 skipped") in first.output
    assert "skipped: document" in first.output
    assert "search attributes registered in default" in first.output  # what setup did before still happens

    again = await cli(["setup", "--address", address, "--import-from", str(folder)], **env)
    assert again.exit_code == 0, again.output
    assert "schema already current" in again.output and "sends 0 new or completed of 3" in again.output

    current = await cli(["config", "check", "--connect", "--address", address], **env)
    assert current.exit_code == 0, current.output
    masked = url.replace(postgres_server.password, "********")
    assert f"PostgreSQL {masked}: schema current (version {migrations.LATEST})" in current.output
    assert masked in current.output and postgres_server.password not in current.output + first.output


async def test_setup_says_clearly_what_is_wrong_with_the_database(tmp_path: Path, postgres_server):
    no_url = await cli(["setup", "--import-from", str(tmp_path)], ACCORD_DATABASE_URL="")
    assert no_url.exit_code == 1 and "set ACCORD_DATABASE_URL first" in no_url.output

    down = f"postgresql://accord:{postgres_server.password}@127.0.0.1:1/accord"
    unreachable = await cli(["setup", "--address", "127.0.0.1:1"], ACCORD_DATABASE_URL=down)
    assert unreachable.exit_code == 1
    assert "cannot connect to PostgreSQL at postgresql://accord:********@127.0.0.1:1/accord" in unreachable.output
    assert "Traceback" not in unreachable.output and postgres_server.password not in unreachable.output

    bad = await cli(["config", "check"], ACCORD_DATABASE_URL="mysql://root:pw@db/accord")
    assert bad.exit_code == 1 and "database_url: mysql://root:********@db/accord is not a postgresql:// URL" in bad.output
    not_postgres = await cli(["setup"], ACCORD_DATABASE_URL="mysql://root:pw@db/accord")
    assert not_postgres.exit_code == 1 and "is not a postgresql:// URL" in not_postgres.output
    assert "Traceback" not in not_postgres.output


async def test_a_wrong_password_or_url_is_said_before_any_pool_is_made(postgres_server):
    from accord.storage import StorageMisconfigured, StorageUnavailable

    wrong = postgres_server.url().replace(postgres_server.password, "not-the-password")
    with pytest.raises(StorageUnavailable, match='password authentication failed for user "accord"') as refused:
        await PostgresStorage.open(wrong)
    assert "not-the-password" not in str(refused.value)
    with pytest.raises(StorageMisconfigured, match="not a postgresql:// URL"):
        await PostgresStorage.open("https://db.example/accord")


# ---------------------------------------------------------------------- processes refusing to start


async def accord_process(*args: str, **env: str) -> tuple[int, str]:
    """`accord ARGS` in a process of its own (exit code, what it wrote), as an operator runs it."""
    accord = Path(sys.executable).parent / "accord"
    process = await asyncio.create_subprocess_exec(
        str(accord), *args, env={**{k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode, out.decode()


async def test_a_worker_and_a_web_app_refuse_a_schema_behind_their_code_in_one_line(postgres_db, tmp_path):
    """Started against a database `accord setup` has not prepared: one clear line, exit 1,
    before serving or taking any task, without waiting for Temporal (not running here), and
    never a traceback."""
    env = {"ACCORD_DATABASE_URL": postgres_db, "ACCORD_SIGNING_KEYS": "k" * 43, "ACCORD_DATA_DIR": str(tmp_path),
           "ACCORD_TEMPORAL_ADDRESS": "127.0.0.1:1", "ACCORD_WEB_PORT": "0"}
    for command in ("worker", "web"):
        code, said = await accord_process(command, **env)
        lines = [line for line in said.splitlines() if line.startswith("error:")]
        assert code == 1, (command, said[-2000:])
        assert len(lines) == 1 and "has no Accord schema" in lines[0] and "run `accord setup`" in lines[0], said
        assert "Traceback" not in said and postgres_db.split("@")[0].split(":")[-1] not in said  # no password


async def test_with_a_database_the_signing_keys_come_from_configuration_only(postgres_db, tmp_path):
    """An organisation's processes share their keys from configuration: none is generated in a
    host's data folder (where the other hosts could not read it), and without one nothing starts."""
    await migrations.apply(postgres_db)
    for command in ("worker", "web"):
        code, said = await accord_process(command, ACCORD_DATABASE_URL=postgres_db, ACCORD_DATA_DIR=str(tmp_path),
                                          ACCORD_TEMPORAL_ADDRESS="127.0.0.1:1")
        assert code == 1 and "error: no signing key: set ACCORD_SIGNING_KEYS" in said, (command, said[-2000:])
        assert "Traceback" not in said
    assert not (tmp_path / "signing.key").exists()
    # The embedded default keeps its generated key file.
    from accord import signing_keys

    embedded = Settings(data_dir=tmp_path, temporal_address="127.0.0.1:7233")
    assert signing_keys.check_for_start(embedded) == [(tmp_path / "signing.key").read_text()]
