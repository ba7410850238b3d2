"""The `accord` command: validate definitions, run the stack, start and inspect partnerships.

This module is the table of contents: the app, its commands in the order `accord --help` lists
them, and its groups. Each command lives in the module of what it serves (partnership,
escalation, mou, review, metric, definitions, ops, doctor); `output` is how every command
prints and fails, `connection` the --address/--namespace options every command that talks to
Temporal takes (or ACCORD_TEMPORAL_ADDRESS / ACCORD_TEMPORAL_NAMESPACE; by default the
embedded local server).
"""

from __future__ import annotations

from collections.abc import Callable

import typer

from accord.cli import (
    definitions,
    doctor,
    escalation,
    metric,
    mou,
    ops,
    partnership,
    review,
)

app = typer.Typer(
    help="Accord: partnership governance as code, on Temporal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

COMMANDS: list[tuple[str, Callable[..., None]]] = [
    ("validate", definitions.validate),
    ("schema", definitions.schema),
    ("start", partnership.start),
    ("status", partnership.status),
    ("list", partnership.list_),
    ("complete", partnership.complete),
    ("statement", partnership.statement),
    ("decide", partnership.decide),
    ("override", partnership.override),
    ("escalate", escalation.escalate),
    ("delegate", partnership.delegate),
    ("close", partnership.close),
    ("amend", partnership.amend),
    ("report", partnership.report),
    ("worker", ops.worker),
    ("web", ops.web),
    ("up", ops.up),
    ("signin-link", ops.signin_link),
    ("setup", ops.setup),
    ("watch", partnership.watch),
    ("diagram", definitions.diagram),
    ("doctor", doctor.doctor),
    ("recover", doctor.recover),
]
GROUPS = [
    ("metric", metric.app),
    ("review", review.app),
    ("mou", mou.app),
    ("escalation", escalation.app),
    ("apikey", ops.apikey_app),
    ("config", ops.config_app),
]
for name, command in COMMANDS:
    app.command(name)(command)
for name, group in GROUPS:
    app.add_typer(group, name=name)
