"""`accord metric record`: a metric's value (the first one before launch is its baseline)."""

from __future__ import annotations

from typing import Annotated

import typer

from accord.cli.connection import FROM_ENVIRONMENT, Connection, connected, workflow_id
from accord.models import Channel, MetricObservationInput

app = typer.Typer(help="Metrics: record observations (the first one before launch is the baseline).", no_args_is_help=True)


@app.command("record")
@connected
def metric_record(ident: str, metric: str, value: float, as_: Annotated[str, typer.Option("--as", help="Who measured it.")],
                  note: Annotated[str, typer.Option()] = "", conn: Connection = FROM_ENVIRONMENT) -> None:
    """Record a metric's value now."""
    observation = MetricObservationInput(metric_id=metric, value=value, actor=as_, note=note, channel=Channel.cli)
    conn.act(lambda accord: accord.record_metric(workflow_id(ident), observation))
