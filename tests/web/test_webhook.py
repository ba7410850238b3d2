"""SendGrid's signed Event Webhook: verified over the raw body, recorded once, bounces reported.

The tests of what is recorded run on both storage backends (``backend``: SQLite and files,
and a real PostgreSQL); the hostile requests, which must record nothing, on the embedded one.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr
from temporalio.service import RPCError, RPCStatusCode

from accord.config import Settings
from accord.mail.sendgrid_backend import SendGridMailer
from accord.models import EmailEvent
from accord.storage import SharedStorage, Storage, open_storage
from accord.web.app import create_app
from accord.web.server import build_server
from tests.support.fake_sendgrid import Accepted, FakeSendGrid
from tests.support.helpers import eventually, state_where, unique
from tests.support.paths import DATA
from tests.support.workers import running_worker

pytest_plugins = ["tests.support.storage_backends"]  # the backend fixture: sqlite and postgresql

if TYPE_CHECKING:
    from tests.support.storage_backends import Backend

SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"
SEND_KEY = "partnership-p1/chain-1/mou-sign/1/bea"
WORKFLOW_ID = "partnership-p1"
SAFETY_TIMEOUT = 30  # only if something hangs; nothing waits for it to pass


class KeyPair:
    """An ECDSA P-256 key pair like the one SendGrid signs its Event Webhook with."""

    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        der = self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public = base64.b64encode(der).decode()  # as the SendGrid console shows it

    def sign(self, body: bytes, timestamp: str) -> str:
        signature = self.private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signature).decode()


class FakeAccord:
    """Records report_email_event calls; can fail like an unreachable Temporal."""

    def __init__(self) -> None:
        self.reported: list[tuple[str, EmailEvent]] = []
        self.fail_with: RPCError | None = None

    async def report_email_event(self, workflow_id: str, event: EmailEvent) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.reported.append((workflow_id, event))


@dataclass
class Hook:
    http: httpx.AsyncClient
    keys: KeyPair
    accord: FakeAccord
    store: Storage  # what the web app records, read as another instance would

    async def post(self, events: list[dict], *, keys: KeyPair | None = None, body: bytes | None = None,
                   headers: dict[str, str] | None = None) -> httpx.Response:
        raw = json.dumps(events).encode()
        return await self.http.post("/webhooks/sendgrid", content=raw if body is None else body,
                                    headers=self.signed(raw, keys=keys) if headers is None else headers)

    def signed(self, raw: bytes, *, keys: KeyPair | None = None, age: float = 0) -> dict[str, str]:
        """Headers as SendGrid sends them, signed ``age`` seconds ago (negative: in the future)."""
        timestamp = str(int(time.time() - age))
        return {SIGNATURE: (keys or self.keys).sign(raw, timestamp), TIMESTAMP: timestamp,
                "Content-Type": "application/json"}

    async def post_raw(self, raw: bytes) -> httpx.Response:
        """A body SendGrid signed, whatever it holds."""
        return await self.http.post("/webhooks/sendgrid", content=raw, headers=self.signed(raw))


@asynccontextmanager
async def webhook_app(settings: Settings, store_settings: Settings, keys: KeyPair | None = None) -> AsyncIterator[Hook]:
    """The web app with a signed webhook (``keys``: SendGrid's), its Accord state in
    ``store_settings``' storage, where SEND_KEY was sent (as a worker records it)."""
    keys = keys or KeyPair()
    configured = settings.model_copy(update={"sendgrid_webhook_public_key": keys.public})
    accord = FakeAccord()
    app_store = SharedStorage(store_settings)
    app = create_app(configured, accord, app_store)  # type: ignore[arg-type]
    async with await open_storage(store_settings) as store:
        await store.claim_send(SEND_KEY, "bea", holder="worker", lease=timedelta(minutes=2))
        await store.mark_sent(SEND_KEY, "msg-1")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.test") as http:
            yield Hook(http, keys, accord, store)
    await app_store.close()


@pytest.fixture
async def hook(settings: Settings, backend: Backend) -> AsyncIterator[Hook]:
    """The webhook on each storage backend."""
    async with webhook_app(settings, backend.settings()) as made:
        yield made


@pytest.fixture
async def local_hook(settings: Settings) -> AsyncIterator[Hook]:
    """The webhook on the embedded default's storage (for requests that must record nothing)."""
    async with webhook_app(settings, settings) as made:
        yield made


def event(name: str, event_id: str, **extra) -> dict:
    return {"email": "bea@beta.example", "timestamp": 1_760_000_000, "smtp-id": "<x@sendgrid>", "event": name,
            "sg_event_id": event_id, "sg_message_id": "msg-1.filter0001", "category": ["accord"],
            "send_key": SEND_KEY, "workflow_id": WORKFLOW_ID, **extra}


async def test_signed_events_are_recorded_once(hook):
    batch = [event("processed", "ev-1"), event("delivered", "ev-2", response="250 OK"),
             event("deferred", "ev-3", response="421 try later", attempt="1")]
    response = await hook.post(batch)
    assert response.status_code == 200
    assert response.json() == {"recorded": 3, "duplicates": 0, "ignored": 0}
    recorded = await hook.store.list_events(SEND_KEY)
    assert [(e.event, e.reason) for e in recorded] == [("processed", ""), ("delivered", "250 OK"),
                                                       ("deferred", "421 try later")]
    assert recorded[0].timestamp == datetime.fromtimestamp(1_760_000_000, UTC)

    # SendGrid delivers at least once: the same batch again changes nothing.
    again = await hook.post(batch)
    assert again.json() == {"recorded": 0, "duplicates": 3, "ignored": 0}
    assert len(await hook.store.list_events()) == 3
    assert hook.accord.reported == []  # nothing the workflow must act on


async def test_bounce_and_drop_reach_the_workflow_once(hook):
    bounce = event("bounce", "ev-b", reason="550 5.1.1 The email account does not exist", status="5.1.1",
                   type="bounce")
    response = await hook.post([bounce])
    assert response.status_code == 200
    [(workflow_id, notice)] = hook.accord.reported
    assert workflow_id == WORKFLOW_ID
    assert notice == EmailEvent(send_key=SEND_KEY, event="bounce",
                                reason="550 5.1.1 The email account does not exist", recipient="bea")
    await hook.post([bounce])  # duplicate delivery: not reported again
    assert len(hook.accord.reported) == 1

    await hook.post([event("dropped", "ev-d", reason="Bounced Address")])
    assert [(n.event, n.reason) for _, n in hook.accord.reported] == [
        ("bounce", "550 5.1.1 The email account does not exist"), ("dropped", "Bounced Address")]
    assert {e.event_id: e.notified_at is not None for e in await hook.store.list_events()} == {"ev-b": True, "ev-d": True}


async def test_temporal_unavailable_means_503_then_reported_on_redelivery(hook):
    hook.accord.fail_with = RPCError("unavailable", RPCStatusCode.UNAVAILABLE, b"")
    bounce = event("bounce", "ev-b", reason="mailbox full", type="blocked")
    assert (await hook.post([bounce])).status_code == 503
    assert [e.notified_at for e in await hook.store.list_events()] == [None]  # recorded, not yet reported

    hook.accord.fail_with = None
    assert (await hook.post([bounce])).json() == {"recorded": 0, "duplicates": 1, "ignored": 0}
    [(_, notice)] = hook.accord.reported
    assert notice.reason == "blocked: mailbox full"


async def test_bounce_for_a_finished_workflow_is_recorded_and_dropped(hook):
    hook.accord.fail_with = RPCError("workflow execution already completed", RPCStatusCode.NOT_FOUND, b"")
    assert (await hook.post([event("bounce", "ev-b", reason="gone")])).status_code == 200
    [recorded] = await hook.store.list_events()
    assert recorded.notified_at is not None  # nothing to retry


async def test_events_that_are_not_ours_are_ignored(hook):
    other = {"email": "x@y.example", "timestamp": 1_760_000_000, "event": "delivered", "sg_event_id": "ev-x"}
    unnamed = {"send_key": SEND_KEY, "sg_event_id": "ev-n", "timestamp": 1_760_000_000}
    response = await hook.post([other, unnamed, event("open", "ev-o")])
    assert response.json() == {"recorded": 1, "duplicates": 0, "ignored": 2}


async def test_event_without_id_is_still_recorded_once(hook):
    legacy = event("dropped", "", reason="Invalid")
    del legacy["sg_event_id"]
    await hook.post([legacy])
    await hook.post([legacy])
    [recorded] = await hook.store.list_events()
    assert recorded.event_id.startswith("sha256:")
    assert len(hook.accord.reported) == 1


async def test_an_event_with_an_id_or_key_too_long_to_store_is_ignored(hook):
    """SendGrid's limits are not ours: a key longer than the storage keeps is no send of ours."""
    response = await hook.post([event("bounce", "ev-" + "x" * 600), event("bounce", "ev-k", send_key="k" * 600),
                                event("bounce", "ev-nul\u0000"), event("delivered", "ev-ok")])
    assert response.json() == {"recorded": 1, "duplicates": 0, "ignored": 3}
    assert [e.event_id for e in await hook.store.list_events()] == ["ev-ok"]
    assert hook.accord.reported == []


async def test_a_batch_delivered_to_two_web_instances_at_once_is_recorded_once(settings: Settings, backend: Backend):
    """SendGrid may retry a batch while the first delivery is still being handled, and a load
    balancer may hand the two to different instances: each event is recorded once."""
    batch = [event("delivered", f"ev-{i}") for i in range(20)] + [event("bounce", "ev-b", reason="550 gone")]
    keys = KeyPair()  # one SendGrid account signs for both instances
    async with webhook_app(settings, backend.settings(), keys) as one, \
            webhook_app(settings, backend.settings(), keys) as two:
        raw = json.dumps(batch).encode()
        answers = await asyncio.gather(*(h.http.post("/webhooks/sendgrid", content=raw, headers=h.signed(raw))
                                         for h in (one, two, one, two)))
        assert [a.status_code for a in answers] == [200] * 4
        counts = [a.json() for a in answers]
        assert sum(c["recorded"] for c in counts) == len(batch)
        assert sum(c["duplicates"] for c in counts) == 3 * len(batch)
        assert sorted(e.event_id for e in await two.store.list_events()) == sorted(e["sg_event_id"] for e in batch)


async def test_the_storage_down_means_503_and_sendgrid_retries(settings: Settings, postgres_server):
    """The database cannot be reached (restarting, a network cut): SendGrid is asked to retry,
    as when Temporal is down; nothing is half recorded."""
    down = settings.model_copy(update={"database_url": SecretStr(
        f"postgresql://accord:{postgres_server.password}@127.0.0.1:1/accord"), "signing_keys": SecretStr("k" * 32)})
    keys = KeyPair()
    configured = down.model_copy(update={"sendgrid_webhook_public_key": keys.public})
    app = create_app(configured, FakeAccord())  # type: ignore[arg-type]
    raw = json.dumps([event("bounce", "ev-b", reason="550")]).encode()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.test") as http:
        hook = Hook(http, keys, FakeAccord(), None)  # type: ignore[arg-type]
        response = await http.post("/webhooks/sendgrid", content=raw, headers=hook.signed(raw))
    assert response.status_code == 503 and response.json() == {"error": "try again later"}


@pytest.mark.parametrize("case", ["tampered", "wrong key", "no signature", "no timestamp", "garbage signature",
                                  "old timestamp reused"])
async def test_unverified_requests_are_refused_and_change_nothing(local_hook, case):
    batch = [event("bounce", "ev-b", reason="550")]
    raw = json.dumps(batch).encode()
    timestamp = str(int(time.time()))
    good = {SIGNATURE: local_hook.keys.sign(raw, timestamp), TIMESTAMP: timestamp}
    if case == "tampered":
        response = await local_hook.post(batch, body=raw.replace(b"550", b"250"), headers=good)
    elif case == "wrong key":
        response = await local_hook.post(batch, keys=KeyPair())
    elif case == "no signature":
        response = await local_hook.post(batch, headers={TIMESTAMP: timestamp})
    elif case == "no timestamp":
        response = await local_hook.post(batch, headers={SIGNATURE: good[SIGNATURE]})
    elif case == "garbage signature":
        response = await local_hook.post(batch, headers={SIGNATURE: "not base64!", TIMESTAMP: timestamp})
    else:  # the signature covers the timestamp: it cannot be swapped
        response = await local_hook.post(batch, headers={SIGNATURE: good[SIGNATURE], TIMESTAMP: str(int(timestamp) - 1)})
    assert response.status_code == 403
    assert await local_hook.store.list_events() == []
    assert local_hook.accord.reported == []


async def test_without_a_configured_key_everything_is_refused(settings):
    app = create_app(settings, FakeAccord())  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.test") as http:
        response = await http.post("/webhooks/sendgrid", content=b"[]",
                                   headers={SIGNATURE: "x", TIMESTAMP: "1"})
    assert response.status_code == 403


def test_a_malformed_public_key_fails_at_startup(settings):
    with pytest.raises(ValueError, match="SENDGRID_WEBHOOK_PUBLIC_KEY"):
        create_app(settings.model_copy(update={"sendgrid_webhook_public_key": "bm90IGEga2V5"}))


async def test_pem_public_key_is_accepted(settings):
    keys = KeyPair()
    pem = keys.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    app = create_app(settings.model_copy(update={"sendgrid_webhook_public_key": pem}), FakeAccord())  # type: ignore[arg-type]
    raw = json.dumps([event("delivered", "ev-1")]).encode()
    now = str(int(time.time()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.test") as http:
        response = await http.post("/webhooks/sendgrid", content=raw,
                                   headers={SIGNATURE: keys.sign(raw, now), TIMESTAMP: now})
    assert response.status_code == 200


async def test_a_bounce_reaches_the_running_partnership(ts_env, settings, accord_for):
    """End to end: the worker sends through (fake) SendGrid, SendGrid reports a bounce with the
    custom_args it was given, and the workflow marks the person unreachable."""
    keys = KeyPair()
    configured = settings.model_copy(update={"sendgrid_webhook_public_key": keys.public})
    accord = accord_for(ts_env)
    with FakeSendGrid() as sg:
        mailer = SendGridMailer("SG.test", host=sg.url, timeout=2)
        async with running_worker(ts_env.client, configured, mailer=mailer):
            workflow_id = await accord.start(unique(DATA / "screening.yaml"))
            to_bo = await until_accepted(sg, "bo@beta.example")
            args = to_bo.body["custom_args"]
            assert args["workflow_id"] == workflow_id

            app = create_app(configured, accord)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.test") as http, \
                    await open_storage(configured) as store:
                hook = Hook(http, keys, FakeAccord(), store)  # the real client is in the app
                bounce = {"email": "bo@beta.example", "timestamp": int(time.time()), "event": "bounce",
                          "sg_event_id": "ev-bounce-1", "sg_message_id": f"{to_bo.message_id}.filter0001",
                          "reason": "550 5.1.1 mailbox unavailable", "status": "5.1.1", "type": "bounce", **args}
                response = await hook.post([bounce])
                assert response.status_code == 200, response.text
                await hook.post([bounce])  # redelivered: recorded and reported once

            state = await state_where(accord, workflow_id, lambda s: "bo" in s.unreachable)
    [record] = [e for e in state.email_events if e.event == "bounce"]
    assert record.send_key == args["send_key"] and record.recipient == "bo"
    assert "mailbox unavailable" in record.reason


async def until_accepted(sg: FakeSendGrid, email: str) -> Accepted:
    async def check() -> Accepted:
        found = [a for a in sg.accepted if a.body["personalizations"][0]["to"][0]["email"] == email]
        assert found, f"nothing accepted for {email} yet"
        return found[0]

    return await eventually(check)


# ---------------------------------------------------------------------- hostile requests


def deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


MALFORMED = {
    "empty body": (b"", "not JSON"),
    "not JSON": (b"bounce!", "not JSON"),
    "a JSON object, not an array": (json.dumps(event("bounce", "ev-b")).encode(), "JSON array"),
    "nested 100,000 deep": (deep(100_000), "nested too deeply"),
    "an event nested 100,000 deep": (b'[{"event": "bounce", "send_key": "k", "x": ' + deep(100_000) + b"}]",
                                     "nested too deeply"),
    "an item that is not an object": (json.dumps([event("bounce", "ev-b"), "not an object"]).encode(), "event 1"),
    "a null item": (b"[null]", "event 0"),
    "send_key a number": (json.dumps([event("bounce", "ev-b", send_key=5)]).encode(), "send_key"),
    "event a list": (json.dumps([event(["bounce"], "ev-b")]).encode(), "event"),
    "timestamp a string": (json.dumps([event("bounce", "ev-b", timestamp="yesterday")]).encode(), "timestamp"),
    "timestamp true": (json.dumps([event("bounce", "ev-b", timestamp=True)]).encode(), "timestamp"),
    "timestamp NaN": (json.dumps([event("bounce", "ev-b")]).encode().replace(b"1760000000", b"NaN"), "NaN"),
    "timestamp 1e300": (json.dumps([event("bounce", "ev-b", timestamp=1e300)]).encode(), "event 0.timestamp"),
    "timestamp of 5,000 digits": (json.dumps([event("bounce", "ev-b")]).encode().replace(b"1760000000", b"9" * 5000),
                                  "not JSON"),
    "a 5,000-character send key": (json.dumps([event("bounce", "ev-b", send_key="k" * 5000)]).encode(), "send_key"),
    "a 500,000-character reason": (json.dumps([event("bounce", "ev-b", reason="x" * 500_000)]).encode(), "reason"),
    "a lone surrogate in the event id": (json.dumps([event("bounce", "\ud800")]).encode(), "event 0.sg_event_id"),
    "10,001 events": (json.dumps([{}] * 10_001).encode(), "10,000"),
}


@pytest.mark.parametrize("case", MALFORMED)
async def test_a_malformed_signed_body_is_a_400_and_changes_nothing(local_hook, case):
    raw, says = MALFORMED[case]
    response = await local_hook.post_raw(raw)
    assert response.status_code == 400, response.text
    assert says in response.json()["error"]
    assert await local_hook.store.list_events() == [] and local_hook.accord.reported == []


@pytest.mark.parametrize(("age", "accepted"), [(0, True), (-200, True), (250, True), (400, False), (-400, False),
                                               (86_400, False)])
async def test_a_signature_older_or_newer_than_the_tolerance_is_refused_as_a_replay(local_hook, age, accepted):
    """A request captured (or recorded) and sent again later carries its old, signed timestamp."""
    raw = json.dumps([event("bounce", "ev-b", reason="550")]).encode()
    response = await local_hook.http.post("/webhooks/sendgrid", content=raw, headers=local_hook.signed(raw, age=age))
    if accepted:
        assert response.status_code == 200 and len(local_hook.accord.reported) == 1
    else:
        assert response.status_code == 403 and "tolerance" in response.json()["error"]
        assert await local_hook.store.list_events() == [] and local_hook.accord.reported == []


async def test_the_tolerance_is_configurable(settings):
    keys = KeyPair()
    configured = settings.model_copy(update={"sendgrid_webhook_public_key": keys.public,
                                             "sendgrid_webhook_tolerance": 3600})
    app = create_app(configured, FakeAccord())  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.test") as http, \
            await open_storage(configured) as store:
        hook = Hook(http, keys, FakeAccord(), store)
        raw = json.dumps([event("delivered", "ev-1")]).encode()
        assert (await http.post("/webhooks/sendgrid", content=raw, headers=hook.signed(raw, age=1800))).status_code == 200
        assert (await http.post("/webhooks/sendgrid", content=raw, headers=hook.signed(raw, age=4000))).status_code == 403


async def test_a_body_over_the_bound_is_refused_whether_declared_or_chunked(local_hook):
    from accord.web.webhooks import MAX_BODY_BYTES

    big = b"[" + b" " * MAX_BODY_BYTES + b"]"
    declared = await local_hook.http.post("/webhooks/sendgrid", content=big, headers=local_hook.signed(big))
    assert declared.status_code == 413

    async def chunks():  # no Content-Length: the body is read up to the bound, then refused
        for _ in range(3):
            yield b" " * (MAX_BODY_BYTES // 2)

    chunked = await local_hook.http.post("/webhooks/sendgrid", content=chunks(), headers=local_hook.signed(b""))
    assert chunked.status_code == 413
    assert await local_hook.store.list_events() == []

    bad = await local_hook.http.post("/webhooks/sendgrid", content=b"[]", headers={**local_hook.signed(b"[]"), "Content-Length": "-1"})
    assert bad.status_code == 400


async def test_an_announced_huge_body_is_refused_before_it_is_sent(settings):
    """Over real HTTP: the answer comes as soon as the headers arrive; the body is never awaited."""
    keys = KeyPair()
    configured = settings.model_copy(update={"sendgrid_webhook_public_key": keys.public})
    listener = socket.create_server(("127.0.0.1", 0))
    server = build_server(configured, FakeAccord(), log_level="warning")  # type: ignore[arg-type]
    running = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        reader, writer = await asyncio.open_connection(*listener.getsockname())
        writer.write(b"POST /webhooks/sendgrid HTTP/1.1\r\nHost: accord.test\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 2000000000\r\n\r\n[")
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), SAFETY_TIMEOUT)  # the old code waits for 2 GB
        writer.close()
    finally:
        server.should_exit = True
        await running
    assert status_line.startswith(b"HTTP/1.1 413")
