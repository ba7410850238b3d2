"""Encrypted payloads (accord/codec.py): histories on the real dev server hold no clear personal
data; the web app's codec endpoint shows it to signed-in people with a role and to no one
else; keys rotate; and what was written in clear before the keys were set still decodes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from google.protobuf import json_format
from google.protobuf.message import Message
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer

from accord.client import Accord, connect_options
from accord.codec import (
    ENCODING,
    CodecError,
    EncryptionCodec,
    codec_for,
    data_converter,
    new_key,
    parse_keys,
)
from accord.config import ConfigError, Settings
from accord.models import Channel, DecisionInput, DecisionKind, TaskCompletion
from accord.web.app import create_app
from tests.support import history_files
from tests.support.helpers import (
    ALIGNED,
    pass_checklist,
    state_where,
    submit_statements,
    unique,
)
from tests.support.paths import DATA
from tests.support.signin_helpers import Provider, oidc_sign_in, sign_in
from tests.support.web_helpers import until
from tests.support.workers import running_worker
from worker import WORKFLOWS

OLD, NEW = new_key("2026-01"), new_key("2026-07")
TASK_RESULT = "Capacity audit: Amira Haddad's team has two spare engineers until March."
COMMENT = "Approved after the call with Bea Beta's counsel on 3 May."


def keyed(settings: Settings, *keys: str) -> Settings:
    """These settings with exactly these codec keys (none: payloads in clear)."""
    return settings.model_copy(update={"codec_keys": SecretStr(",".join(keys)) if keys else None})


async def client_for(dev_env, settings: Settings) -> Client:
    """A client of the shared dev server, with Accord's converter for these settings."""
    options = connect_options(settings)
    return await Client.connect(dev_env.client.service_client.config.target_host,
                                namespace=options["namespace"], data_converter=options["data_converter"])


def personal_data(definition) -> list[str]:
    """What must never be readable in a history: every person's name and address, and what they wrote."""
    people = [s for party in definition.parties for s in party.stakeholders]
    return [*(p.name for p in people), *(p.email for p in people), *ALIGNED.values(), TASK_RESULT, COMMENT]


def history_bytes(histories: list[WorkflowHistory]) -> bytes:
    return b"".join(event.SerializeToString() for h in histories for event in h.events)


def payloads_in(message) -> list[Payload]:
    """Every Payload anywhere in a protobuf message."""
    if isinstance(message, Payload):
        return [message]
    found: list[Payload] = []
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            values = list(value.values())
        elif isinstance(value, Message):
            values = [value]
        else:  # a repeated field
            values = list(value)
        for item in values:
            if hasattr(item, "ListFields"):
                found += payloads_in(item)
    return found


# ---------------------------------------------------------------------- the codec itself


async def test_payloads_round_trip_rotate_and_refuse_what_they_cannot_read():
    clear = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps({"stakeholder": "Bea Beta"}).encode())
    old = EncryptionCodec(parse_keys(OLD))
    [sealed] = await old.encode([clear])
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata["encryption-key-id"] == b"2026-01"
    assert b"Bea" not in sealed.SerializeToString()
    assert await old.decode([sealed]) == [clear]
    [again] = await old.encode([clear])
    assert again.data != sealed.data  # a fresh nonce every time

    rotated = EncryptionCodec(parse_keys(f"{OLD},{NEW}"))  # the newest encrypts, all decrypt
    [newer] = await rotated.encode([clear])
    assert newer.metadata["encryption-key-id"] == b"2026-07"
    assert await rotated.decode([sealed, newer, clear]) == [clear, clear, clear]  # clear passes unchanged

    only_new = EncryptionCodec(parse_keys(NEW))
    with pytest.raises(CodecError, match="'2026-01', which is not in codec_keys"):
        await only_new.decode([sealed])
    tampered = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    with pytest.raises(CodecError, match="altered"):
        await old.decode([tampered])


def test_bad_keys_are_refused_at_start_without_showing_them():
    secret = base64.b64encode(b"k" * 31).decode()
    for text, said in (("nocolon", "id:base64key"), (f"k1:{secret}", "has 31 bytes"), ("k1:***", "not valid base64"),
                       (f"{OLD},{OLD}", "used twice"), (" , ", "holds no key"), (f"bad id!:{secret}", "id:base64key")):
        with pytest.raises(ConfigError, match=said) as raised:
            parse_keys(text)
        assert secret not in str(raised.value) and OLD.split(":")[1] not in str(raised.value)
    unset = Settings(codec_keys=None)  # the embedded default (whatever ACCORD_CODEC_KEYS says): payloads in clear
    assert codec_for(unset) is None and data_converter(unset).payload_codec is None


