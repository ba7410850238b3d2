"""SendGrid delivery through the real ``sendgrid`` client against a local fake of its API.

What is checked: the documented v3 payload; which answers are permanent and which are
retried; that a retried or interrupted send is delivered exactly once (the fake counts
accepted requests per send key), including a worker killed with SIGKILL mid-request and
two workers running the same send at once. The exactly-once tests run on both storage
backends (``store``/``backend``: SQLite and files, and a real PostgreSQL).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker

import worker as accord_worker
from accord.config import Settings
from accord.mail.message import RATE_LIMITED, UNAVAILABLE, Message
from accord.mail.sendgrid_backend import SendGridMailer
from accord.mail.smtp_backend import SmtpMailer
from accord.models import EmailRequest
from accord.storage import SharedStorage, Storage, open_storage
from activities.email import EmailActivities
from tests.support.fake_sendgrid import (
    FakeSendGrid,
    accept_then_hang,
    hang,
    rate_limited,
    reply,
)
from tests.support.mail_helpers import API_KEY, mailer_for, request
from tests.support.mail_workflows import SendJob, SendOnce
from tests.support.paths import ROOT

pytest_plugins = ["tests.support.storage_backends"]  # the backend and store fixtures: sqlite and postgresql

if TYPE_CHECKING:
    from tests.support.storage_backends import Backend



@pytest.fixture
def sg() -> Iterator[FakeSendGrid]:
    with FakeSendGrid() as fake:
        yield fake




def activities(settings: Settings, mailer, store: Storage) -> EmailActivities:
    return EmailActivities(
        mailer, store, sender="Accord <accord@accord.example>", base_url=settings.web_base_url, keys=["k" * 32],
    )




async def send(acts: EmailActivities, req: EmailRequest, attempt: int = 1):
    """Run the activity as attempt ``attempt`` would (a retry is another attempt, as in Temporal)."""
    env = ActivityEnvironment()
    now = datetime.now(UTC)  # first scheduled just now: no retry here is long enough to alert ops
    env.info = dataclasses.replace(env.info, attempt=attempt, start_to_close_timeout=timedelta(minutes=2),
                                   scheduled_time=now, current_attempt_scheduled_time=now)
    return await env.run(acts.send_email, req)


# ---------------------------------------------------------------------- payload


async def test_payload_is_the_documented_v3_shape(sg, settings, local_store):
    acts = activities(settings, mailer_for(sg), local_store)
    req = request()
    receipt = await send(acts, req)
    assert receipt.status == "sent"

    [call] = sg.sends()
    assert call.method == "POST" and call.path == "/v3/mail/send"
    assert call.headers["Authorization"] == f"Bearer {API_KEY}"
    assert call.headers["Content-Type"] == "application/json"
    body = call.body
    assert body["from"] == {"email": "accord@accord.example", "name": "Accord"}
    assert body["personalizations"] == [{"to": [{"email": "bea@beta.example", "name": "Bea Beta"}]}]
    assert body["subject"] == "Please sign the MOU"
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    assert "http://accord.test/a/" in body["content"][0]["value"]  # the action link, in both parts
    assert "http://accord.test/a/" in body["content"][1]["value"]
    # Opaque ids only: no names, addresses or tokens in what SendGrid keeps as non-personal data.
    assert body["custom_args"] == {"send_key": req.send_key, "workflow_id": req.workflow_id}
    assert body["categories"] == ["accord"]
    assert body["tracking_settings"] == {"click_tracking": {"enable": False, "enable_text": False}}
    assert set(body) == {"from", "personalizations", "subject", "content", "custom_args", "categories",
                         "tracking_settings"}


async def test_notice_without_link_leaves_tracking_settings_alone(sg, settings, local_store):
    await send(activities(settings, mailer_for(sg), local_store), request(action=False))
    [call] = sg.sends()
    assert "tracking_settings" not in call.body
    assert len(call.body["personalizations"]) == 1


async def test_attachment_is_sent_with_its_type_and_as_an_attachment(sg, settings, local_store):
    # Imported here: tests.unit.test_ics builds its requests with this module's request().
    from tests.support.ics_helpers import event_of, invitation_request, invite

    req = invitation_request()
    assert (await send(activities(settings, mailer_for(sg), local_store), req)).status == "sent"
    [call] = sg.sends()
    [attachment] = call.body["attachments"]
    assert attachment == {
        "content": req.attachments[0].content,
        "filename": "invite.ics",
        "type": "text/calendar; method=REQUEST; charset=UTF-8",
        "disposition": "attachment",
    }
    assert event_of(base64.b64decode(attachment["content"]))["UID"] == "partnership-acme/monthly/3@accord"
    assert base64.b64decode(attachment["content"]) == invite()
    assert [c["type"] for c in call.body["content"]] == ["text/plain", "text/html"]
    assert call.send_key == req.send_key  # idempotency by send key, as for any email


# ---------------------------------------------------------------------- answers


async def test_accepted_send_stores_the_message_id(sg, settings, store):
    acts = activities(settings, mailer_for(sg), store)
    req = request()
    receipt = await send(acts, req)
    [accepted] = sg.accepted
    assert receipt.status == "sent" and receipt.message_id == accepted.message_id
    entry = await store.get_send(req.send_key)
    assert entry.status == "sent" and entry.message_id == accepted.message_id and entry.attempts == 1

    # Run again (a replayed activity, a retry): the storage answers, SendGrid is not asked.
    for attempt in (1, 2):
        again = await send(acts, req, attempt)
        assert again.status == "already_sent" and again.message_id == accepted.message_id
    assert len(sg.requests) == 1


@pytest.mark.parametrize(("status", "text"), [
    (400, "verified Sender Identity"), (401, "authorization grant"), (403, "access forbidden"), (413, "Payload Too Large"),
])
async def test_permanent_refusal_is_recorded_not_retried(sg, settings, store, status, text):
    sg.script(reply(status))
    acts = activities(settings, mailer_for(sg), store)
    req = request()
    receipt = await send(acts, req)
    assert receipt.status == "failed"
    assert str(status) in receipt.error and text in receipt.error
    entry = await store.get_send(req.send_key)
    assert entry.status == "failed" and text in entry.error
    # Asked again (a retried workflow task): still failed, SendGrid not asked again.
    assert (await send(acts, req, attempt=2)).status == "failed"
    assert len(sg.sends(req.send_key)) == 1
    assert sg.deliveries(req.send_key) == 0


async def test_rate_limit_is_retried_after_the_reset(sg, settings, local_store):
    sg.script(rate_limited(reset_in=42))
    req = request()
    with pytest.raises(ApplicationError) as raised:
        await send(activities(settings, mailer_for(sg), local_store), req)
    error = raised.value
    assert error.type == RATE_LIMITED and not error.non_retryable
    assert timedelta(seconds=38) <= error.next_retry_delay <= timedelta(seconds=43)
    assert "too many requests" in str(error)
    entry = await local_store.get_send(req.send_key)
    assert (entry.status, entry.lease_until) == ("attempting", None)  # released: the retry may take it at once
    assert "too many requests" in entry.error  # what SendGrid said, kept for the alert
    assert len(sg.sends()) == 1


@pytest.mark.parametrize("status", [500, 503])
async def test_server_error_is_retried(sg, settings, local_store, status):
    sg.script(reply(status))
    req = request()
    with pytest.raises(ApplicationError) as raised:
        await send(activities(settings, mailer_for(sg), local_store), req)
    assert raised.value.type == UNAVAILABLE and not raised.value.non_retryable
    assert raised.value.next_retry_delay is None  # the retry policy's backoff
    assert str(status) in str(raised.value)
    assert len(sg.sends()) == 1


async def test_hanging_request_times_out_and_is_retried_later(sg, settings, local_store):
    sg.script(hang(10))
    req = request()
    started = time.monotonic()
    with pytest.raises(ApplicationError) as raised:
        await send(activities(settings, mailer_for(sg, timeout=0.5), local_store), req)
    assert time.monotonic() - started < 3
    assert raised.value.type == UNAVAILABLE and not raised.value.non_retryable
    assert "outcome unknown" in str(raised.value)
    # Unknown outcome: wait for the Email Activity feed before checking and resending.
    assert raised.value.next_retry_delay == timedelta(seconds=30)


async def test_unreachable_host_is_retried(settings, local_store):
    mailer = SendGridMailer(API_KEY, host="http://127.0.0.1:9", timeout=1)  # discard port: refused
    with pytest.raises(ApplicationError) as raised:
        await send(activities(settings, mailer, local_store), request())
    assert raised.value.type == UNAVAILABLE and "unreachable" in str(raised.value)


async def test_a_send_key_too_long_to_keep_fails_for_good_and_sends_nothing(sg, settings, local_store):
    """Ids at their bounds, nested purposes: a key the storage cannot keep cannot be sent once.
    The receipt says so (the workflow reports the person unreachable); no endless retries."""
    req = request(send_key="partnership-x/" + "k" * 600 + "/bea")
    receipt = await send(activities(settings, mailer_for(sg), local_store), req)
    assert receipt.status == "failed" and "cannot be sent once" in receipt.error
    assert sg.requests == [] and await local_store.list_sends() == []


# ---------------------------------------------------------------------- exactly once (both backends)


async def test_retries_through_a_worker_deliver_once(ts_env, sg, settings, store):
    """500, 500, 202 on the time-skipping server: the backoff passes at once, one delivery."""
    sg.script(reply(500), reply(500))
    req = request()
    async with Worker(ts_env.client, task_queue=settings.task_queue, workflows=[SendOnce],
                      activities=[activities(settings, mailer_for(sg), store).send_email]):
        receipt = await ts_env.client.execute_workflow(
            SendOnce.run, SendJob(request=req), id=f"mail-{uuid.uuid4().hex[:8]}", task_queue=settings.task_queue,
        )
    assert receipt.status == "sent"
    assert len(sg.sends(req.send_key)) == 3
    assert sg.deliveries(req.send_key) == 1
    [accepted] = sg.accepted
    assert receipt.message_id == accepted.message_id
    entry = await store.get_send(req.send_key)
    assert entry.status == "sent" and entry.attempts == 3
    # Each retry first asked the Email Activity API whether the failed attempt got through.
    checks = [r for r in sg.requests if r.path == "/v3/messages"]
    assert len(checks) == 2
    assert checks[0].query["query"] == [f"(unique_args['send_key']=\"{req.send_key}\")"]
    assert checks[0].query["limit"] == ["1"]


class Killed(BaseException):
    """The worker dying: not an Exception, nothing in the activity catches it."""


class DiesBeforeSent(SharedStorage):
    """The configured storage, in a worker that dies between SendGrid's acceptance and the update."""

    async def mark_sent(self, send_key: str, message_id: str | None) -> None:
        raise Killed


