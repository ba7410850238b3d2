"""Hostile input, tried as an attacker would: every row of tests/support/hostile.py, through
`accord validate` (its own process, under a 256 MB address-space limit, as an unprivileged
user) and through the API's start endpoint (the real app under uvicorn, over real HTTP).

A refused input gets a clear message (`file:line: path: message` from `accord validate`
with exit 1; a 4xx with `problems` or `detail` from the API), an accepted one goes through,
and nothing gives a traceback, a crash, a memory error or a 5xx. The figures (counts, time
and memory of every input) are printed at the end of the run.

No assertion is on time (team rule): the bound that is asserted is memory, by the limit the
process runs under. Times are printed, as figures, and a run stuck for a minute is killed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

import accord.web.api as api_module
from accord import apikeys
from accord.client import Accord
from accord.config import Settings
from tests.support import confined, hostile, run_record
from tests.support.browser import listen, serving
from tests.support.hostile import RUN, Case, Outcome, alias_bomb, rows
from tests.support.paths import ROOT

MEMORY_LIMIT = 256 * 2**20
ISSUE_LINE = re.compile(r"^(?P<file>.+?):(?P<line>[1-9][0-9]*): (?P<path>[^:\s][^:]*): (?P<message>\S.*)$")
KEY, OPS = apikeys.create("hostile-input-suite", "ops")

RESULTS: list[tuple[Case, Outcome]] = []


# ---------------------------------------------------------------------- figures


@pytest.fixture(scope="module", autouse=True)
def figures() -> Iterator[None]:
    """The figures, in the run's summary (shown without -s; tests/support/run_record.py)."""
    yield
    run_record.figures("hostile input: figures", hostile.figures(RESULTS))


def judge(case: Case, outcome: Outcome) -> list[str]:
    """Everything wrong with an outcome, for any way: empty when the case went as it must."""
    wrong = []
    if outcome.crashed:
        wrong.append(f"the run went wrong: {outcome.crashed}")
    if "Traceback" in outcome.output:
        wrong.append("a traceback was shown")
    if case.expect == "accepted" and outcome.refused:
        wrong.append("refused, but it must be accepted")
    if case.expect == "refused":
        if not outcome.refused:
            wrong.append("accepted, but it must be refused")
        elif not any(case.says in line for line in outcome.lines):
            wrong.append(f"no problem says {case.says!r}")
    return wrong


def report(case: Case, outcome: Outcome, wrong: list[str]) -> str:
    return f"{case.id}: {'; '.join(wrong)}\n--- output ---\n{outcome.output[-3000:]}"


# ---------------------------------------------------------------------- way: validate


