"""The mutation run over the rule book: how many of the mutants that change behaviour the unit
tests kill, per module. Writes bench/results/mutation.md.

    .venv/bin/python -m bench.mutation              # a fresh run (mutants/ rebuilt), then the report
    .venv/bin/python -m bench.mutation --resume     # go on with the mutants a cut run did not reach
    .venv/bin/python -m bench.mutation --again      # re-test only the mutants not killed yet
    .venv/bin/python -m bench.mutation --report     # the report from the last run, nothing re-tested

What is mutated, and by which tests, is `[tool.mutmut]` in pyproject.toml (the rule book in
accord/logic/ and the definition checks; only the server-free tests, bench/mutation_select.py).
mutmut (pinned in the `mutation` extra: another release makes other mutants) always runs under
`nice -n 15` with one worker: the machine is shared, and the figure does not depend on speed.

A fresh run is what the figures in the report and the README come from. `--again` is for the
loop of writing a test and checking it kills what it should: it keeps mutmut's earlier verdicts
(mutmut keeps a killed mutant killed as long as its function is unchanged, and a test only added
cannot bring one back to life), so it is not the figure to publish.

Mutants that cannot change behaviour (a rewrite to an equal value, a default that every caller
overrides) are set aside in bench/mutation_equivalent.toml, keyed by mutant name, each with its
reason and the mutated line: an entry whose line no longer matches the mutant of that name (the
code moved, so mutmut numbered its mutants otherwise) is reported as stale and not set aside.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
EQUIVALENT = ROOT / "bench" / "mutation_equivalent.toml"
REPORT = ROOT / "bench" / "results" / "mutation.md"
TARGET = 95.0  # percent of the behaviour-changing mutants to kill (issue 12)

# mutmut's exit codes per mutant (mutmut/stats.py, release 3.8.1). A timeout is a kill: the
# mutant made the tests loop, which a user would notice. Everything else that is not a kill
# (no test reaches it, it survived, the run was cut) counts against the figure.
KILLED_CODES = {1: "killed", 3: "killed", 36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout"}
NOT_KILLED_CODES = {0: "survived", 5: "no tests", 33: "no tests", 34: "skipped"}
# A mutant the run did not reach (it was cut short) is neither: it is counted apart, and the
# report says how many of all the mutants its figures cover.
NOT_CHECKED = None


@dataclass
class Module:
    path: str
    killed: int = 0
    equivalent: int = 0
    not_checked: int = 0
    not_killed: list[str] = field(default_factory=list)  # mutant names

    @property
    def counted(self) -> int:
        """Mutants checked that change behaviour: those checked minus the equivalent ones."""
        return self.killed + len(self.not_killed)

    @property
    def score(self) -> float | None:
        """Percent killed; None when no mutant of the module was checked (or it has none)."""
        return 100.0 * self.killed / self.counted if self.counted else None

    @property
    def shown(self) -> str:
        return "n/a" if self.score is None else _percent(self.score) + ("" if self.score >= TARGET else " ⚠")


def run_mutmut(names: list[str]) -> None:
    """mutmut, niced, one worker; it writes its verdicts to mutants/**/*.py.meta."""
    command = ["nice", "-n", "15", sys.executable, "-m", "mutmut", "run", "--max-children", "1", *names]
    print("$", " ".join(command), flush=True)
    # mutmut draws a spinner on the terminal; its last lines say what went wrong, if anything.
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"mutmut failed ({done.returncode}):\n{(done.stdout + done.stderr)[-4000:]}")


def verdicts() -> dict[str, dict[str, int | None]]:
    """Source path -> {mutant name: mutmut exit code}, from the .meta files of the last run."""
    out = {}
    for meta in sorted(MUTANTS.rglob("*.py.meta")):
        source = meta.relative_to(MUTANTS).as_posix().removesuffix(".meta")
        out[source] = json.loads(meta.read_text())["exit_code_by_key"]
    if not out:
        sys.exit("no mutation results in mutants/: run `python -m bench.mutation` first")
    return out


def mutant_diff(name: str) -> str:
    """The unified diff of one mutant (what `mutmut show` prints), read from mutants/."""
    done = subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.split("\n", 1)[1].strip() if done.returncode == 0 else f"(mutmut show failed: {done.stderr[-300:]})"


def changed_lines(diff: str) -> list[str]:
    """The mutated lines of a diff, stripped (what an equivalent entry's `line` must match)."""
    return [line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]


def load_equivalent() -> dict[str, dict[str, str]]:
    entries = tomllib.loads(EQUIVALENT.read_text()) if EQUIVALENT.exists() else {}
    for name, entry in entries.items():
        if not entry.get("reason") or not entry.get("line"):
            sys.exit(f"{EQUIVALENT.name}: [{name!r}] needs a reason and the mutated line")
    return entries


def tally(results: dict[str, dict[str, int | None]], equivalent: dict[str, dict[str, str]]):
    """Per-module counts, the equivalent entries that apply, and the stale ones."""
    modules, applied, stale, odd = [], {}, {}, Counter()
    for path, codes in results.items():
        module = Module(path)
        for name, code in sorted(codes.items()):
            if name in equivalent:
                line = equivalent[name]["line"].strip()
                if line in changed_lines(mutant_diff(name)):
                    module.equivalent += 1
                    applied[name] = equivalent[name]
                    continue
                stale[name] = equivalent[name]
            if code is NOT_CHECKED:
                module.not_checked += 1
            elif code in KILLED_CODES:
                module.killed += 1
            else:
                module.not_killed.append(name)
                if code not in NOT_KILLED_CODES:
                    odd[code] += 1  # suspicious, segfault: listed with the survivors
        modules.append(module)
    return modules, applied, stale, odd


def write_report(modules: list[Module], applied, stale, odd, codes_by_name: dict[str, int | None]) -> str:
    killed = sum(m.killed for m in modules)
    counted = sum(m.counted for m in modules)
    total = 100.0 * killed / counted if counted else 100.0
    unchecked = sum(m.not_checked for m in modules)
    everything = counted + unchecked + sum(m.equivalent for m in modules)
    lines = [
        "# Mutation run over the rule book",
        "",
        "`.venv/bin/python -m bench.mutation` (bench/mutation.py; mutmut 3.8.1, `[tool.mutmut]` in",
        "pyproject.toml, the server-free tests of tests/unit/test_logic_*.py, tests/unit/test_definition*.py and",
        "tests/unit/test_rulebook_*.py). A mutant counts when it changes behaviour: every mutant minus the",
        f"equivalent ones below. Killed includes timeouts. Target: {TARGET:.0f}% per module.",
        "",
        f"**Overall: {killed}/{counted} killed, {_percent(total)}** ({sum(m.equivalent for m in modules)} set aside as equivalent)",
        "",
    ]
    if unchecked:
        cut = (f"**The run was cut short: {unchecked} of the {everything} mutants were not checked**; the figures"
               " are of the mutants checked (mutmut checks the mutants with the fastest tests first).")
        lines += [cut, ""]
    lines += [
        "| module | killed / counted | not killed | equivalent | not checked | score |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for m in sorted(modules, key=lambda m: m.path):
        if m.counted or m.not_checked or m.equivalent:  # (a module without mutants is left out)
            lines.append(f"| `{m.path}` | {m.killed}/{m.counted} | {len(m.not_killed)} | {m.equivalent} | {m.not_checked}"
                         f" | {m.shown} |")
    lines += ["", "## Set aside as equivalent", ""]
    if applied:
        lines.append("| mutant | mutated line | why it cannot change behaviour |")
        lines.append("|---|---|---|")
        for name, entry in sorted(applied.items()):
            lines.append(f"| `{name}` | `{_cell(entry['line'])}` | {_cell(entry['reason'])} |")
    else:
        lines.append("None.")
    if stale:
        lines += ["", f"**Stale entries** in {EQUIVALENT.name} (the mutant of that name is another change now; counted as usual):", ""]
        lines += [f"- `{name}`: `{_cell(entry['line'])}`" for name, entry in sorted(stale.items())]
    survivors = [name for m in modules for name in m.not_killed]
    lines += ["", "## Not killed", ""]
    if odd:
        lines += [f"(mutmut exit codes other than survived / no tests among them: {dict(odd)})", ""]
    if survivors:
        for name in survivors:
            code = codes_by_name[name]
            status = NOT_KILLED_CODES.get(code, f"exit code {code}")
            lines += [f"`{name}` ({status})", "", "```diff", mutant_diff(name), "```", ""]
    else:
        lines.append("None.")
    return "\n".join(lines).rstrip() + "\n"


def _percent(value: float) -> str:
    """Rounded down: one mutant left alive never shows as 100%."""
    return f"{math.floor(value * 10) / 10:.1f}%"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.mutation", description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="go on with the mutants the last run did not reach")
    mode.add_argument("--again", action="store_true", help="re-test only the mutants not killed in the last run")
    mode.add_argument("--report", action="store_true", help="only write the report from the last run")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    if args.resume:
        run_mutmut([])  # mutmut keeps the verdicts it has and checks the others
    elif args.again:
        equivalent = load_equivalent()  # set aside: testing them again cannot kill them
        names = [name for codes in verdicts().values() for name, code in codes.items()
                 if code is not NOT_CHECKED and code not in KILLED_CODES and name not in equivalent]
        if names:
            run_mutmut(names)
    elif not args.report:
        shutil.rmtree(MUTANTS, ignore_errors=True)  # nothing cached: the figure is this code's and these tests'
        run_mutmut([])
    results = verdicts()
    modules, applied, stale, odd = tally(results, load_equivalent())
    codes_by_name = {name: code for codes in results.values() for name, code in codes.items()}
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(write_report(modules, applied, stale, odd, codes_by_name))
    for m in sorted(modules, key=lambda m: m.path):
        print(f"  {m.path:42} {m.killed:4}/{m.counted:<4} {m.shown:>8}  ({m.not_checked} not checked)")
    killed, counted = sum(m.killed for m in modules), sum(m.counted for m in modules)
    unchecked = sum(m.not_checked for m in modules)
    print(f"  overall {killed}/{counted} = {_percent(100.0 * killed / max(counted, 1))} ({unchecked} not checked);"
          f" report: {REPORT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