async def test_accepted_then_killed_before_the_update_is_not_sent_again(sg, settings, backend: Backend):
    req = request()
    dying = DiesBeforeSent(backend.settings())
    with pytest.raises(Killed):
        await send(activities(settings, mailer_for(sg), dying), req)
    await dying.close()
    async with await backend.open() as store:
        assert (await store.get_send(req.send_key)).status == "attempting"
        assert sg.deliveries(req.send_key) == 1

        receipt = await send(activities(settings, mailer_for(sg), store), req, attempt=2)
        assert receipt.status == "already_sent"
        [accepted] = sg.accepted
        assert receipt.message_id == accepted.message_id
        assert len(sg.sends(req.send_key)) == 1  # found through /v3/messages, not posted again
        entry = await store.get_send(req.send_key)
        assert (entry.status, entry.message_id, entry.attempts) == ("sent", accepted.message_id, 2)


@pytest.mark.parametrize("feed_status", [403, 404, 400])
async def test_without_email_activity_access_an_interrupted_send_is_sent_again(sg, settings, feed_status):
    """The documented limit: no Email Activity add-on (or a query it refuses), no check;
    at least once, logged."""
    sg.feed_status = feed_status
    req = request()
    dying = DiesBeforeSent(settings)
    with pytest.raises(Killed):
        await send(activities(settings, mailer_for(sg), dying), req)
    await dying.close()
    mailer = mailer_for(sg)
    async with await open_storage(settings) as store:
        receipt = await send(activities(settings, mailer, store), req, attempt=2)
    assert receipt.status == "sent"
    assert sg.deliveries(req.send_key) == 2
    # The feed is not asked again by this mailer once it said no.
    assert await mailer.already_accepted(req.send_key) is None
    assert len([r for r in sg.requests if r.path == "/v3/messages"]) == 1


