"""The README's Python example runs as written: extracted from README.md and run as a script
(its own process, configured only by ACCORD_* variables, as a reader would run it) against
the dev server with a worker, it starts the sample partnership and takes an escalation from
raised to resolved."""

from __future__ import annotations

import asyncio
import os
import re
import sys

from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from accord.models import EscalationStatus
from tests.support import history_files
from tests.support.paths import ROOT
from tests.support.workers import record, running_worker

SAMPLE_WORKFLOW = "partnership-county-permits-modernisation"  # the example starts the sample under its own id


def readme_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    after = readme[readme.index("The same operations from Python"):]
    return re.search(r"```python\n(.*?)```", after, re.DOTALL).group(1)


async def _end(client, workflow_id: str) -> None:
    """Terminate the workflow and its children, keeping their histories for the replay test."""
    try:
        recorded = await history_files.everything_of(client, workflow_id)
    except RPCError:
        return  # never started
    record(recorded, "test_readme_example")
    for r in reversed(recorded):
        handle = client.get_workflow_handle(r.workflow_id)
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            await handle.terminate(reason="test finished")


async def test_the_readme_python_example_runs_as_written(dev_env, settings, accord_for, tmp_path):
    code = readme_example()
    assert "import" in code and "asyncio.run(main())" in code
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    accord = accord_for(dev_env)
    await _end(dev_env.client, SAMPLE_WORKFLOW)  # a run left by another test would make start fail
    env = {**os.environ, "ACCORD_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
           "ACCORD_TASK_QUEUE": settings.task_queue, "ACCORD_DATA_DIR": str(settings.data_dir)}
    try:
        async with running_worker(dev_env.client, settings):
            process = await asyncio.create_subprocess_exec(
                sys.executable, str(script), cwd=ROOT, env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
            output = (await asyncio.wait_for(process.communicate(), 180))[0].decode()
            assert process.returncode == 0, output
            lines = output.splitlines()
            assert lines[0].startswith("screening "), output
            assert lines[1].startswith("refused: Record the CARE steps first"), output
            assert lines[-1] == "resolved Weekly data call", output
            [record] = (await accord.state(SAMPLE_WORKFLOW)).escalations
            escalation = await accord.escalation(SAMPLE_WORKFLOW, record.id)
            assert (escalation.status, escalation.closed_by) == (EscalationStatus.resolved, "nora-prime")
    finally:
        await _end(dev_env.client, SAMPLE_WORKFLOW)
