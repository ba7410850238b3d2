"""Action latency: a POST on an approval link, through the real web app, until the decision is
recorded; against a raw ``execute_update`` of the same decision on the same server.

Partnerships of bench/data/approvals.yaml open a go/no-go on twenty approvers at once.
For each decision on the web path, the approver's link is opened (GET: the page and its
CSRF cookie and field, untimed) and the form is posted (timed): the app answers once the
workflow's update has completed, i.e. once the decision is recorded. The raw path sends
the same update (``execute_update("decide", DecisionInput)``) to a twin partnership. The
two paths alternate decision by decision, serially, so both see the same load. The web
app is uvicorn on 127.0.0.1 in the benchmark's process, reached with httpx; the worker
is its own process. Yardsticks: a raw update on a minimal workflow, and a one-activity
workflow from start to result.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

import definitions
from accord import tokens
from accord.client import Accord
from accord.models import ActionLink, Channel, DecisionInput, DecisionKind, UpdateResult
from accord.storage import open_storage
from accord.web.server import build_server
from bench.common import bench_settings, gather_limited, summary_ms, worker_process
from bench.yardstick import Parked, Yardstick

APPROVALS = Path(__file__).parent / "data" / "approvals.yaml"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def run(env, root: Path, decisions: int = 1000, log=print) -> dict:
    port = _free_port()
    settings = bench_settings(root, "latency").model_copy(
        update={"web_port": port, "web_host": "127.0.0.1", "web_base_url": f"http://127.0.0.1:{port}"})
    accord = Accord(env.client, settings)
    definition = definitions.load(APPROVALS)
    approvers = definition.screening.go_no_go.approvers
    per = len(approvers)
    count = -(-decisions // per)
    tag = uuid.uuid4().hex[:6]

    async with worker_process(env, settings, root / "latency-worker.log"):
        def start(kind: str, i: int):
            return accord.start(definition.model_copy(update={"id": f"approvals-{tag}-{kind}-{i:04d}"}))

        web_wfs = await gather_limited((start("web", i) for i in range(count)), 20)
        raw_wfs = await gather_limited((start("raw", i) for i in range(count)), 20)
        deadline = time.monotonic() + 600
        async with await open_storage(settings) as store:
            while sum(1 for e in await store.list_sends() if e.status == "sent") < 2 * count * per:  # every request out
                if time.monotonic() > deadline:
                    raise TimeoutError("the approval requests did not all go out")
                await asyncio.sleep(1)
        await asyncio.sleep(2)

        server = build_server(settings, accord, log_level="warning", access_log=False)
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.05)
        web, raw, queries, lookups = [], [], [], []
        try:
            async with httpx.AsyncClient(base_url=settings.web_base_url, timeout=60) as http:
                for n in range(count * per):
                    wf_web, wf_raw, who = web_wfs[n // per], raw_wfs[n // per], approvers[n % per]
                    link = ActionLink(action="decision", ref="go-no-go", round=1,
                                      expires_at=datetime.now(UTC) + timedelta(days=30))
                    path = f"/a/{tokens.mint(wf_web, who, link, settings.keys)}"
                    page = await http.get(path)
                    assert page.status_code == 200, page.text[:500]
                    form = {"csrf": _CSRF.search(page.text).group(1), "decision": "approve"}
                    for first in (("web", "raw") if n % 2 == 0 else ("raw", "web")):
                        if first == "web":
                            t = time.perf_counter()
                            r = await http.post(path, data=form)
                            web.append(time.perf_counter() - t)
                            assert r.status_code == 200 and "recorded" in r.text, r.text[:500]
                        else:
                            t = time.perf_counter()
                            out = await env.client.get_workflow_handle(wf_raw).execute_update(
                                "decide", DecisionInput(approval_id="go-no-go", actor=who, decision=DecisionKind.approve,
                                                        channel=Channel.api), result_type=UpdateResult)
                            raw.append(time.perf_counter() - t)
                            assert "recorded" in out.message
                    if n % 5 == 0:  # what a refused POST or a GET adds: the state query, then the definition
                        t = time.perf_counter()
                        await accord.state(wf_raw)
                        queries.append(time.perf_counter() - t)
                        t = time.perf_counter()
                        await accord.definition(wf_raw)
                        lookups.append(time.perf_counter() - t)
                    if n and n % 200 == 0:
                        log(f"  latency: {n} decisions per path")
        finally:
            server.should_exit = True
            await serving

        # Yardsticks on the same server and worker.
        parked = await env.client.start_workflow(Parked.run, "x", id=f"bench-poke-{tag}", task_queue=settings.task_queue)
        pokes = []
        for _ in range(min(decisions, 500)):
            t = time.perf_counter()
            await parked.execute_update(Parked.poke, "x")
            pokes.append(time.perf_counter() - t)
        await parked.terminate()
        runs = []
        for i in range(200):
            t = time.perf_counter()
            await env.client.execute_workflow(Yardstick.run, "x", id=f"bench-yard-{tag}-{i}", task_queue=settings.task_queue)
            runs.append(time.perf_counter() - t)

    w, r_, y = summary_ms(web), summary_ms(raw), summary_ms(pokes)
    return {
        "about": __doc__.split("\n\n", 1)[1].replace("\n", " ").strip(),
        "web": w, "raw": r_, "yardstick_update": y, "yardstick_workflow": summary_ms(runs), "query": summary_ms(queries),
        "definition_query": summary_ms(lookups),
        "ratio_p50": round(w["p50_ms"] / r_["p50_ms"], 2), "ratio_p99": round(w["p99_ms"] / r_["p99_ms"], 2),
        "raw_vs_yardstick_p50": round(r_["p50_ms"] / y["p50_ms"], 2),
    }
