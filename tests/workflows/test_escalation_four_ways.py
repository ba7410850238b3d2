"""An escalation raised in each of the four ways people and programs have, on the real dev
server: `accord escalate` (the CLI), the Python client, the HTTP API, and a plain Temporal
update by name with the real `temporal` CLI. All reach the partnership's `escalate` update;
each must show up as a child workflow (listed by type, with its summary) and move the
partnership's AccordEscalationLevel search attribute. Then the escalation CLI's own commands."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from typer.testing import CliRunner

from accord import apikeys
from accord import search_attributes as sa
from accord.cli import app
from accord.client import Accord
from accord.config import Settings
from accord.logic.time_display import format_instant
from accord.models import Channel, EscalationRequest, EscalationStatus
from accord.web.app import create_app
from tests.support.helpers import eventually
from tests.support.web_helpers import screening_definition
from tests.support.workers import running_worker


async def cli(args: list[str]):
    """The CLI as a person runs it, in its own thread (it runs its own event loop)."""
    return await asyncio.to_thread(CliRunner().invoke, app, args)


async def via_cli(accord: Accord, wf: str, address: str, reason: str, level: int) -> None:
    result = await cli(["escalate", wf.removeprefix("partnership-"), "--reason", reason, "--level", str(level),
                        "--severity", "high", "--by", "alice", "--address", address])
    assert result.exit_code == 0, result.output
    assert f"open at level {level}" in result.output and "escalation esc-1" in result.output
    assert "/namespaces/default/workflows/" + f"{wf}.esc-1." in result.output


async def via_client(accord: Accord, wf: str, address: str, reason: str, level: int) -> None:
    result = await accord.escalate(wf, EscalationRequest(reason=reason, level=level, severity="high", raised_by="alice",
                                                         channel=Channel.api))
    assert result.message == f"Escalation esc-1 is open at level {level}."


async def via_http(accord: Accord, wf: str, address: str, reason: str, level: int) -> None:
    key, entry = apikeys.create("ci-bot", "ops")
    settings = accord.settings.model_copy(update={"api_keys": [entry]})
    transport = httpx.ASGITransport(app=create_app(settings, accord))
    async with httpx.AsyncClient(transport=transport, base_url="http://accord.test") as http:
        r = await http.post(f"/api/v1/partnerships/{wf}/escalations", headers={"Authorization": f"Bearer {key}"},
                            json={"reason": reason, "level": level, "severity": "high"})
    assert r.status_code == 201, r.text
    assert r.json()["escalation"]["raised_by"] == "ci-bot"


async def via_temporal_update(accord: Accord, wf: str, address: str, reason: str, level: int) -> None:
    payload = json.dumps({"reason": reason, "level": level, "severity": "high", "raised_by": "alice"})
    process = await asyncio.create_subprocess_exec(
        Settings().temporal_cli(), "workflow", "update", "execute", "--address", address,
        "--workflow-id", wf, "--name", "escalate", "--input", payload,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()
    assert f"open at level {level}" in output.decode()


WAYS = {
    "cli": (via_cli, Channel.cli, "alice"),
    "client": (via_client, Channel.api, "alice"),
    "http": (via_http, Channel.api, "ci-bot"),
    "temporal": (via_temporal_update, Channel.temporal, "alice"),
}


@pytest.mark.parametrize("way", list(WAYS))
async def test_escalation_raised_each_way_is_a_visible_child_and_sets_the_level(way, dev_env, settings, accord_for):
    raise_it, channel, raised_by = WAYS[way]
    accord = accord_for(dev_env)
    address = dev_env.client.service_client.config.target_host
    level = 2
    reason = f"Data migration slipping ({way})"
    async with running_worker(dev_env.client, settings):
        wf = await accord.start(screening_definition())
        await raise_it(accord, wf, address, reason, level)

        [record] = (await accord.state(wf)).escalations
        assert (record.id, record.level, record.severity, record.reason) == ("esc-1", level, "high", reason)
        assert (record.channel, record.raised_by, record.trigger) == (channel, raised_by, "manual")
        assert record.workflow_id and record.workflow_id.startswith(f"{wf}.esc-1.")

        # In the Temporal UI: listed among escalation workflows, under its parent, with its summary.
        async def listed() -> None:
            query = f"WorkflowType = 'EscalationWorkflow' AND ParentWorkflowId = '{wf}'"
            found = [w async for w in dev_env.client.list_workflows(query)]
            assert [w.id for w in found] == [record.workflow_id]
            assert found[0].typed_search_attributes.get(sa.ESCALATION_LEVEL) == level

        await eventually(listed)
        child = dev_env.client.get_workflow_handle(record.workflow_id)
        description = await child.describe()
        assert description.workflow_type == "EscalationWorkflow" and description.parent_id == wf
        assert await description.static_summary() == (
            f"Escalation esc-1 (manual) on Test screening partnership: {reason}")
        state = await accord.escalation(wf, "esc-1")
        assert (state.status, state.level, state.raised_by, state.channel) == (EscalationStatus.open, level, raised_by, channel)

        async def level_attribute() -> None:
            attrs = (await dev_env.client.get_workflow_handle(wf).describe()).typed_search_attributes
            assert attrs.get(sa.ESCALATION_LEVEL) == level and attrs.get(sa.STATUS) == "escalated"

        await eventually(level_attribute)
        await child.terminate(reason="test finished")


async def test_escalation_cli_show_ack_care_resolve_and_refusals(dev_env, settings, accord_for, tmp_path):
    accord = accord_for(dev_env)
    address = dev_env.client.service_client.config.target_host
    at = ["--address", address]
    async with running_worker(dev_env.client, settings):
        definition = screening_definition()
        wf = await accord.start(definition)
        pid = definition.id
        assert (await cli(["escalate", pid, "--reason", "Vendor silent", "--level", "1", *at])).exit_code == 0

        listed = await cli(["escalation", "list", pid, *at])
        assert listed.exit_code == 0 and "esc-1" in listed.output and "Vendor silent" in listed.output
        shown = await cli(["escalation", "show", pid, "esc-1", *at])
        assert shown.exit_code == 0, shown.output
        for text in ("Escalation esc-1", "status: open", "Delivery leads", "arun, bo", "Vendor silent", "CARE"):
            assert text in shown.output, text
        # Times in the reader's zone, named (--zone, as every command that shows times).
        raised = format_instant((await accord.escalation(wf, "esc-1")).opened_at, "Asia/Kolkata")
        assert raised in (await cli(["escalation", "list", pid, *at, "--zone", "Asia/Kolkata"])).output
        assert f"raised {raised} by ops" in (await cli(["escalation", "show", pid, "esc-1", *at, "--zone", "Asia/Kolkata"])).output

        ack = await cli(["escalation", "ack", pid, "esc-1", "--as", "arun", "--note", "Calling them today", *at])
        assert ack.exit_code == 0 and "stops climbing" in ack.output
        again = await cli(["escalation", "ack", pid, "esc-1", "--as", "arun", *at])
        assert again.exit_code == 1 and again.output.startswith("refused: arun already acknowledged it")
        early = await cli(["escalation", "resolve", pid, "esc-1", "--resolution", "Done", *at])
        assert early.exit_code == 1 and "Record the CARE steps first" in early.output

        for args in (["clarify", "Three emails unanswered since May."], ["acknowledge", "Acme is blocked.", "--as", "arun"],
                     ["acknowledge", "Beta's vendor changed owner.", "--party", "beta"], ["reframe", "Both need the data."],
                     ["explore", "Weekly call with the vendor."]):
            r = await cli(["escalation", "care", pid, "esc-1", *args, *at])
            assert r.exit_code == 0, r.output
        assert "The CARE record is complete" in r.output
        bad_step = await cli(["escalation", "care", pid, "esc-1", "vent", "text", *at])
        assert bad_step.exit_code == 2

        broken = tmp_path / "amended.yaml"
        broken.write_text("version: 1\nid: " + pid + "\nname: x\n")
        r = await cli(["escalation", "resolve", pid, "esc-1", "--resolution", "Weekly call", "--amendment", str(broken), *at])
        assert r.exit_code == 1 and f"{broken}:" in r.output and "nothing was sent" in r.output
        assert "Traceback" not in r.output
        assert (await accord.escalation(wf, "esc-1")).status == EscalationStatus.acknowledged

        import yaml

        good = tmp_path / "good.yaml"
        good.write_text(yaml.safe_dump(definition.model_dump(mode="json", exclude_none=True), sort_keys=False))
        r = await cli(["escalation", "resolve", pid, "esc-1", "--resolution", "Weekly call", "--amendment", str(good),
                       "--as", "bo", *at])
        # The file is the definition in force: checked, then refused by the partnership as no change.
        assert r.exit_code == 0 and "its amendment goes to approval" in r.output

        async def back_in_care() -> None:
            assert (await accord.escalation(wf, "esc-1")).amendment_outcome == "refused"

        await eventually(back_in_care)
        r = await cli(["escalation", "resolve", pid, "esc-1", "--resolution", "Weekly call", "--as", "bo", *at])
        assert r.exit_code == 0 and "The escalation is resolved." in r.output
        final = await accord.escalation(wf, "esc-1")
        assert (final.status, final.closed_by, final.closed_channel) == (EscalationStatus.resolved, "bo", Channel.cli)
        assert final.care.acknowledge["acme"].by == "arun" and final.care.acknowledge["beta"].by == "ops"

        shown = await cli(["escalation", "show", pid, "esc-1", *at])
        assert "resolved by bo" in shown.output and "resolution: Weekly call" in shown.output
        as_json = await cli(["escalation", "show", pid, "esc-1", "--json", *at])
        assert json.loads(as_json.output)["status"] == "resolved"
        late = await cli(["escalation", "withdraw", pid, "esc-1", "--reason", "late", *at])
        assert late.exit_code == 1 and late.output.strip() == "refused: This escalation is already resolved by bo; nothing was changed."
        missing = await cli(["escalation", "ack", pid, "esc-9", *at])
        assert missing.exit_code == 1 and "has no escalation 'esc-9'" in missing.output and "Traceback" not in missing.output
        nobody = await cli(["escalation", "show", "no-such-partnership", "esc-1", *at])
        assert nobody.exit_code == 1 and "no partnership workflow" in nobody.output


def test_apikey_create_prints_the_key_once_and_its_hashed_entry(monkeypatch):
    result = CliRunner().invoke(app, ["apikey", "create", "deploy-bot", "--role", "ops"])
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert key.startswith("acc_") and len(key) >= 4 + 43
    entry = json.loads(result.stderr.strip().splitlines()[-1])
    assert entry == {"name": "deploy-bot", "role": "ops", "sha256": apikeys.digest(key)}
    assert key not in result.stderr
    # What the app reads from ACCORD_API_KEYS.
    monkeypatch.setenv("ACCORD_API_KEYS", json.dumps([entry]))
    configured = Settings()
    assert apikeys.find(configured.api_keys, key).name == "deploy-bot"
    assert apikeys.find(configured.api_keys, key + "x") is None
    bad = CliRunner().invoke(app, ["apikey", "create", "no spaces", "--role", "viewer"])
    assert bad.exit_code == 1 and "not a usable key name" in bad.output
