"""Run the benchmarks and write bench/RESULTS.md.

    python -m bench                       # everything (about an hour on 2 busy cores)
    python -m bench --only latency,history
    python -m bench --quick               # small sizes: checks the harness in minutes, not for RESULTS
    python -m bench --only crash          # the crash test over many seeds (bench/crash.py)

Each benchmark writes bench/results/<name>.json (small: summaries, no raw samples) with
the machine, the date, the load average before and after, and the command; RESULTS.md is
rendered from every JSON file there, so benchmarks can be re-run one at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import common, report

HERE = Path(__file__).parent
RESULTS = HERE / "results"
ALL = ["latency", "throughput", "memory", "history", "crash"]


async def _one(name: str, quick: bool, root: Path, args) -> dict:
    if name == "history":
        from bench import history

        return await history.run(years=1 if quick else args.years)
    async with common.dev_server() as env:
        if name == "latency":
            from bench import latency

            return await latency.run(env, root, decisions=100 if quick else args.decisions)
        if name == "throughput":
            from bench import throughput

            return await throughput.run(env, root, partnerships=10 if quick else args.partnerships)
        if name == "crash":
            from bench import crash

            return await crash.run(env, root, seeds=list(range(args.first_seed, args.first_seed + (2 if quick else args.seeds))))
        if name == "memory":
            from bench import memory

            out = {}
            for runner in args.runners.split(","):
                n = 300 if quick else (args.memory_n if runner == "accord" else args.memory_n_variants)
                out[runner] = await memory.run(env, root, n=n, small_cache=100 if quick else 1000,
                                               touch=400 if quick else 3000, runner=runner, max_wft=args.max_wft,
                                               yardsticks=200 if quick else 2000)
            return out
    raise ValueError(name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(ALL), help=f"comma-separated subset of {','.join(ALL)}")
    parser.add_argument("--quick", action="store_true", help="small sizes (harness check; results not kept)")
    parser.add_argument("--decisions", type=int, default=1000, help="decisions per path for the latency figure")
    parser.add_argument("--partnerships", type=int, default=60, help="partnerships in the throughput batch")
    parser.add_argument("--memory-n", type=int, default=10_000, help="partnerships parked (Accord's runner)")
    parser.add_argument("--memory-n-variants", type=int, default=2000, help="partnerships parked for other runners")
    parser.add_argument("--runners", default="accord,sandboxed",
                        help="workflow runners for the memory figure: accord (as shipped: workflows passed through "
                             "the sandbox), sandboxed (a sandbox per run), unsandboxed")
    parser.add_argument("--max-wft", type=int, default=4, help="worker's max concurrent workflow tasks (memory)")
    parser.add_argument("--years", type=int, default=3, help="simulated years for the history figure")
    parser.add_argument("--seeds", type=int, default=10, help="seeds for the crash run (4 kills each)")
    parser.add_argument("--first-seed", type=int, default=100, help="the crash run's seeds are this one and the next")
    args = parser.parse_args(argv)
    command = "python -m bench " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))

    RESULTS.mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="accord-bench-"))
    for name in [n.strip() for n in args.only.split(",") if n.strip()]:
        print(f"== {name} (load {common.load()})", flush=True)
        started, load_before = time.monotonic(), common.load()
        figures = asyncio.run(_one(name, args.quick, root, args))
        record = {
            "benchmark": name, "date": datetime.now(UTC).isoformat(timespec="seconds"), "command": command,
            "machine": common.machine(), "load_before": load_before, "load_after": common.load(),
            "seconds": round(time.monotonic() - started), "quick": args.quick, "figures": figures,
        }
        print(json.dumps(figures, indent=2, default=str), flush=True)
        if not args.quick:
            (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    if not args.quick:
        (HERE / "RESULTS.md").write_text(report.render(RESULTS))
        print(f"wrote {HERE / 'RESULTS.md'}")
    print(f"logs and data in {root}")
