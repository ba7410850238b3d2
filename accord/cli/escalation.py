"""Escalations: `accord escalate` raises one; `accord escalation ...` shows, acknowledges, records
CARE steps, resolves and withdraws. Each escalation is addressed by partnership and escalation id."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table

from accord.cli.connection import FROM_ENVIRONMENT, Connection, connected, workflow_id
from accord.cli.output import err, fail, out, say
from accord.cli.reader import Zone, when
from accord.models import (
    Acknowledge,
    CareEntry,
    CareStep,
    Channel,
    EscalationRequest,
    Resolve,
    Severity,
    Withdraw,
)

if TYPE_CHECKING:
    from accord.client import Accord

app = typer.Typer(
    help="Escalations: show one, acknowledge it, record its CARE steps, resolve or withdraw it.", no_args_is_help=True)

AsWho = Annotated[str, typer.Option("--as", help="Stakeholder id acting, or ops.")]


@connected
def escalate(ident: str, reason: Annotated[str, typer.Option(help="What is wrong (shown to every level).")],
             level: Annotated[int, typer.Option(help="Ladder level (1-based) it starts at.")] = 1,
             severity: Annotated[Severity, typer.Option()] = Severity.normal,
             subject: Annotated[str, typer.Option(help="What it is about (a task, an approval...).")] = "partnership",
             by: Annotated[str, typer.Option("--by", help="Who raises it.")] = "ops",
             conn: Connection = FROM_ENVIRONMENT) -> None:
    """Raise an escalation on a partnership: it runs as its own workflow, a child of the partnership."""
    request = EscalationRequest(reason=reason, level=level, severity=severity, subject=subject, raised_by=by,
                                channel=Channel.cli)
    result, record = conn.call(lambda accord: accord.raise_escalation(workflow_id(ident), request))
    out.print(result.message, markup=False)
    if record.workflow_id:
        out.print(f"escalation [bold]{record.id}[/bold]: workflow {record.workflow_id}")
        out.print(f"Temporal UI: {conn.settings.workflow_ui_url(record.workflow_id)}")


@app.command("list")
@connected
def escalation_list(ident: str, conn: Connection = FROM_ENVIRONMENT, zone: Zone = None,
                    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False) -> None:
    """A partnership's escalations."""
    rows = conn.call(lambda accord: accord.escalations(workflow_id(ident)))
    if as_json:
        for r in rows:
            print(r.model_dump_json())
        return
    table = Table(Column("id", no_wrap=True), "status", "level", "trigger", "reason", "raised", "by")
    for r in rows:
        table.add_row(r.id, r.status + (" (with ops)" if r.with_ops else ""), str(r.shown_level), r.trigger, r.reason,
                      when(r.opened_at, zone), r.raised_by)
    out.print(table if rows else "no escalations")