async def test_a_worker_whose_client_does_not_encrypt_is_refused(dev_env, settings: Settings):
    from worker import build_worker

    clear_client = await client_for(dev_env, keyed(settings))
    with pytest.raises(ConfigError, match="does not encrypt"):
        build_worker(clear_client, keyed(settings, OLD))


# ---------------------------------------------------------------------- on the real dev server


@dataclass
class Encrypted:
    settings: Settings
    accord: Accord
    definition: object
    wf: str
    histories: list[WorkflowHistory]


@pytest.fixture
async def encrypted(dev_env, settings: Settings) -> AsyncIterator[Encrypted]:
    """A partnership run with the codec on: tasks, statements and a decision with a comment."""
    settings = keyed(settings, OLD)
    client = await client_for(dev_env, settings)
    accord = Accord(client, settings)
    definition = unique(DATA / "screening.yaml")
    async with running_worker(client, settings):
        wf = await accord.start(definition)
        await accord.complete_task(wf, TaskCompletion(task_id="capability", actor="arun", result=TASK_RESULT,
                                                      channel=Channel.api))
        await pass_checklist(accord, wf, {"legal": "bo"})
        await submit_statements(accord, wf, ALIGNED)
        await state_where(accord, wf, lambda s: "go-no-go" in s.approvals, timeout=30)
        await accord.decide(wf, DecisionInput(approval_id="go-no-go", actor="alice", decision=DecisionKind.approve,
                                              comment=COMMENT, channel=Channel.api))
        state = await accord.state(wf)  # read back through the codec
        assert state.tasks["capability"].result == TASK_RESULT
        histories = [r.history for r in await history_files.everything_of(client, wf)]
        try:
            yield Encrypted(settings, accord, definition, wf, histories)
        finally:
            await client.get_workflow_handle(wf).terminate(reason="test finished")


async def test_histories_on_the_dev_server_hold_no_clear_personal_data(encrypted: Encrypted):
    raw = history_bytes(encrypted.histories)
    assert len(raw) > 10_000
    readable = [text for text in personal_data(encrypted.definition) if text.encode() in raw]
    assert readable == []
    payloads = [p for h in encrypted.histories for e in h.events for p in payloads_in(e)]
    sealed = [p for p in payloads if p.metadata.get("encoding") == ENCODING]
    assert len(sealed) > 20
    # What is not encrypted is what Temporal must read itself: search attributes (ids, stages).
    for p in payloads:
        if p.metadata.get("encoding") != ENCODING:
            assert not any(t.encode() in p.data for t in personal_data(encrypted.definition))

    # The same histories replay with the keys, and cannot be read without them.
    replayer = Replayer(workflows=WORKFLOWS, data_converter=data_converter(encrypted.settings))
    results = await replayer.replay_workflows(_each(encrypted.histories), raise_on_replay_failure=False)
    assert results.replay_failures == {}
    stranger = Replayer(workflows=WORKFLOWS, data_converter=data_converter(keyed(Settings(), NEW)))
    results = await stranger.replay_workflows(_each(encrypted.histories[:1]), raise_on_replay_failure=False)
    [failure] = results.replay_failures.values()
    assert 'type: "CodecError"' in str(failure)  # its message is itself encrypted, as failures are


