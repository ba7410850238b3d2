"""Small helpers shared by the tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from accord.client import Accord
from accord.models import Channel, PartnershipState, StatementSubmission, TaskCompletion
from definitions.schema import PartnershipDefinition

T = TypeVar("T")

ALIGNED = {
    "alice": "Cut permit turnaround for county residents from 42 to 10 days by moving applications online.",
    "arun": "Move permit applications online so residents get a decision in 10 days instead of 42.",
    "bea": "Replace the paper permit process with an online service that cuts turnaround to 10 days.",
    "bo": "Residents apply for permits online and get decisions in 10 days rather than 42.",
}
DIVERGENT = "Win more state government contracts and grow our public sector revenue next year."


async def eventually(check: Callable[[], Awaitable[T]], timeout: float = 10.0, interval: float = 0.05) -> T:
    """Await ``check`` until it returns without AssertionError (or time runs out)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await check()
        except AssertionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(interval)


async def state_is(accord: Accord, workflow_id: str, predicate: Callable[[PartnershipState], bool]) -> PartnershipState:
    """The partnership's state, if ``predicate`` holds for it (else AssertionError)."""
    state = await accord.state(workflow_id)
    assert predicate(state), f"state not reached; stage={state.stage} detail={state.detail}"
    return state


async def state_where(accord: Accord, workflow_id: str, predicate: Callable[[PartnershipState], bool],
                      timeout: float = 10.0) -> PartnershipState:
    return await eventually(lambda: state_is(accord, workflow_id, predicate), timeout)


async def pass_checklist(accord: Accord, workflow_id: str, tasks: dict[str, str]) -> None:
    """Complete tasks (task id -> owner) through the API channel."""
    for task_id, owner in tasks.items():
        await accord.complete_task(workflow_id, TaskCompletion(task_id=task_id, actor=owner, result="done", channel=Channel.api))


async def submit_statements(accord: Accord, workflow_id: str, statements: dict[str, str]) -> None:
    for who, text in statements.items():
        await accord.submit_statement(workflow_id, StatementSubmission(stakeholder=who, text=text, channel=Channel.api))


def unique(definition_path) -> PartnershipDefinition:
    """Load a test definition under a fresh id, so tests sharing one server never collide."""
    import uuid

    import definitions

    d = definitions.load(definition_path, allow_short=True)  # test definitions compress time
    return d.model_copy(update={"id": f"{d.id}-{uuid.uuid4().hex[:8]}"})


async def skip_time(env, duration, timeout: float = 30) -> None:
    """``env.sleep`` on the time-skipping server, allowing a busy machine longer than the RPC's
    default timeout (``timeout`` seconds) to play out the timers, activities and workflow tasks
    in ``duration``."""
    from datetime import timedelta

    from temporalio.api.testservice.v1 import SleepRequest

    request = SleepRequest()
    request.duration.FromTimedelta(duration)
    await env.client.test_service.unlock_time_skipping_with_sleep(request, timeout=timedelta(seconds=timeout))


async def release_time_skipping(env) -> None:
    """The Java test server can keep time-skipping locked after a workflow task it refused at a
    continue-as-new boundary: unlock it (an extra unlock is refused harmlessly)."""
    from temporalio.api.testservice.v1 import UnlockTimeSkippingRequest
    from temporalio.service import RPCError

    try:
        await env.client.test_service.unlock_time_skipping(UnlockTimeSkippingRequest())
    except RPCError:
        pass


async def advance_to(env, moment) -> None:
    """Skip the test server's clock to ``moment``. A loaded machine can make the server drop a
    time skip (as tests/workflows/test_operating.py meets): read where the clock got to and go on."""
    from temporalio.service import RPCError

    for _ in range(8):
        now = await env.get_current_time()
        if now >= moment:
            return
        try:
            await skip_time(env, moment - now)
        except RPCError:
            await release_time_skipping(env)
    assert await env.get_current_time() >= moment, "the time-skipping server keeps failing"