async def test_two_workers_running_the_same_send_at_once_send_it_once(sg, settings, backend: Backend):
    """Two workers (each its own connection to the shared state, as on two hosts) run the real
    activity for the same emails at the same moment, as after a timeout whose attempt was still
    running, or a reset run re-sending: each email goes out once; the other worker is told
    it is in flight (a retryable SendInProgress: Temporal retries it) or finds it sent."""
    sg.latency = 0.2  # SendGrid takes a moment: the other worker's claim arrives meanwhile
    reqs = [request() for _ in range(8)]
    async with await backend.open() as one, await backend.open() as two:
        workers = [activities(settings, mailer_for(sg), one), activities(settings, mailer_for(sg), two)]

        async def attempt(acts: EmailActivities, req: EmailRequest, n: int) -> str:
            try:
                return (await send(acts, req, attempt=n)).status
            except ApplicationError as exc:
                return exc.type or "?"

        outcomes = await asyncio.gather(*(attempt(acts, req, n) for req in reqs
                                          for n, acts in enumerate(workers, 1)))
        by_email = [sorted(outcomes[i:i + 2]) for i in range(0, len(outcomes), 2)]
        for req, pair in zip(reqs, by_email, strict=True):
            assert pair in (["SendInProgress", "sent"], ["already_sent", "sent"]), (req.send_key, pair)
            assert sg.deliveries(req.send_key) == 1
            entry = await one.get_send(req.send_key)
            assert (entry.status, entry.attempts) == ("sent", 1)
        # The worker told "in flight" retries, as Temporal would: it finds the email sent.
        for req, pair in zip(reqs, by_email, strict=True):
            if "SendInProgress" in pair:
                assert await attempt(workers[0], req, 3) == "already_sent"
        held = sum("SendInProgress" in pair for pair in by_email)
        print(f"{backend.name}: {len(reqs)} emails run by two workers at once: {len(sg.accepted)} sent, "
              f"{held} found in flight by the other worker")
    assert sg.accepted_keys() == {req.send_key: 1 for req in reqs}