@pytest.fixture(scope="module")
def inputs_folder() -> Iterator[Path]:
    """Where the inputs are written: a folder `nobody` can read (tmp_path is root's only)."""
    folder = Path(tempfile.mkdtemp(prefix="accord-hostile-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def run_validate(case: Case, folder: Path) -> Outcome:
    where = Path(tempfile.mkdtemp(dir=folder))
    where.chmod(0o755)
    if isinstance(case.input, bytes):
        target = where / "definition.yaml"
        target.write_bytes(case.input)
    else:
        target = case.input(where)
    report = where / "report.json"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "NO_COLOR": "1", "TERM": "dumb"}
    command = [sys.executable, "-m", "tests.support.confined", str(report), str(MEMORY_LIMIT), "--",
               sys.executable, "-m", "accord.cli", "validate", str(target)]
    run = subprocess.run(command, check=False, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                         timeout=confined.STUCK_SECONDS * 2)
    stdout, stderr = run.stdout.decode("utf-8", "replace"), run.stderr.decode("utf-8", "replace")
    assert run.returncode == 0, f"the launcher failed: {stderr}"
    figures = json.loads(report.read_text())
    code, lines = figures["status"], stdout.splitlines()
    crashed = ""
    if code not in (0, 1):
        crashed = f"exit status {code}" + (" (stopped: it ran for a minute)" if code == -9 else "")
    elif "MemoryError" in stdout + stderr:
        crashed = "MemoryError"
    elif code == 1 and not lines:
        crashed = "exit 1 without a problem line"
    malformed = [line for line in lines if not ISSUE_LINE.match(line)]
    if malformed:
        crashed = f"lines not in the form file:line: path: message: {malformed[:3]}"
    messages = [m["message"] for m in map(ISSUE_LINE.match, lines) if m]
    return Outcome(refused=code == 1, lines=messages, output=stdout + stderr, status=code, seconds=figures["seconds"],
                   cpu_seconds=figures["cpu_seconds"], max_rss_kb=figures["max_rss_kb"], crashed=crashed)


@pytest.mark.parametrize("case", rows("validate"), ids=lambda c: f"{c.cls}: {c.name}")
def test_validate(case: Case, inputs_folder: Path) -> None:
    outcome = run_validate(case, inputs_folder)
    RESULTS.append((case, outcome))
    wrong = judge(case, outcome)
    assert not wrong, report(case, outcome, wrong)


# ---------------------------------------------------------------------- way: api


@dataclass
class Served:
    http: httpx.AsyncClient
    started: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
async def served(dev_env, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    """The web app (with the API) under uvicorn, over real HTTP, on the dev server. No worker:
    an accepted definition only needs its partnership started (and is terminated afterwards)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("hostile-api") / "accord", task_queue=f"hostile-{RUN}",
                        api_keys=[OPS])
    accord = Accord(dev_env.client, settings)
    listener, base = listen(settings)
    client = httpx.AsyncClient(base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {KEY}"}, timeout=confined.STUCK_SECONDS)
    async with serving(settings, accord, listener), client:
        app = Served(client)
        yield app
    for workflow_id in app.started:
        await dev_env.client.get_workflow_handle(workflow_id).terminate(reason="test finished")


async def _chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


async def run_api(case: Case, served: Served) -> Outcome:
    assert isinstance(case.input, bytes)
    content = _chunks(case.input) if case.chunked else case.input
    started = time.perf_counter()
    r = await served.http.post("/partnerships", content=content, headers={"Content-Type": case.media})
    seconds = time.perf_counter() - started
    body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
    problems = body.get("problems", []) if isinstance(body, dict) else []
    lines = [str(body.get("detail", ""))] + [str(p.get("message")) for p in problems]
    crashed = ""
    if r.status_code == 201:
        served.started.append(body["workflow_id"])
    elif not 400 <= r.status_code < 500:
        crashed = f"HTTP {r.status_code}"
    elif r.status_code == 422 and not (problems and all({"file", "line", "path", "message"} <= set(p) for p in problems)):
        crashed = "a 422 without problems (file, line, path, message)"
    elif not body.get("detail"):
        crashed = f"HTTP {r.status_code} without a detail"
    return Outcome(refused=400 <= r.status_code < 500, lines=lines, output=r.text, status=r.status_code,
                   seconds=seconds, crashed=crashed)


@pytest.mark.parametrize("case", rows("api"), ids=lambda c: f"{c.cls}: {c.name}")
async def test_api(case: Case, served: Served) -> None:
    outcome = await run_api(case, served)
    RESULTS.append((case, outcome))
    wrong = judge(case, outcome)
    assert not wrong, report(case, outcome, wrong)


async def test_api_parses_definitions_off_the_event_loop(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parse runs in a worker thread: uvicorn serves this test's event loop, which must stay
    free for everyone else while a hostile body is parsed (the real parse runs; it is only watched)."""
    threads: list[int] = []
    parse = api_module.parse

    def watched(*args, **kwargs):
        threads.append(threading.get_ident())
        return parse(*args, **kwargs)

    monkeypatch.setattr(api_module, "parse", watched)
    r = await served.http.post("/partnerships", content=alias_bomb(), headers={"Content-Type": "application/yaml"})
    assert r.status_code == 422, r.text
    assert threads and threading.get_ident() not in threads


# ---------------------------------------------------------------------- the table itself


def test_the_table_covers_what_the_issue_asks() -> None:
    table = hostile.table()
    for way in ("validate", "api"):
        mine = [c for c in table if c.way == way]
        assert sum(c.expect == "refused" for c in mine) >= 25
        assert any(c.expect == "accepted" and c.cls == "markup" for c in mine)
        assert all(c.says for c in mine if c.expect == "refused"), "every refusal names its message"
    assert {c.cls for c in table} >= {"encodings", "YAML tags", "aliases and nesting", "sizes", "paths", "markup"}
    assert len({c.id for c in table}) == len(table), "names are unique within a way"
