"""The `accord` command: validate definitions, run the stack, start and inspect partnerships.

This module is the table of contents: the app, its commands in the order `accord --help` lists
them, and its groups. Each command lives in the module of what it serves (partnership,
escalation, mou, review, metric, definitions, ops, doctor); `output` is how every command
prints and fails, `connection` the --address/--namespace options every command that talks to
Temporal takes (or ACCORD_TEMPORAL_ADDRESS / ACCORD_TEMPORAL_NAMESPACE; by default the
embedded local server).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn

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


def main() -> NoReturn:
    """The `accord` command. It ends without CPython's finalization, as the long-running processes
    do (accord/ops/process_exit.py): a command that spoke to Temporal, or holds pydantic's
    datetimes, can crash the interpreter on its way out (SIGSEGV, seen once in a full test run
    after `accord watch` had printed everything), and a script checking the exit code would
    take a finished command for a failed one."""
    from accord.ops.process_exit import exit_process

    try:
        app()
        code: object = 0
    except SystemExit as done:
        code = done.code
    if isinstance(code, str):  # sys.exit("message"): print it and fail, as the interpreter does
        print(code, file=sys.stderr)
    exit_process(code if isinstance(code, int) else 0 if code is None else 1)
