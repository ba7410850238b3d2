"""Start, query and list partnerships on the real dev server, through the client and the CLI."""

from __future__ import annotations

from datetime import datetime

from typer.testing import CliRunner

from accord import search_attributes as sa
from accord.cli import app
from accord.models import Channel, Stage
from tests.support.helpers import (
    ALIGNED,
    eventually,
    pass_checklist,
    state_where,
    submit_statements,
    unique,
)
from tests.support.ops_helpers import cli
from tests.support.paths import DATA
from tests.support.workers import running_worker


async def test_start_query_and_list_by_search_attribute(dev_env, settings, accord_for):
    accord = accord_for(dev_env)
    definition = unique(DATA / "screening.yaml")
    async with running_worker(dev_env.client, settings):
        wf = await accord.start(definition)
        state = await state_where(accord, wf, lambda s: len(s.tasks) == 7)
        assert state.stage == Stage.screening
        assert state.name == definition.name
        assert {t.owner for t in state.tasks.values()} == {"alice", "arun", "bea", "bo"}

        description = await dev_env.client.get_workflow_handle(wf).describe()
        attrs = description.typed_search_attributes
        assert attrs.get(sa.STAGE) == "screening"
        assert attrs.get(sa.PARTNERSHIP) == definition.name
        assert attrs.get(sa.STATUS) == "on_track"
        assert isinstance(attrs.get(sa.NEXT_DEADLINE), datetime)
        assert attrs.get(sa.NEXT_DEADLINE) == min(t.due_at for t in state.tasks.values())
        # What the Temporal UI shows: the summary given at start and the live details.
        assert await description.static_summary() == f"Partnership: {definition.name}"
        metadata = await dev_env.client.get_workflow_handle(wf).query("__temporal_workflow_metadata")
        assert "**Stage:** screening" in metadata.current_details
        assert "Legal and compliance review" in metadata.current_details

        async def listed() -> None:
            rows = await accord.list(stage="screening")
            assert wf in [r.workflow_id for r in rows]
            assert wf not in [r.workflow_id for r in await accord.list(stage="active")]

        await eventually(listed)

        # Upserts carry only what changed: the capability audit done moves no deadline (the
        # statements are due first), the statements in move it; the name is upserted once.
        await pass_checklist(accord, wf, {"capability": "arun"})
        await submit_statements(accord, wf, ALIGNED)
        upserts = [
            dict(e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields)
            for e in (await accord.handle(wf).fetch_history()).events
            if e.HasField("upsert_workflow_search_attributes_event_attributes")
        ]
        upserts = [fields for fields in upserts if set(fields) != {"TemporalChangeVersion"}]  # the SDK's, for patches
        current: dict[str, bytes] = {}
        for fields in upserts:
            assert all(current.get(key) != p.data for key, p in fields.items()), f"unchanged values upserted: {fields}"
            current.update((key, p.data) for key, p in fields.items())
        assert len(upserts) >= 2 and all(sa.PARTNERSHIP.name not in fields for fields in upserts[1:])
        assert any(sa.NEXT_DEADLINE.name in fields for fields in upserts[1:])




async def test_cli_start_status_list_against_a_given_address(dev_env, settings, accord_for, tmp_path, monkeypatch):
    definition = unique(DATA / "screening.yaml")
    path = tmp_path / "def.yaml"
    import yaml

    path.write_text(yaml.safe_dump(definition.model_dump(mode="json")))
    monkeypatch.setenv("ACCORD_TASK_QUEUE", settings.task_queue)
    monkeypatch.setenv("ACCORD_DATA_DIR", str(settings.data_dir))
    address = dev_env.client.service_client.config.target_host
    accord = accord_for(dev_env)
    async with running_worker(dev_env.client, settings):
        result = await cli(["start", str(path), "--address", address])
        assert result.exit_code == 0, result.output
        wf = f"partnership-{definition.id}"
        accord.started.append(wf)
        assert wf in result.output and "/namespaces/default/workflows/" + wf in result.output

        again = await cli(["start", str(path), "--address", address])
        assert again.exit_code == 1 and "already running" in again.output

        await state_where(accord, wf, lambda s: len(s.tasks) == 7)
        status = await cli(["status", definition.id, "--address", address])
        assert status.exit_code == 0, status.output
        assert "screening" in status.output and "Legal and compliance review" in status.output

        async def listed() -> None:
            out = (await cli(["list", "--stage", "screening", "--address", address])).output
            assert wf in out

        await eventually(listed)
        refused = await cli(["complete", wf, "legal", "--as", "nobody", "--address", address])
        assert refused.exit_code == 1 and "not a stakeholder" in refused.output
        done = await cli(["complete", wf, "legal", "--as", "bo", "--result", "cleared", "--address", address])
        assert done.exit_code == 0 and "marked done" in done.output
        state = await accord.state(wf)
    assert state.tasks["legal"].completed_by == "bo" and state.tasks["legal"].channel.value == "cli"


