"""One partnership: start it, look at it, act in it on someone's behalf, amend, close, report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Column, Table

from accord.cli.connection import FROM_ENVIRONMENT, Connection, connected, workflow_id
from accord.cli.definitions import load_or_exit
from accord.cli.output import FAILED, NOT_REACHED, err, fail, out, say
from accord.cli.reader import Zone, when
from accord.models import (
    AlignmentOverride,
    AmendmentProposal,
    Channel,
    CloseRequest,
    DecisionInput,
    DecisionKind,
    DelegationInput,
    StatementSubmission,
    TaskCompletion,
)

if TYPE_CHECKING:
    from accord.client import Accord

Ident = Annotated[str, typer.Argument(help="Workflow id or partnership id.")]


@connected
def start(file: Path, conn: Connection = FROM_ENVIRONMENT) -> None:
    """Start a partnership's lifecycle workflow from its definition file."""
    definition = load_or_exit(file)
    workflow = conn.call(lambda accord: accord.start(definition))
    out.print(f"started [bold]{workflow}[/bold]")
    out.print(f"Temporal UI: {conn.settings.workflow_ui_url(workflow)}")


@connected
def status(ident: Ident, conn: Connection = FROM_ENVIRONMENT, zone: Zone = None,
           as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show a partnership's stage, open tasks, approvals and escalations."""
    workflow = workflow_id(ident)
    state = conn.call(lambda accord: accord.state(workflow))
    if as_json:
        print(state.model_dump_json(indent=2))
        return
    out.print(f"[bold]{state.name}[/bold]  ({workflow})")
    out.print(f"stage: [cyan]{state.stage.value}[/cyan]   status: {state.health.value}")
    if state.detail:
        out.print(state.detail, markup=False)
    tasks = Table("task", "owner", "due", "status", title="Tasks")
    for t in sorted(state.tasks.values(), key=lambda t: t.due_at):
        flag = " OVERDUE" if t.is_open and t.overdue else ""
        tasks.add_row(t.title, t.owner, when(t.due_at, zone), t.status.value + flag)
    out.print(tasks)
    for a in state.approvals.values():
        out.print(f"approval [bold]{a.title}[/bold] (round {a.round}, {a.policy}): {a.outcome.value}, "
                  f"deadline {when(a.deadline_at, zone)}")
        for d in a.decisions:
            out.print(f"  - {d.actor}: {d.decision.value} {d.comment}", markup=False)
    for e in state.escalations:
        out.print(f"escalation {e.id} ({e.status}) level {e.shown_level}: {e.trigger}: {e.reason}", markup=False)
    out.print(f"Temporal UI: {conn.settings.workflow_ui_url(workflow)}")


@connected
def list_(stage: Annotated[str | None, typer.Option(help="Only this stage, e.g. screening.")] = None,
          conn: Connection = FROM_ENVIRONMENT, zone: Zone = None,
          as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False) -> None:
    """List partnerships (filter by stage with --stage)."""

    async def listed(accord: Accord):
        rows = await accord.list(stage=stage)
        return rows, await accord.stuck(rows)

    rows, stuck_by_id = conn.call(listed)
    if as_json:
        for r in rows:
            p = stuck_by_id.get(r.workflow_id)
            print(json.dumps({**r.__dict__, "next_deadline": r.next_deadline.isoformat() if r.next_deadline else None,
                              "stuck": {"kind": p.kind.value, "since": p.since.isoformat(), "message": p.message}
                              if p else None}))
        return
    table = Table("partnership", "stage", "status", "next deadline", "running")
    # Ids are what people copy into the next command: never wrap or cut them.
    table.columns.insert(0, Column("workflow id", no_wrap=True, min_width=max((len(r.workflow_id) for r in rows), default=11)))
    for r in rows:
        p = stuck_by_id.get(r.workflow_id)
        running = f"STUCK ({p.kind.value} since {when(p.since, zone)})" if p else "yes" if r.running else "no"
        table.add_row(r.workflow_id, r.name, r.stage, r.status, when(r.next_deadline, zone), running)
    out.print(table)
    if stuck_by_id:
        err.print(f"{len(stuck_by_id)} stuck: see `accord doctor`", markup=False)


@connected
def complete(ident: str, task: str, as_: Annotated[str, typer.Option("--as", help="Stakeholder id acting.")],
             result: Annotated[str, typer.Option(help="Outcome or notes.")] = "",
             conn: Connection = FROM_ENVIRONMENT) -> None:
    """Mark a task done on behalf of someone (ops)."""
    completion = TaskCompletion(task_id=task, actor=as_, result=result, channel=Channel.cli)
    conn.act(lambda accord: accord.complete_task(workflow_id(ident), completion))


@connected
def statement(ident: str, text: str, as_: Annotated[str, typer.Option("--as", help="Stakeholder id.")],
              conn: Connection = FROM_ENVIRONMENT) -> None:
    """Record a stakeholder's goal-alignment statement."""
    submission = StatementSubmission(stakeholder=as_, text=text, channel=Channel.cli)
    conn.act(lambda accord: accord.submit_statement(workflow_id(ident), submission))


@connected
def decide(ident: str, approval: str, decision: DecisionKind,
           as_: Annotated[str, typer.Option("--as", help="Approver's stakeholder id.")],
           comment: Annotated[str, typer.Option(help="Reason (required to reject or request changes).")] = "",
           conn: Connection = FROM_ENVIRONMENT) -> None:
    """Record an approver's decision (approve, reject, request_changes)."""
    given = DecisionInput(approval_id=approval, actor=as_, decision=decision, comment=comment, channel=Channel.cli)
    conn.act(lambda accord: accord.decide(workflow_id(ident), given))


@connected
def override(ident: str, as_: Annotated[str, typer.Option("--as")], reason: Annotated[str, typer.Option()],
             conn: Connection = FROM_ENVIRONMENT) -> None:
    """Let screening proceed despite diverging goal statements (approvers only, with a reason)."""
    request = AlignmentOverride(actor=as_, reason=reason, channel=Channel.cli)
    conn.act(lambda accord: accord.override_alignment(workflow_id(ident), request))


@connected
def delegate(ident: str, approval: str, to: Annotated[str, typer.Option("--to", help="Delegate's stakeholder id.")],
             as_: Annotated[str, typer.Option("--as", help="Approver's stakeholder id.")],
             reason: Annotated[str, typer.Option()], conn: Connection = FROM_ENVIRONMENT) -> None:
    """Hand an approver's decision to another stakeholder, with a reason (if the definition allows it)."""
    delegation = DelegationInput(approval_id=approval, actor=as_, to=to, reason=reason, channel=Channel.cli)
    conn.act(lambda accord: accord.delegate(workflow_id(ident), delegation))


@connected
def close(ident: str, as_: Annotated[str, typer.Option("--as", help="ops, or an MOU signatory.")],
          reason: Annotated[str, typer.Option()], conn: Connection = FROM_ENVIRONMENT) -> None:
    """Close a launched partnership: open tasks are waived, escalations withdrawn, the audit export archived."""
    request = CloseRequest(actor=as_, reason=reason, channel=Channel.cli)
    conn.act(lambda accord: accord.close(workflow_id(ident), request))


@connected
def amend(ident: str, file: Annotated[Path, typer.Argument(help="The amended definition file.")],
          reason: Annotated[str, typer.Option(help="Why it changes.")],
          as_: Annotated[str, typer.Option("--as", help="Who proposes it.")] = "ops",
          yes: Annotated[bool, typer.Option("--yes", help="Propose without asking.")] = False,
          conn: Connection = FROM_ENVIRONMENT) -> None:
    """Show how FILE differs from the definition in force, then send it to approval; it applies once approved."""
    from definitions import diff

    amended = load_or_exit(file)
    changes = diff.changes(conn.call(lambda accord: accord.definition(workflow_id(ident))), amended)
    if not changes:
        fail("Nothing to amend: the file is the same as the definition in force.")
    out.print(f"{len(changes)} change(s):")
    for change in changes:
        say(f"  {change}")
    if not yes and not typer.confirm("Send this amendment to approval?"):
        raise typer.Exit(FAILED)
    proposal = AmendmentProposal(definition=amended, actor=as_, reason=reason, channel=Channel.cli)
    conn.act(lambda accord: accord.propose_amendment(workflow_id(ident), proposal))


@connected
def watch(ident: Ident,
          interval: Annotated[float, typer.Option(help="Seconds between refreshes.")] = 2.0,
          until: Annotated[str | None, typer.Option(help="Stop once the partnership reaches this stage, e.g. mou.")] = None,
          once: Annotated[bool, typer.Option("--once", help="Show the current state once and exit.")] = False,
          timeout: Annotated[float | None, typer.Option(help="Stop after this many seconds (exit 2 if --until was not reached).")] = None,
          conn: Connection = FROM_ENVIRONMENT, zone: Zone = None) -> None:
    """Follow a partnership live: stage, tasks, approvals, deadlines, escalations (Ctrl-C to stop)."""
    from accord.models import Stage
    from accord.ops.watch import watch as follow

    if until is not None and until not in {s.value for s in Stage}:
        fail(f"error: --until {until!r} is not a stage ({', '.join(s.value for s in Stage)})", NOT_REACHED)
    workflow = workflow_id(ident)
    try:
        outcome = conn.call(lambda accord: follow(accord, workflow, out, interval=interval, until=until, once=once,
                                                  timeout=timeout, zone=zone))
    except KeyboardInterrupt:
        return
    if outcome.reason == "timeout" and until is not None:
        fail(f"timed out before stage {until}", NOT_REACHED)


@connected
def report(ident: Ident,
           out_dir: Annotated[Path, typer.Option("--out", help="Folder to write to (created if missing).")] = Path("."),
           conn: Connection = FROM_ENVIRONMENT, zone: Zone = None) -> None:
    """Write the status report (HTML with charts) and the audit export (JSON) of a partnership.

    The report shows times in --zone (named); the audit export keeps ISO 8601 in UTC."""
    from datetime import UTC, datetime

    from accord.reports.files import write_reports

    workflow = workflow_id(ident)

    async def read(accord: Accord):
        return await accord.definition(workflow), await accord.state(workflow)

    definition, state = conn.call(read)
    try:
        written = write_reports(definition, state, workflow, out_dir, datetime.now(UTC), zone=zone)
    except OSError as exc:
        fail(f"error: cannot write to {out_dir}: {exc.strerror or exc}")
    say(f"report: {written.report}")
    say(f"audit:  {written.audit}")
