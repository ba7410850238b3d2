"""`accord review ...`: every review with its record, a participant's input, what a review decided."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Column, Table

from accord.cli.connection import FROM_ENVIRONMENT, Connection, connected, workflow_id
from accord.cli.output import out
from accord.cli.reader import Zone, when
from accord.models import (
    ActionInput,
    Channel,
    Rag,
    ReviewInputSubmission,
    ReviewOutcome,
)

app = typer.Typer(help="Reviews: list them, send an input on someone's behalf, record what a review decided.",
                  no_args_is_help=True)


@app.command("list")
@connected
def review_list(ident: str, conn: Connection = FROM_ENVIRONMENT, zone: Zone = None) -> None:
    """Every review: planned, open and closed, with its record in one line."""
    state = conn.call(lambda accord: accord.state(workflow_id(ident)))
    table = Table("Review", "When", "Inputs", Column("Record", overflow="fold"))
    for review in sorted(state.reviews.values(), key=lambda r: r.scheduled_for):
        if review.closed_at:
            record = ", ".join(filter(None, [
                review.overall.value if review.overall else "",
                f"missing {', '.join(review.missed)}" if review.missed else "",
                f"{sum(m.on_target for m in review.metrics)}/{len(review.metrics)} metrics on target" if review.metrics else "",
                review.balance.summary if review.balance else "",
            ])) or "closed"
        else:
            record = "open" if review.opened_at else "planned"
        table.add_row(review.id, when(review.scheduled_for, zone), f"{len(review.inputs)}/{len(review.participants)}", record)
    out.print(table)


@app.command("input")
@connected
def review_input(ident: str, review: str, as_: Annotated[str, typer.Option("--as", help="The participant.")],
                 rag: Annotated[Rag | None, typer.Option(help="Weekly status.")] = None,
                 note: Annotated[str, typer.Option()] = "",
                 contribution: Annotated[float | None, typer.Option(help="Annual review: 1-10.")] = None,
                 benefit: Annotated[float | None, typer.Option(help="Annual review: 1-10.")] = None,
                 conn: Connection = FROM_ENVIRONMENT) -> None:
    """Send a participant's input to an open review."""
    submission = ReviewInputSubmission(review_id=review, stakeholder=as_, rag=rag, note=note, contribution=contribution,
                                       benefit=benefit, channel=Channel.cli)
    conn.act(lambda accord: accord.submit_review_input(workflow_id(ident), submission))


def _action(text: str) -> ActionInput:
    """One --action: TITLE@OWNER or TITLE@OWNER:DAYS (14 days unless said)."""
    title, _, rest = text.partition("@")
    owner, _, days = rest.partition(":")
    if not title.strip() or not owner.strip():
        raise typer.BadParameter(f"{text!r}: write an action as 'TITLE@OWNER' or 'TITLE@OWNER:DAYS'.")
    try:
        return ActionInput(title=title.strip(), owner=owner.strip(), due_in_days=int(days) if days else 14)
    except ValueError:
        raise typer.BadParameter(f"{text!r}: DAYS must be a whole number from 1 to 366.") from None


@app.command("outcome")
@connected
def review_outcome(ident: str, review: str, as_: Annotated[str, typer.Option("--as", help="Who records it.")] = "ops",
                   decision: Annotated[list[str] | None, typer.Option("--decision", help="A decision (repeatable).")] = None,
                   action: Annotated[list[str] | None, typer.Option("--action", help="TITLE@OWNER[:DAYS] (repeatable).")] = None,
                   conn: Connection = FROM_ENVIRONMENT) -> None:
    """Record a review's decisions and actions (actions become tasks, checked at the next review)."""
    outcome = ReviewOutcome(review_id=review, actor=as_, decisions=decision or [],
                            actions=[_action(a) for a in action or []], channel=Channel.cli)
    conn.act(lambda accord: accord.record_review_outcome(workflow_id(ident), outcome))