def test_cli_reports_unreachable_server_without_traceback(tmp_path):
    result = CliRunner().invoke(app, ["status", "x", "--address", "127.0.0.1:1"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output


async def test_cli_mou_upload_and_diff(dev_env, settings, accord_for, tmp_path, monkeypatch):
    from accord.models import DecisionInput, DecisionKind
    from tests.support.lifecycle import to_mou_stage

    monkeypatch.setenv("ACCORD_DATA_DIR", str(settings.data_dir))
    address = dev_env.client.service_client.config.target_host
    accord = accord_for(dev_env)
    async with running_worker(dev_env.client, settings):
        wf = await accord.start(unique(DATA / "mou.yaml"))
        await to_mou_stage(accord, wf)
        await accord.decide(wf, DecisionInput(approval_id="mou", actor="bea", decision=DecisionKind.request_changes,
                                              comment="Spell out joint IP"))
        await state_where(accord, wf, lambda s: s.mou.awaiting_revision)

        shown = await cli(["mou", "show", wf, "1", "--address", address])
        assert shown.exit_code == 0 and "Each party keeps its own IP." in shown.output
        revised = tmp_path / "mou-v2.md"
        revised.write_text(shown.output.split("\n", 1)[1].replace(
            "Each party keeps its own IP.", "Each party keeps its own IP; joint work is owned jointly."))
        uploaded = await cli(["mou", "upload", wf, str(revised), "--note", "Joint IP", "--address", address])
        assert uploaded.exit_code == 0, uploaded.output
        assert "version 2" in uploaded.output

        difference = await cli(["mou", "diff", wf, "1", "2", "--address", address])
        assert difference.exit_code == 0
        assert "-Each party keeps its own IP." in difference.output
        assert "+Each party keeps its own IP; joint work is owned jointly." in difference.output
        missing = await cli(["mou", "diff", wf, "1", "7", "--address", address])
        assert missing.exit_code == 1 and "no MOU version 7" in missing.output
        state = await accord.state(wf)
    assert state.approvals["mou"].round == 2


async def test_escalation_raised_by_update_runs_as_a_visible_child(dev_env, settings, accord_for):
    from accord.models import EscalationRequest

    accord = accord_for(dev_env)
    async with running_worker(dev_env.client, settings):
        wf = await accord.start(unique(DATA / "screening.yaml"))
        result = await accord.escalate(wf, EscalationRequest(reason="Data migration slipping", level=2, raised_by="ops",
                                                             channel=Channel.api))
        assert "level 2" in result.message
        state = await state_where(accord, wf, lambda s: s.escalations and s.escalations[0].workflow_id)
        child = dev_env.client.get_workflow_handle(state.escalations[0].workflow_id)
        description = await child.describe()
        assert description.workflow_type == "EscalationWorkflow"
        assert description.parent_id == wf
        assert "Data migration slipping" in (await description.static_summary())

        async def level_attribute() -> None:
            attrs = (await dev_env.client.get_workflow_handle(wf).describe()).typed_search_attributes
            assert attrs.get(sa.ESCALATION_LEVEL) == 2 and attrs.get(sa.STATUS) == "escalated"

        await eventually(level_attribute)
        await child.terminate(reason="test finished")
