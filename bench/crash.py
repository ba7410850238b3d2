"""The crash test over many seeds, outside CI: the worker process SIGKILLed four times per
seed while a batch of partnerships is driven, `accord recover` beside it, every partnership
compared with its fault-free twin (tests/support/faults.py: crash_run, the very run
tests/faults/test_faults_crash.py makes on its fixed seeds).

    PYTHONPATH=. .venv/bin/python -m bench --only crash               # seeds 100..109: 40 kills
    PYTHONPATH=. .venv/bin/python -m bench --only crash --seeds 20 --first-seed 500

Every seed is printed with its kills, recoveries and figures, and a seed that fails is
recorded with its message (the run goes on with the next one). A seed is replayed in the
test with ACCORD_FAULT_SEED=<seed>.
"""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path

from accord.client import Accord
from bench.common import bench_settings
from tests.support import history_files
from tests.support.fake_sendgrid import FakeSendGrid
from tests.support.faults import BATCH, crash_run, kill_plan


def _problems(run) -> list[str]:
    """What the test would fail on, beyond compare_runs (which raises)."""
    c = run.comparison
    out = [f"failed workflow tasks: {wf}: {f}" for wf, f in run.failed.items() if f]
    out += [f"stuck: {s}" for s in run.stuck]
    out += [f"delivered twice: {k}" for k, _ in c.twice] + [f"unknown outcome: {k}" for k in c.attempting]
    if len(run.kills) < 2:
        out.append("the batch finished before the worker could be killed twice")
    return out


async def _save_histories(client, settings, folder: Path) -> str:
    """Every run of the seed's partnerships (both task queues), to look at a failure afterwards."""
    for task_queue in (settings.task_queue, settings.task_queue + "-killed"):
        async for wf in client.list_workflows(f"TaskQueue = '{task_queue}'"):  # every run, reset ones too
            history = await client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
            history_files.save([history_files.Recorded(wf.id, wf.run_id, history)], folder, "crash")
    return str(folder)


async def run(env, root: Path, seeds: list[int], log=print) -> dict:
    per_seed = []
    for seed in seeds:
        log(f"  seed {seed}: " + "; ".join(f"{k.point}, {k.down:.2f} s down" for k in kill_plan(seed)), flush=True)
        settings = bench_settings(root, f"crash-{seed}-{uuid.uuid4().hex[:4]}")
        with FakeSendGrid() as sg:
            try:
                result = await crash_run(env.client, settings, sg, settings.data_dir, seed,
                                         lambda s: Accord(env.client, s), log=lambda line: log(f"    {line}", flush=True))
            except Exception as exc:  # noqa: BLE001 - recorded: one failing seed does not end the run
                notes = " ".join(getattr(exc, "__notes__", []))
                saved = await _save_histories(env.client, settings, root / f"crash-{seed}-histories")
                per_seed.append({"seed": seed, "outcome": f"FAILED: {type(exc).__name__}: {exc} ({notes})"[:3000],
                                 "histories": saved})
                log(f"  seed {seed}: {per_seed[-1]['outcome']}\n  its histories: {saved}", flush=True)
                continue
        problems = _problems(result)
        c = result.comparison
        per_seed.append({
            "seed": seed, "outcome": "; ".join(problems) if problems else "passed",
            "kills": result.kills, "kill_kinds": [list(k.kind) for k in result.plan[:len(result.kills)]],
            "recoveries": result.recoveries, "emails": c.sent, "twice": len(c.twice), "unknown_outcome": len(c.attempting),
            "decisions": c.decisions, "lost": c.lost, "stuck": len(result.stuck), "failed_tasks": sum(map(len, result.failed.values())),
            "retried_actions": len(result.retried), "resent": result.resent, "checked": result.checked,
            "driven_seconds": round(result.driven, 1), "restart_seconds": [round(r, 1) for r in result.restarts],
        })
        log("  " + result.report().replace("\n", "\n  "), flush=True)
    done = [s for s in per_seed if "kills" in s]
    kinds = Counter(" / ".join(k) for s in done for k in s["kill_kinds"])
    return {
        "about": __doc__.split("\n\n", 1)[0].replace("\n", " "),
        "seeds": seeds,
        "partnerships": {"killed": BATCH * len(done), "twins": BATCH * len(done)},
        "kills": sum(len(s["kills"]) for s in done),
        "kill_kinds": dict(sorted(kinds.items())),
        "recoveries": sum(len(s["recoveries"]) for s in done),
        "recovered_seeds": [s["seed"] for s in done if s["recoveries"]],
        "stuck": sum(s["stuck"] for s in done),
        "decisions": sum(s["decisions"] for s in done),
        "decisions_lost": sum(s["lost"] for s in done),
        "emails": sum(s["emails"] for s in done),
        "emails_twice": sum(s["twice"] for s in done),
        "unknown_outcome": sum(s["unknown_outcome"] for s in done),
        "failed_tasks": sum(s["failed_tasks"] for s in done),
        "failed_seeds": [s["seed"] for s in per_seed if s["outcome"] != "passed"],
        "per_seed": per_seed,
    }
