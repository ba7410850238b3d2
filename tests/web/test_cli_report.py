"""`accord report` against the real dev server: both files for a running partnership, clear errors."""

from __future__ import annotations

import json

from accord.models import Channel, MetricObservationInput
from tests.support.helpers import state_where, unique
from tests.support.lifecycle import to_active
from tests.support.ops_helpers import cli
from tests.support.paths import DATA
from tests.support.workers import running_worker


async def test_cli_report_writes_the_report_and_the_audit_export(dev_env, settings, accord_for, tmp_path, monkeypatch):
    monkeypatch.setenv("ACCORD_DATA_DIR", str(settings.data_dir))
    address = dev_env.client.service_client.config.target_host
    accord = accord_for(dev_env)
    definition = unique(DATA / "operating.yaml")
    out = tmp_path / "out" / "nested"
    async with running_worker(dev_env.client, settings):
        wf = await accord.start(definition)
        await to_active(accord, wf)
        await accord.record_metric(wf, MetricObservationInput(metric_id="referrals", value=4, actor="abe", note="first month",
                                                              channel=Channel.cli))
        await state_where(accord, wf, lambda s: len(s.metrics["referrals"].observations) == 1)

        result = await cli(["report", definition.id, "--out", str(out), "--address", address])
        assert result.exit_code == 0, result.output
        report, audit = out / f"{definition.id}-report.html", out / f"{definition.id}-audit.json"
        assert f"report: {report}" in result.output and f"audit:  {audit}" in result.output

        html = report.read_text(encoding="utf-8")
        assert "<title>Referral partnership · status report" in html
        assert 'class="line-chart"' in html and 'data-value="4.0"' in html and "first month" in html
        export = json.loads(audit.read_text(encoding="utf-8"))
        assert export["workflow_id"] == wf and export["stage"] == "active"
        assert [(o["value"], o["actor"], o["channel"]) for o in export["metrics"][0]["observations"]] == [(4.0, "abe", "cli")]
        assert {d["actor"] for d in export["decisions"]} == {"ann", "ben"}

        # Run again: the files are replaced, nothing else is left in the folder.
        again = await cli(["report", wf, "--out", str(out), "--address", address])
        assert again.exit_code == 0, again.output
        assert sorted(p.name for p in out.iterdir()) == sorted([report.name, audit.name])

        missing = await cli(["report", "no-such-partnership", "--out", str(out), "--address", address])
        assert missing.exit_code == 1 and "Traceback" not in missing.output
        assert "partnership-no-such-partnership" in missing.output and len(missing.output.strip().splitlines()) == 1

        blocked = tmp_path / "a-file"
        blocked.write_text("not a folder")
        unwritable = await cli(["report", wf, "--out", str(blocked), "--address", address])
        assert unwritable.exit_code == 1 and "Traceback" not in unwritable.output
        assert unwritable.output.startswith(f"error: cannot write to {blocked}")
