"""Update plumbing shared by the workflows: apply once, and check again under the lock.

An update's validator runs before anything is written to history and refuses with a
``ValueError``. Two updates accepted in the same workflow task both pass their validators
before either handler runs, so each handler takes the workflow's state lock and runs its
validator again (:func:`checked`) before it changes anything. A refusal there is an
``ApplicationError``: it fails only that update (any other exception would fail the
workflow task and retry it forever).

:func:`once` and :func:`once_validated` make an update apply once even when its client
sends it again after a continue-as-new (update ids are not remembered across runs; the
state remembers recent ones with their answers).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from accord.logic.limits import MAX_ANSWERED
    from accord.models import UpdateResult

A = TypeVar("A")


class RemembersAnswers(Protocol):
    """A workflow whose updates apply once (see :func:`once`)."""

    @property
    def answered(self) -> dict[str, str]:
        """Recent update ids and their answers, kept in the state (so across continue-as-new)."""
        ...

    @property
    def answer_name(self) -> str:
        """The name every answer carries (``UpdateResult.partnership``)."""
        ...


def once(handler: Callable[[Any, A], Awaitable[UpdateResult]]) -> Callable[[Any, A], Awaitable[UpdateResult]]:
    """Apply an update once, even if the client sends it again after continue-as-new.

    A client that loses the answer retries with the same update id; update ids are not
    remembered across runs, so a retry reaching the next run would apply it twice (two
    decisions, two observations). The state remembers recent ids and their answers.
    """

    @functools.wraps(handler)
    async def wrapper(self: RemembersAnswers, arg: A) -> UpdateResult:
        info = workflow.current_update_info()
        assert info is not None  # always, in an update handler
        update_id = info.id
        earlier = self.answered.get(update_id)
        if earlier is not None:
            return UpdateResult(message=earlier, partnership=self.answer_name)
        result = await handler(self, arg)
        self.answered[update_id] = result.message
        for stale in list(self.answered)[:-MAX_ANSWERED]:
            del self.answered[stale]
        result.partnership = self.answer_name
        return result

    return wrapper


def once_validated(validator: Callable[[Any, A], None]) -> Callable[[Any, A], None]:
    """The validator of a :func:`once` update: a repeat of an applied update is accepted (and
    answered with the earlier answer), not refused as e.g. "already decided"."""

    @functools.wraps(validator)
    def wrapper(self: RemembersAnswers, arg: A) -> None:
        info = workflow.current_update_info()
        if info is not None and info.id in self.answered:
            return
        validator(self, arg)

    return wrapper


def recheck(validator: Callable[[A], None], arg: A) -> None:
    """Validate again inside the handler: a refusal fails only this update."""
    try:
        validator(arg)
    except ValueError as exc:
        raise ApplicationError(str(exc), type="ActionRefused", non_retryable=True) from None


@asynccontextmanager
async def checked(lock: asyncio.Lock, validator: Callable[[A], None], arg: A) -> AsyncIterator[None]:
    """Hold the state lock and validate ``arg`` again under it, for the handler's body."""
    async with lock:
        recheck(validator, arg)
        yield
