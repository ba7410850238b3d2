"""Stuck partnerships (README "Stuck partnerships"): `accord doctor` explains each and, with a
person's yes, resets those the SDK's replay bug stopped; `accord recover` does it unattended."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from accord.cli.connection import FROM_ENVIRONMENT, Connection, connected, workflow_id
from accord.cli.output import FAILED, err, out, run, say
from accord.cli.reader import Zone, when

if TYPE_CHECKING:
    from accord.ops import doctor as dr

@connected
def doctor(ident: Annotated[str | None, typer.Argument(help="Only this partnership (workflow id or partnership id).")] = None,
           fix: Annotated[bool, typer.Option("--fix", help="Reset the runs stopped by the SDK's replay bug (asks first).")] = False,
           yes: Annotated[bool, typer.Option("--yes", help="With --fix: do not ask.")] = False,
           as_json: Annotated[bool, typer.Option("--json", help="One JSON object per stuck partnership.")] = False,
           conn: Connection = FROM_ENVIRONMENT, zone: Zone = None) -> None:
    """Find stuck partnerships and explain each; with --fix, reset those the SDK's replay bug stopped.

    Exit status: 0 when nothing is stuck (or everything found was reset), 1 when something stuck is left."""
    from accord.ops import doctor as dr
    from accord.ops import stuck

    settings = conn.settings

    async def go() -> int:
        import worker as accord_worker
        from accord.client import connect

        client = await connect(settings)
        found = await stuck.find(client, workflow_ids=[workflow_id(ident)] if ident else None,
                                 stuck_activity_after=timedelta(seconds=settings.stuck_activity_after),
                                 task_attempts=settings.stuck_task_attempts)
        verdicts = [await dr.check(client, p, accord_worker.WORKFLOWS) for p in found]
        if as_json:
            for v in verdicts:
                print(json.dumps({**v.problem.model_dump(mode="json", exclude={"ops"}), "resettable": v.resettable,
                                  "reasons": v.reasons}))
        else:
            for v in verdicts:
                _explain(v, zone)
            if not verdicts:
                say("no stuck partnerships")
        left = sum(not v.resettable for v in verdicts)
        fixable = [v.problem for v in verdicts if v.resettable]
        if fixable and not fix:
            err.print(f"{len(fixable)} can be reset: run `accord doctor --fix`", markup=False)
            return left + len(fixable)
        for p in fixable:
            if not yes and not typer.confirm(f"Reset {p.workflow_id} to event {p.reset_event_id}, re-applying the "
                                             "updates and signals received after it?"):
                say(f"{p.workflow_id}: left as it is")
                left += 1
                continue
            new_run = await dr.reset(client, p)
            say(f"{p.workflow_id}: reset to event {p.reset_event_id}; new run {new_run}")
        return left

    if run(go):
        raise typer.Exit(FAILED)


def _explain(v: dr.Verdict, zone: str | None) -> None:
    """One stuck partnership: what failed, since when, the last good point, and whether a reset can help."""
    p = v.problem
    say(f"{p.workflow_id} (run {p.run_id}): STUCK, {p.kind.value}")
    say(f"  failing since {when(p.since, zone)}, {p.attempts} attempts"
        + (" (flagged by the server: TemporalReportedProblems)" if p.reported_by_server else ""))
    say(f"  failure: {p.message[:400]}")
    if p.last_good_event_id:
        say(f"  last good workflow task: completed at event {p.last_good_event_id}")
    say(f"  what it means: {p.kind.explanation}")
    say(("  a reset can recover it: " if v.resettable else "  not reset: ") + "; ".join(v.reasons))


@connected
def recover(interval: Annotated[float, typer.Option(help="Seconds between looks.")] = 30.0,
            once: Annotated[bool, typer.Option("--once", help="Look once, then exit.")] = False,
            conn: Connection = FROM_ENVIRONMENT) -> None:
    """Automatic recovery (opt-in; run ONE of these): reset runs stopped by the SDK's replay bug when every
    safety condition holds, at most recovery_max_resets_per_hour an hour; report everything else.
    Connects with the recovery_temporal_* credentials where set."""
    import signal

    import worker as accord_worker
    from accord.client import connect
    from accord.ops import doctor as dr
    from accord.ops import stuck
    from accord.ops.telemetry import configure_logging

    settings = conn.settings.for_recovery()
    configure_logging(settings)
    options: dict[str, Any] = {"query": stuck.PARTNERSHIPS, "stuck_activity_after": timedelta(seconds=settings.stuck_activity_after),
               "task_attempts": settings.stuck_task_attempts}

    async def go() -> None:
        client = await connect(settings)
        if once:
            done = await dr.recover_once(client, accord_worker.WORKFLOWS, dr.RateLimit(settings.recovery_max_resets_per_hour),
                                         done=set(), **options)
            for p, new_run in done.reset:
                out.print(f"reset {p.workflow_id} to event {p.reset_event_id}: new run {new_run}", markup=False)
            for v in done.reported:
                out.print(f"left alone: {v.problem.workflow_id}: {v.problem.kind.value}: {'; '.join(v.reasons)}",
                          markup=False)
            return
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        await dr.recover(client, accord_worker.WORKFLOWS, interval=interval,
                         per_hour=settings.recovery_max_resets_per_hour, stop=stop, **options)

    run(go)