async def test_worker_killed_mid_request_then_new_worker_delivers_once(dev_env, sg, settings, backend: Backend):
    """A real worker process holds the request (SendGrid accepted, no answer yet) and is
    SIGKILLed; after the activity times out, another worker finds the message and stops."""
    sg.script(accept_then_hang(60))
    req = request()
    env = {
        **os.environ,
        **backend.env(),
        "ACCORD_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "ACCORD_TASK_QUEUE": settings.task_queue,
        "ACCORD_SIGNING_KEYS": "k" * 32,
        "ACCORD_WEB_BASE_URL": settings.web_base_url,
        "ACCORD_MAIL_BACKEND": "sendgrid",
        "ACCORD_MAIL_FROM": "Accord <accord@accord.example>",
        "ACCORD_SENDGRID_API_KEY": API_KEY,
        "ACCORD_SENDGRID_HOST": sg.url,
        "ACCORD_SENDGRID_TIMEOUT": "60",
    }
    # Started, not awaited: the worker process runs beside this test until it kills it.
    process = subprocess.Popen([sys.executable, "-m", "tests.support.mail_workflows"], cwd=ROOT, env=env,  # noqa: ASYNC220
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        async with await backend.open() as store:
            # Workflows on this worker; activities only in the subprocess (until it dies).
            async with Worker(dev_env.client, task_queue=settings.task_queue, workflows=[SendOnce]):
                handle = await dev_env.client.start_workflow(
                    SendOnce.run, SendJob(request=req, start_to_close_seconds=2, initial_interval_seconds=0.1),
                    id=f"mail-kill-{uuid.uuid4().hex[:8]}", task_queue=settings.task_queue,
                )
                try:
                    await asyncio.to_thread(sg.wait_for_send, 1, 30)
                except TimeoutError:
                    process.kill()
                    pytest.fail(f"the worker process sent nothing:\n{process.communicate()[0].decode()[-3000:]}")
                process.send_signal(signal.SIGKILL)
                process.wait(10)
                assert sg.deliveries(req.send_key) == 1
                assert (await store.get_send(req.send_key)).status == "attempting"

                settings_sg = settings.model_copy(update={"mail_backend": "sendgrid"})
                async with Worker(dev_env.client, task_queue=settings.task_queue,
                                  activities=[activities(settings_sg, mailer_for(sg), store).send_email]):
                    receipt = await asyncio.wait_for(handle.result(), 30)
            entry = await store.get_send(req.send_key)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)
    assert receipt.status == "already_sent"
    assert len(sg.sends(req.send_key)) == 1
    assert sg.deliveries(req.send_key) == 1
    assert entry.status == "sent" and entry.message_id == sg.accepted[0].message_id