@app.command("show")
@connected
def escalation_show(ident: str, escalation: Annotated[str, typer.Argument(help="Escalation id, e.g. esc-1.")],
                    conn: Connection = FROM_ENVIRONMENT, zone: Zone = None,
                    as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """An escalation's record: levels, acknowledgements, CARE steps, resolution."""
    partnership = workflow_id(ident)

    async def read(accord: Accord):
        target = await accord.escalation_workflow(partnership, escalation)
        return target, await accord.escalation_state(target)

    target, e = conn.call(read)
    if as_json:
        print(e.model_dump_json(indent=2))
        return
    out.print(f"[bold]Escalation {escape(e.id)}[/bold] on {escape(e.partnership)}  ({escape(target)})")
    say(f"status: {e.status.value}{' (with ops)' if e.with_ops else ''}   level: {e.shown_level}   severity: {e.severity}")
    say(f"reason: {e.reason}")
    say(f"trigger: {e.trigger} (about {e.subject}); raised {when(e.opened_at, zone)} by {e.raised_by} "
        f"via {e.channel.value}")
    levels = Table("when", "level", "contacts", "cause", title="Levels")
    for c in e.levels:
        at = when(c.at, zone)
        if c.paging_pending:
            at = f"{at} (nobody paged)" if e.status.is_final else f"from {at} (nobody paged yet)"
        levels.add_row(at, c.name + (f" ({c.level})" if c.level else ""), ", ".join(c.contacts), c.cause)
    out.print(levels)
    for a in e.acknowledgements:
        say(f"acknowledged by {a.actor} at level {a.level}, {when(a.at, zone)} via {a.channel.value}"
            + (f": {a.note}" if a.note else ""))
    care = Table("step", "text", "by", "when", title="CARE")
    notes = [("clarify", e.care.clarify)] + [(f"acknowledge ({p})", n) for p, n in e.care.acknowledge.items()]
    notes += [("reframe", e.care.reframe), ("explore", e.care.explore)]
    for step, n in notes:
        care.add_row(step, n.text if n else "-", n.by if n else "", when(n.at, zone) if n else "")
    out.print(care)
    if e.status.is_final:
        say(f"{e.status.value} by {e.closed_by} on {when(e.closed_at, zone)}")
        if e.closed_cause:
            say(f"closed: {e.closed_cause}")
        if e.resolution:
            say(f"resolution: {e.resolution}")
        if e.proposed_amendment:
            say(f"proposed amendment: {len(e.proposed_amendment.splitlines())} lines of definition")
        if e.withdrawn_reason:
            say(f"reason: {e.withdrawn_reason}")
    out.print(f"Temporal UI: {conn.settings.workflow_ui_url(target)}")


@app.command("ack")
@connected
def escalation_ack(ident: str, escalation: str, as_: AsWho = "ops",
                   note: Annotated[str, typer.Option(help="Optional note.")] = "",
                   conn: Connection = FROM_ENVIRONMENT) -> None:
    """Acknowledge an escalation: it stops climbing the ladder."""
    ack = Acknowledge(actor=as_, note=note, channel=Channel.cli)
    conn.act(lambda accord: accord.acknowledge(workflow_id(ident), escalation, ack), markup=False)


@app.command("care")
@connected
def escalation_care(ident: str, escalation: str, step: CareStep, text: str, as_: AsWho = "ops",
                    party: Annotated[str | None, typer.Option(help="For acknowledge: whose perspective (party id).")] = None,
                    conn: Connection = FROM_ENVIRONMENT) -> None:
    """Record a CARE step: clarify, acknowledge (a party's perspective), reframe, explore."""
    entry = CareEntry(actor=as_, step=step, text=text, party=party, channel=Channel.cli)
    conn.act(lambda accord: accord.record_care(workflow_id(ident), escalation, entry), markup=False)


@app.command("resolve")
@connected
def escalation_resolve(ident: str, escalation: str, resolution: Annotated[str, typer.Option(help="How it was resolved.")],
                       as_: AsWho = "ops",
                       amendment: Annotated[Path | None, typer.Option(
                           help="A proposed amendment: the full amended definition (YAML); checked like `accord validate`.")] = None,
                       conn: Connection = FROM_ENVIRONMENT) -> None:
    """Resolve an escalation (after its CARE steps), optionally proposing an amended definition."""
    from accord import amendment as amendments
    from accord.client import partnership_id_of

    text = None
    if amendment is not None:
        try:
            text = amendment.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"error: cannot read {amendment}: {exc}")
        issues = amendments.problems(text, partnership_id_of(workflow_id(ident)), file=str(amendment))
        for issue in issues:
            err.print(str(issue), markup=False, highlight=False, soft_wrap=True)
        if issues:
            fail(f"{len(issues)} problem(s) in the amendment; nothing was sent")
    resolve = Resolve(actor=as_, resolution=resolution, amendment=text, channel=Channel.cli)
    conn.act(lambda accord: accord.resolve(workflow_id(ident), escalation, resolve), markup=False)


@app.command("withdraw")
@connected
def escalation_withdraw(ident: str, escalation: str, reason: Annotated[str, typer.Option(help="Why it is moot.")],
                        as_: AsWho = "ops", conn: Connection = FROM_ENVIRONMENT) -> None:
    """Withdraw an escalation, with a reason."""
    withdraw = Withdraw(actor=as_, reason=reason, channel=Channel.cli)
    conn.act(lambda accord: accord.withdraw(workflow_id(ident), escalation, withdraw), markup=False)
