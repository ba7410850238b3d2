"""Operator comforts: `accord watch` against a real workflow, `accord diagram` on the
samples, the web app's readiness check."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from typer.testing import CliRunner

import definitions
from accord.cli import app
from accord.client import Accord
from accord.models import Channel, DecisionInput, DecisionKind
from accord.ops.diagram import mermaid
from accord.web.app import create_app
from tests.support.helpers import state_where, unique
from tests.support.paths import DATA, ROOT
from tests.support.workers import running_worker

SAMPLES = sorted((ROOT / "definitions" / "samples").glob("*.yaml"))


async def cli(args: list[str]):
    return await asyncio.to_thread(CliRunner().invoke, app, args)


async def test_watch_follows_a_partnership_until_a_stage(dev_env, settings, accord_for, monkeypatch):
    monkeypatch.setenv("ACCORD_DATA_DIR", str(settings.data_dir))
    address = dev_env.client.service_client.config.target_host
    accord = accord_for(dev_env)
    async with running_worker(dev_env.client, settings):
        wf = await accord.start(unique(DATA / "mou.yaml"))
        await state_where(accord, wf, lambda s: "go-no-go" in s.approvals)

        once = await cli(["watch", wf, "--once", "--address", address])
        assert once.exit_code == 0, once.output
        assert "stage screening" in once.output and "approval " in once.output
        assert "waiting on alice" in once.output

        # The real command, piped (as into a file or a log): the current state comes first, at once,
        # before anything changes; then a line per change; then the state it stopped at.
        watching = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "accord"), "watch", wf, "--until", "mou", "--interval", "0.2",
            "--timeout", "120", "--address", address, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        try:
            first: list[str] = []
            while not any("waiting on alice" in line for line in first):
                line = await asyncio.wait_for(watching.stdout.readline(), 60)  # bounds a hang: nothing printed
                assert line, "accord watch ended without printing the state: " + "".join(first)
                first.append(line.decode())
            assert "stage screening" in "".join(first)
            await accord.decide(wf, DecisionInput(approval_id="go-no-go", actor="alice", decision=DecisionKind.approve,
                                                  comment="Go", channel=Channel.api))
            rest = (await asyncio.wait_for(watching.stdout.read(), 120)).decode()
            assert await watching.wait() == 0, rest
        finally:
            if watching.returncode is None:
                watching.kill()
                await watching.wait()
        assert re.search(r"decision on .*: alice approve \(Go\)", rest), rest
        assert "stage screening -> mou" in rest
        assert "stage mou" in rest.split("stage screening -> mou")[1]  # the state it stopped at, last

        short = await cli(["watch", wf, "--until", "launch", "--interval", "0.2", "--timeout", "0.5", "--address", address])
        assert short.exit_code == 2 and "timed out before stage launch" in short.output

        await dev_env.client.get_workflow_handle(wf).terminate(reason="test finished")
        ended = await cli(["watch", wf, "--address", address, "--interval", "0.2"])
        assert ended.exit_code == 0 and "workflow terminated" in ended.output
    bad = await cli(["watch", wf, "--until", "nowhere", "--address", address])
    assert bad.exit_code == 2 and "not a stage" in bad.output


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_diagram_shows_every_stage_task_approver_and_level(sample):
    d = definitions.load(sample)
    result = CliRunner().invoke(app, ["diagram", str(sample)])
    assert result.exit_code == 0, result.output
    text = result.output
    assert text == mermaid(d)
    assert text.startswith("flowchart TD\n")
    for item in d.screening.checklist:
        assert item.title.split("(")[0].strip()[:30] in text
    for level in d.escalation.ladder:
        assert level.name in text
    people = d.stakeholders()
    for who in d.screening.go_no_go.approvers:
        assert people[who].name in text
    if d.mou:
        assert "Signature" in text and f"deadline {d.mou.deadline}" in text
    # Structure Mermaid needs: every subgraph closed; every edge between declared nodes or subgraphs.
    lines = [line.strip() for line in text.splitlines()]
    assert sum(line.startswith("subgraph ") for line in lines) == lines.count("end")
    declared = set(re.findall(r"^\s*(?:subgraph )?([A-Za-z_][\w]*)\s*(?:\[|\(|\{|>|\[/)", text, re.MULTILINE))
    for src, dst in re.findall(r"^\s*(\w+)(?:\[[^\]]*\]|\([^)]*\)|>[^\]]*\])?\s*-\.?->?(?:\|[^|]*\|)?\s*(\w+)", text, re.MULTILINE):
        assert src in declared, (src, text)
        assert dst in declared or re.search(rf"\b{dst}\(\[", text), (dst, text)


def test_diagram_of_a_broken_file_reports_problems():
    broken = next((DATA / "broken").glob("*.yaml"))
    result = CliRunner().invoke(app, ["diagram", str(broken)])
    assert result.exit_code == 1 and "Traceback" not in result.output


async def test_web_readiness_checks_the_temporal_connection(dev_env, settings):
    ready_app = create_app(settings, Accord(dev_env.client, settings))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=ready_app), base_url="http://accord.test") as http:
        r = await http.get("/readyz")
        assert r.status_code == 200 and r.json() == {"status": "ready", "temporal": "ok",
                                                     "temporal_address": settings.temporal_address}
        assert (await http.get("/healthz")).json() == {"status": "ok"}

    nowhere = await Client.connect("127.0.0.1:1", lazy=True)
    down_app = create_app(settings, Accord(nowhere, settings))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=down_app), base_url="http://accord.test") as http:
        r = await http.get("/readyz")
        assert r.status_code == 503 and r.json()["status"] == "not ready"
        assert r.json()["temporal"].startswith("unreachable")
        assert (await http.get("/healthz")).status_code == 200  # alive, just not ready


async def test_setup_registers_the_search_attributes_in_a_new_namespace(dev_env):
    import uuid
    from datetime import timedelta

    from google.protobuf.duration_pb2 import Duration
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
    from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest

    from accord import search_attributes as sa

    namespace = f"accord-{uuid.uuid4().hex[:8]}"
    await dev_env.client.workflow_service.register_namespace(RegisterNamespaceRequest(
        namespace=namespace, workflow_execution_retention_period=Duration(seconds=int(timedelta(days=1).total_seconds()))))
    address = dev_env.client.service_client.config.target_host
    result = await cli(["setup", "--address", address, "--namespace", namespace, "--wait", "30"])
    assert result.exit_code == 0, result.output
    assert f"search attributes registered in {namespace}" in result.output
    listed = await dev_env.client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
    assert {k.name for k in sa.ALL} <= set(listed.custom_attributes)
    again = await cli(["setup", "--address", address, "--namespace", namespace])  # idempotent
    assert again.exit_code == 0, again.output

    down = await cli(["setup", "--address", "127.0.0.1:1"])
    assert down.exit_code == 1 and "Traceback" not in down.output