# ---------------------------------------------------------------------- configuration


def test_mailer_for_chooses_the_configured_backend(settings):
    assert type(accord_worker.mailer_for(settings)).__name__ == "Outbox"

    with pytest.raises(ValueError, match="ACCORD_SENDGRID_API_KEY"):
        accord_worker.mailer_for(settings.model_copy(update={"mail_backend": "sendgrid"}))
    chosen = accord_worker.mailer_for(Settings(
        data_dir=settings.data_dir, mail_backend="sendgrid", sendgrid_api_key=API_KEY,
        sendgrid_host="http://127.0.0.1:1", sendgrid_timeout=3,
    ))
    assert isinstance(chosen, SendGridMailer)
    assert chosen.host == "http://127.0.0.1:1" and chosen._sg.client.timeout == 3  # noqa: SLF001 - the SendGrid client the mailer holds is where its timeout is set

    smtp = accord_worker.mailer_for(Settings(
        data_dir=settings.data_dir, mail_backend="smtp", smtp_host="mail.example", smtp_port=2525,
        smtp_username="u", smtp_password="p", smtp_starttls=False,
    ))
    assert isinstance(smtp, SmtpMailer)
    assert (smtp.host, smtp.port, smtp.username, smtp.password, smtp.starttls) == ("mail.example", 2525, "u", "p", False)


def test_settings_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ACCORD_MAIL_BACKEND", "sendgrid")
    monkeypatch.setenv("ACCORD_SENDGRID_API_KEY", API_KEY)
    monkeypatch.setenv("ACCORD_SENDGRID_TIMEOUT", "2.5")
    monkeypatch.setenv("ACCORD_SENDGRID_WEBHOOK_PUBLIC_KEY", "MFkw...")
    s = Settings(data_dir=tmp_path)
    assert s.sendgrid_api_key.get_secret_value() == API_KEY and API_KEY not in repr(s)
    assert s.sendgrid_timeout == 2.5 and s.sendgrid_webhook_public_key == "MFkw..."


async def test_sendgrid_helper_refusing_the_content_is_permanent(sg, settings):
    mailer = mailer_for(sg)
    message = Message(send_key="k", sender="a@b.example", to_name="", to_email="c@d.example", subject="s",
                      html="<p>SG.abcdefgh.ijklmnop</p>", text="SG.abcdefgh.ijklmnop")
    from accord.mail.message import PermanentMailError

    with pytest.raises(PermanentMailError, match="ApiKeyIncluded"):
        await mailer.send(message)
    assert sg.requests == []


