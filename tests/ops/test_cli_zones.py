"""The CLI shows times in the reader's zone, named: `--zone`, else ACCORD_ZONE, else the machine's
zone (TZ, /etc/timezone, /etc/localtime), else UTC; `--json` stays ISO 8601 in UTC.

On the real dev server, through the real `accord` command (typer's runner, in this process).
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

from typer.testing import CliRunner

from accord.cli import app
from accord.logic.time_display import format_instant
from tests.support.helpers import eventually, state_where, unique
from tests.support.paths import DATA
from tests.support.workers import running_worker


async def cli(args: list[str], **env: str):
    # CliRunner sets these variables for the call and restores them after: TZ and ACCORD_ZONE
    # unset unless a call gives them, whatever the environment the tests run in.
    return await asyncio.to_thread(CliRunner().invoke, app, args, env={"TZ": None, "ACCORD_ZONE": None, **env})


def tables(output: str) -> str:
    """What `accord status` prints below the stage's summary line: the tasks and approvals."""
    return output.split("Tasks", 1)[1]


async def test_status_list_watch_and_report_show_times_in_the_readers_zone(dev_env, settings, accord_for, tmp_path):
    address = dev_env.client.service_client.config.target_host
    at = ["--address", address]
    accord = accord_for(dev_env)
    async with running_worker(dev_env.client, settings):
        wf = await accord.start(unique(DATA / "screening.yaml"))
        state = await state_where(accord, wf, lambda s: "capability" in s.tasks, timeout=30)
        due = state.tasks["capability"].due_at
        kolkata, new_york, berlin, utc = (format_instant(due, z) for z in ("Asia/Kolkata", "America/New_York",
                                                                           "Europe/Berlin", None))
        assert kolkata.endswith("IST (Asia/Kolkata)") and utc.endswith("UTC")

        # --zone: every time in it, named. (The stage's summary line above the tables is the
        # workflow's own text, written once for everyone, in UTC.)
        status = await cli(["status", wf, *at, "--zone", "Asia/Kolkata"])
        assert status.exit_code == 0, status.output
        assert kolkata in tables(status.output) and utc not in tables(status.output)
        watched = await cli(["watch", wf, "--once", *at, "--zone", "Asia/Kolkata"])
        assert watched.exit_code == 0, watched.output
        assert f"next deadline {format_instant(state.next_deadline(), 'Asia/Kolkata')}" in watched.output

        async def listed() -> None:
            shown = await cli(["list", "--stage", "screening", *at, "--zone", "Asia/Kolkata"])
            assert format_instant(state.next_deadline(), "Asia/Kolkata") in shown.output, shown.output

        await eventually(listed)

        # No --zone: the machine's zone, from TZ as the C library reads it; ACCORD_ZONE overrides it.
        by_machine = await cli(["status", wf, *at], TZ="America/New_York")
        assert new_york in tables(by_machine.output) and utc not in tables(by_machine.output)
        by_setting = await cli(["status", wf, *at], TZ="America/New_York", ACCORD_ZONE="Europe/Berlin")
        assert berlin in tables(by_setting.output) and new_york not in by_setting.output
        plain = await cli(["status", wf, *at], TZ="UTC")
        assert utc in tables(plain.output)

        # A zone the database does not know is refused with its advice, not replaced by UTC.
        wrong = await cli(["status", wf, *at, "--zone", "Asia/Kolkatta"])
        assert wrong.exit_code == 2 and "Asia/Kolkata" in wrong.output and "did you mean" in wrong.output

        # JSON is for machines: ISO 8601 in UTC, whatever the zone.
        as_json = await cli(["status", wf, *at, "--json", "--zone", "Asia/Kolkata"])
        shown_due = json.loads(as_json.output)["tasks"]["capability"]["due_at"]
        assert shown_due.endswith(("Z", "+00:00")) and datetime.fromisoformat(shown_due) == due
        assert "IST" not in as_json.output

        # The report: times in --zone, named.
        written = await cli(["report", wf, "--out", str(tmp_path), *at, "--zone", "Asia/Kolkata"])
        assert written.exit_code == 0, written.output
        html = next(tmp_path.glob("*-report.html")).read_text(encoding="utf-8")
        assert f"<dt>Started</dt><dd>{format_instant(state.started_at, 'Asia/Kolkata')}</dd>" in html
        header = html.split("<header", 1)[1].split("</header>", 1)[0]
        assert "IST (Asia/Kolkata)" in header and "UTC" not in header
        audit = json.loads(next(tmp_path.glob("*-audit.json")).read_text(encoding="utf-8"))
        assert "IST" not in json.dumps(audit)
