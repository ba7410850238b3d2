"""What every command prints, and how a command fails: one line on stderr and an exit status.

A refusal, an unreachable server or a bad input is never a traceback: `run` turns the errors
people meet into one line (`refused: ...`, `Temporal said: ...`, `error: ...`) and exit status
FAILED; `fail` does the same for a problem a command finds itself.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console

# Piped output (scripts, CI logs) gets a wide virtual terminal so tables are not squeezed.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")

FAILED = 1  # refused, invalid or unreachable: nothing (more) was done
NOT_REACHED = 2  # `accord watch`: --until names no stage, or the stage was not reached in time


def say(text: str, console: Console = out) -> None:
    """Print ``text`` as it is: no markup, no highlighting (names, reasons and messages come from people)."""
    console.print(text, markup=False, highlight=False)


def fail(message: str, code: int = FAILED) -> NoReturn:
    """Say what went wrong in one line on stderr, and leave with ``code``."""
    say(message, err)
    raise typer.Exit(code)


def run(coro_fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a client call; turn the errors people meet into one clear line and exit 1."""
    from temporalio.client import WorkflowQueryFailedError
    from temporalio.exceptions import WorkflowAlreadyStartedError
    from temporalio.service import RPCError

    from accord.client import ActionRefused

    try:
        return asyncio.run(coro_fn())
    except ActionRefused as exc:
        message = f"refused: {exc.message}"
    except WorkflowAlreadyStartedError as exc:
        message = f"error: {exc.workflow_id} is already running"
    except RPCError as exc:
        message = f"Temporal said: {exc.message}"
    except WorkflowQueryFailedError as exc:
        message = f"error: the workflow could not answer: {exc.message}"
    except RuntimeError as exc:  # the SDK raises RuntimeError when it cannot connect
        message = f"error: {exc}"
    fail(message)


# Control characters, bidi overrides and lone surrogates in a file name, a key or a value quoted in
# a message: shown escaped, so each problem stays one line and nothing in it acts on the terminal.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def one_line(text: str) -> str:
    """``text`` with everything that could break the line or act on the terminal escaped."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