async def test_api_key_and_links_stay_out_of_debug_logs(sg, settings, local_store, caplog):
    caplog.set_level("DEBUG")
    await send(activities(settings, mailer_for(sg), local_store), request())
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert API_KEY not in logged
    assert "/a/" not in logged


def test_the_stand_in_takes_nothing_from_a_sender_cut_off_mid_request(sg):
    # A worker killed while posting leaves half a body: SendGrid accepts no email from it (the
    # crash test relies on the stand-in doing the same), and its activity feed keeps answering.
    import socket
    from urllib.parse import urlsplit

    host = urlsplit(sg.url)
    with socket.create_connection((host.hostname, host.port)) as conn:
        conn.sendall(b"POST /v3/mail/send HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 500\r\n\r\n{\"personalizations\": [")
    sg.wait_for_send(1, timeout=5)
    assert sg.accepted == []
    mailer = SendGridMailer("SG.test", host=sg.url, timeout=2)
    assert asyncio.run(mailer.already_accepted("partnership-x/any/key/alice")) is None


# ---------------------------------------------------------------------- an outage that lasts


async def test_a_ledger_from_before_the_alerts_table_opens_and_gains_it(tmp_path):
    """A v0.4 ledger file (no alerts table) opens as it is; its sends are untouched."""
    import sqlite3
    from contextlib import closing

    path = tmp_path / "ledger.sqlite"
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE sends (send_key TEXT PRIMARY KEY, status TEXT NOT NULL CHECK (status IN "
                   "('attempting', 'sent', 'failed')), recipient TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, "
                   "message_id TEXT, error TEXT, updated_at TEXT NOT NULL)")
        db.execute("INSERT INTO sends VALUES ('w/c/task/x/assigned/0/bo', 'sent', 'bo', 1, 'm-1', NULL, '2026-01-01')")
    async with await open_storage(Settings(data_dir=tmp_path)) as store:
        assert (await store.get_send("w/c/task/x/assigned/0/bo")).message_id == "m-1"
        assert not await store.alerted("w/c/task/x/assigned/0/bo", "delayed")
        assert await store.alert_once("w/c/task/x/assigned/0/bo", "delayed") is True
        assert await store.alert_once("w/c/task/x/assigned/0/bo", "delayed") is False, "once per send key"
    async with await open_storage(Settings(data_dir=tmp_path)) as store:
        assert await store.alerted("w/c/task/x/assigned/0/bo", "delayed")


async def test_a_send_failing_past_the_alert_time_alerts_once_even_without_its_workflow(ts_env, sg, settings, store,
                                                                                         caplog):
    """Attempt 5 of an email first scheduled two hours ago, SendGrid still answering 503: the
    attempt alerts (its workflow no longer exists: the log and the storage still have it) and
    is retried; the next attempt does not alert again."""
    import logging

    sg.script(reply(503), reply(503))
    acts = EmailActivities(mailer_for(sg), store, sender="Accord <accord@accord.example>",
                           base_url=settings.web_base_url, keys=["k" * 32], alert_after=timedelta(hours=1))
    env = ActivityEnvironment(client=ts_env.client)
    req = request()
    caplog.set_level(logging.ERROR, logger="temporalio.activity")
    for attempt in (5, 6):
        env.info = dataclasses.replace(env.info, attempt=attempt, scheduled_time=datetime.now(UTC) - timedelta(hours=2))
        with pytest.raises(ApplicationError) as raised:
            await env.run(acts.send_email, req)
        assert raised.value.type == UNAVAILABLE
    assert await store.alerted(req.send_key, "delayed")
    [alert] = [r.getMessage() for r in caplog.records if "still failing" in r.getMessage()]
    assert req.send_key in alert and "after 4 attempts" in alert
    assert "503" in (await store.get_send(req.send_key)).error, "what the provider said last is kept for the alert"
    assert len(sg.sends(req.send_key)) == 2, "alerting does not stop the attempt"
