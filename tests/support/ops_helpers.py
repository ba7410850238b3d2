"""Real worker processes for the operations tests: start `accord worker` as an operator
would (environment variables only), scrape its /metrics, read its JSON logs."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from typer.testing import CliRunner

from accord.cli import app
from accord.ops.telemetry import free_loopback_port
from tests.support.paths import ROOT

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass
class WorkerProcess:
    process: subprocess.Popen
    identity: str
    metrics_port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}"

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines() if self.log_path.exists() else []

    def json_logs(self) -> list[dict]:
        out = []
        for line in self.log_lines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"worker {self.identity} exited {self.process.returncode}:\n" + "\n".join(self.log_lines()[-30:]))
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"worker {self.identity} not ready in {timeout} s:\n" + "\n".join(self.log_lines()[-30:]))

    def metrics(self) -> dict[tuple[str, frozenset], float]:
        return parse_prometheus(httpx.get(self.url + "/metrics", timeout=5).text)

    def terminate(self, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def start_worker(identity: str, tmp_path: Path, **env: str) -> WorkerProcess:
    """`python -m accord.cli worker` with ACCORD_* from ``env`` (names without the prefix)."""
    port = free_loopback_port()
    log_path = tmp_path / f"worker-{identity}.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    environment.update({
        "PYTHONPATH": str(ROOT),
        "ACCORD_WORKER_IDENTITY": identity,
        "ACCORD_METRICS_PORT": str(port),
        "ACCORD_METRICS_POLL_INTERVAL": "0.5",
        "ACCORD_LOG_FORMAT": "json",
        **{f"ACCORD_{k.upper()}": str(v) for k, v in env.items()},
    })
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "accord.cli", "worker"], cwd=ROOT, env=environment,
                                   stdout=log, stderr=subprocess.STDOUT)
    return WorkerProcess(process, identity, port, log_path)


def parse_prometheus(text: str) -> dict[tuple[str, frozenset], float]:
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match:
            labels = frozenset(_LABEL.findall(match.group(2) or ""))
            samples[(match.group(1), labels)] = float(match.group(3))
    return samples


def total(samples: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float:
    """Sum of a metric's samples whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


async def identities(client, workflow_id: str) -> set[str]:
    """Worker identities that ran workflow or activity tasks of a workflow (from its history)."""
    found = set()
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        for attrs in (event.workflow_task_started_event_attributes, event.activity_task_started_event_attributes):
            if attrs.identity:
                found.add(attrs.identity)
    return found


async def workflow_task_retries(client, workflow_id: str) -> int:
    """Workflow tasks of a workflow that timed out or failed: each ran the workflow code once more
    without replaying, so a metric emitted by the workflow may count once more for each."""
    retried = 0
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.HasField("workflow_task_timed_out_event_attributes") or event.HasField("workflow_task_failed_event_attributes"):
            retried += 1
    return retried


async def cli(args: list[str], input: str | None = None):
    return await asyncio.to_thread(CliRunner().invoke, app, args, input=input)