async def test_the_codec_endpoint_decodes_for_people_with_a_role_and_refuses_others(
        encrypted: Encrypted, oidc_provider: Provider):
    settings = oidc_provider.configure(encrypted.settings.model_copy(update={"web_base_url": "http://127.0.0.1:8000"}))
    app = create_app(settings, encrypted.accord)
    started = encrypted.histories[0].events[0].workflow_execution_started_event_attributes
    body = {"payloads": [json_format.MessageToDict(p) for p in started.input.payloads]}
    headers = {"X-Namespace": settings.temporal_namespace}

    def client() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000")

    async with client() as anonymous:
        r = await anonymous.post("/codec/decode", json=body, headers=headers)
        assert r.status_code == 401 and "Bea Beta" not in r.text
    async with client() as carol:
        await oidc_sign_in(carol, oidc_provider, "carol")  # signed in, no role
        r = await carol.post("/codec/decode", json=body, headers=headers)
        assert r.status_code == 403 and "Bea Beta" not in r.text

    async with client() as bob:
        await oidc_sign_in(bob, oidc_provider, "bob")  # viewer: may read
        r = await bob.post("/codec/decode", json=body, headers=headers)
        assert r.status_code == 200, r.text
        decoded = json_format.ParseDict(r.json(), Payloads())
        assert b"Bea Beta" in decoded.payloads[0].data and decoded.payloads[0].metadata["encoding"] == b"json/plain"
        assert (await bob.post("/codec/encode", json=r.json(), headers=headers)).status_code == 403  # acting: ops only
        assert (await bob.post("/codec/decode", json=body, headers={"X-Namespace": "elsewhere"})).status_code == 400
        assert (await bob.post("/codec/decode", content=b"{not json", headers={**headers, "Content-Type": "application/json"})).status_code == 400
        assert (await bob.post("/codec/decode", content=b"x", headers={**headers, "Content-Type": "text/plain"})).status_code == 415

    async with client() as alice:
        await oidc_sign_in(alice, oidc_provider, "alice")
        sealed = await alice.post("/codec/encode", json=r.json(), headers=headers)
        assert sealed.status_code == 200
        assert b"Bea Beta" not in base64.b64decode(sealed.json()["payloads"][0]["data"])
        back = await alice.post("/codec/decode", json=sealed.json(), headers=headers)
        assert back.json() == r.json()

        # The Temporal UI calls from its own origin with the cookie: CORS for it, and only for it.
        ui = {"Origin": "http://localhost:8233"}
        preflight = await alice.options("/codec/decode", headers={**ui, "Access-Control-Request-Method": "POST"})
        assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == ui["Origin"]
        assert preflight.headers["access-control-allow-credentials"] == "true"
        r = await alice.post("/codec/decode", json=body, headers={**headers, **ui})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == ui["Origin"]
        evil = {"Origin": "https://evil.example"}
        assert (await alice.options("/codec/decode", headers=evil)).status_code == 403
        r = await alice.post("/codec/decode", json=body, headers={**headers, **evil})
        assert "access-control-allow-origin" not in r.headers  # the browser keeps the answer from that page


async def test_partnerships_written_in_clear_keep_running_when_the_keys_are_set(dev_env, settings: Settings):
    """Turning encryption on in a running deployment: the clear history decodes, new payloads are sealed."""
    definition = unique(DATA / "screening.yaml")
    settings = keyed(settings)  # no keys yet
    clear_client = await client_for(dev_env, settings)
    clear_accord = Accord(clear_client, settings)
    async with running_worker(clear_client, settings):
        wf = await clear_accord.start(definition)
        await until(lambda: _tasks_open(clear_accord, wf))
    settings = keyed(settings, OLD)
    client = await client_for(dev_env, settings)
    accord = Accord(client, settings)
    try:
        async with running_worker(client, settings):
            await accord.complete_task(wf, TaskCompletion(task_id="capability", actor="arun", result=TASK_RESULT,
                                                          channel=Channel.api))
            state = await accord.state(wf)
            assert state.name == definition.name and state.tasks["capability"].result == TASK_RESULT
            history = await client.get_workflow_handle(wf).fetch_history()
        encodings = {p.metadata.get("encoding") for e in history.events for p in payloads_in(e)}
        assert ENCODING in encodings and b"json/plain" in encodings  # both, in one history
        assert TASK_RESULT.encode() not in history_bytes([history])
        assert definition.parties[0].stakeholders[0].email.encode() in history_bytes([history])  # the old input
        results = await Replayer(workflows=WORKFLOWS, data_converter=data_converter(settings)).replay_workflows(
            _each([history]), raise_on_replay_failure=False)
        assert results.replay_failures == {}
    finally:
        await client.get_workflow_handle(wf).terminate(reason="test finished")


async def test_the_embedded_default_signs_in_and_has_no_codec_endpoint_without_keys(dev_env, settings: Settings):
    settings = keyed(settings)
    app = create_app(settings, Accord(dev_env.client, settings))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.web_base_url) as http:
        await sign_in(http, settings)
        r = await http.post("/codec/decode", json={"payloads": []})
        assert r.status_code == 404 and "not encrypted here" in r.json()["detail"]


async def _tasks_open(accord: Accord, wf: str) -> bool:
    return bool((await accord.state(wf)).tasks)


async def _each(histories):
    for history in histories:
        yield history
