"""Crash safety: the worker process is SIGKILLed at chosen points and started again.

Two batches of partnerships (tests/support/lifecycle.py: screening tasks, goal statements, go/no-go,
MOU signature under several policies) are driven at once through the real client on the dev
server: one on an in-process worker that is left alone, one on a worker *process*
(tests/support/fault_worker.py) that is SIGKILLed four times, placed by the batch's SendGrid requests:
as a request arrives (SendGrid has taken the email, the worker has not heard back) or a moment
after it, in the opening burst of emails or among the requests that follow people's decisions.
The next worker then polls after a short down time (tests/support/faults.py: crash_run).

Beside the killed worker runs what ops run, `accord recover` (accord/ops/doctor.py): a
partnership stopped by the SDK's replay bug (temporalio/sdk-python#1591, README "Known
issues") is reset by it, under every safety condition, and counted. Anything else stuck fails
the test. The run ends with a cold restart (every worker starts again with nothing cached and
each partnership runs one more workflow task), because that bug can write a history its live
worker never replays: such a partnership is stuck only at its next cold start, and is reset
then. Afterwards every partnership must have ended where its twin in the clean batch did
(stage, tasks, statements, decisions, MOU versions, timeline), with no decision missing, no
workflow task failed, nothing stuck, no email delivered twice and none left with an unknown
outcome.

CI runs the fixed SEEDS (together they cover every kind of kill point); rerun a seed, or try
others, with ACCORD_FAULT_SEED=<seed>[,<seed>...]. Many seeds (outside CI):
`PYTHONPATH=. .venv/bin/python -m bench --only crash` (bench/crash.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from accord.models import Channel, DecisionInput, DecisionKind, Stage
from tests.support import run_record, stuck_helpers
from tests.support.fake_sendgrid import FakeSendGrid
from tests.support.faults import DATA, Recovery, Unrecovered, crash_run, kill_plan
from tests.support.helpers import (
    ALIGNED,
    eventually,
    pass_checklist,
    state_where,
    submit_statements,
    unique,
)
from tests.support.stuck_helpers import tainted
from workflows.partnership import PartnershipWorkflow

# Chosen (by its kill plan, printed with each run) so that it kills the worker as a send
# arrives and shortly after one, both in the opening burst of emails and among the requests
# that follow decisions (test_the_seeds_cover_every_kill_point): one run covers what two seeds
# (8 and 16) did, in half the time; many seeds run in bench/crash.py.
SEEDS = [21]


def seeds() -> list[int]:
    override = os.environ.get("ACCORD_FAULT_SEED", "").strip()
    return [int(s) for s in override.replace(",", " ").split()] if override else SEEDS


def test_the_seeds_cover_every_kill_point():
    kinds = {kill.kind for seed in SEEDS for kill in kill_plan(seed)}
    assert kinds == {(when, where) for when in ("as a send arrives", "shortly after a send")
                     for where in ("opening burst", "after decisions")}, kinds


@pytest.fixture
def sg() -> Iterator[FakeSendGrid]:
    with FakeSendGrid() as fake:
        yield fake


def hidden_upstream_bug(refusal: str) -> list[str]:
    """The partnerships of a recovery's refusal (``Unrecovered``) if every one of them is the
    upstream bug gone unseen while the partnership went on (doctor's condition 6), else []."""
    entries = refusal.removeprefix("stuck, and not reset: ").split(" | ")
    if not all("sdk-python-1591" in e and "went on after the reset point" in e for e in entries):
        return []
    return [e.split(":", 1)[0] for e in entries]


@pytest.mark.parametrize("seed", seeds())
async def test_worker_killed_at_chosen_points_changes_nothing(seed, dev_env, settings, accord_for, sg, tmp_path):
    plan = kill_plan(seed)
    print(f"crash seed {seed} (rerun with ACCORD_FAULT_SEED={seed}): "
          + "; ".join(f"{k.point}, {k.down:.2f} s down" for k in plan))

    def accord(side_settings):
        made = accord_for(dev_env)
        made.settings = side_settings
        return made

    for attempt in (1, 2):
        try:
            run = await crash_run(dev_env.client, settings, sg, tmp_path / f"run-{attempt}", seed, accord)
            break
        except Unrecovered as exc:
            hidden = hidden_upstream_bug(str(exc))
            if attempt == 2 or not hidden:
                raise
            # The upstream bug stayed hidden while the partnership went on: the recovery names it
            # and leaves it to a person, as it must (README "Known issues"); the run's other
            # guarantees are then checked on the seed run once more, and the meeting is reported.
            run_record.figures("crash: upstream bug met", f"seed {seed}: temporalio/sdk-python#1591 stayed hidden "
                               f"in {', '.join(hidden)}; reported to a person (condition 6), the seed run once more")
            for wf in hidden:
                await dev_env.client.get_workflow_handle(wf).terminate(reason="left to a person; the seed runs again")
    print(run.report())

    assert len(run.kills) >= 2, f"seed {seed}: the batch finished before the worker could be killed twice"
    assert run.failed == {wf: [] for wf in run.failed}, f"seed {seed}: failed workflow tasks"
    assert run.stuck == [], f"seed {seed}: stuck at the end"
    assert run.comparison.lost == 0  # compare_runs already failed on any difference in state or emails
    assert run.comparison.twice == [], f"seed {seed}: delivered more than once: {run.comparison.twice}"
    assert run.comparison.attempting == [], f"seed {seed}: sends with unknown outcome left: {run.comparison.attempting}"


async def test_the_recovery_beside_the_killed_worker_resets_the_replay_bug_and_stops_at_anything_else(
        dev_env, settings, accord_for):
    """The crash run's Recovery (accord recover's recover_once) on partnerships made stuck on
    purpose (tests/support/stuck_helpers.py): the #1591 history shape is reset, counted, and goes on with
    its update applied once; a workflow task failing for another reason fails the run at once."""
    client = dev_env.client
    settings = settings.model_copy(update={"stuck_task_attempts": 2})
    accord = accord_for(dev_env)
    recovery = Recovery(client, settings, [settings.task_queue], interval=0.5)

    wf = await tainted(client, accord, settings)
    async with stuck_helpers.worker(client, settings, broken=False):
        await accord.handle(wf).signal(PartnershipWorkflow.email_event, stuck_helpers.event())  # the next task replays

        async def reset() -> None:
            await recovery.look()
            assert len(recovery.resets) == 1, recovery.resets

        await eventually(reset, timeout=120, interval=0.5)
        assert recovery.resets[0].startswith(f"{wf} on {settings.task_queue}: sdk-python-1591, reset to event")
        state = await state_where(accord, wf, lambda s: s.tasks["legal"].completed_by == "bo", timeout=30)
        assert [e.kind for e in state.timeline].count("task_completed") == 1

    async with stuck_helpers.worker(client, settings):
        broken = await accord.start(unique(DATA / "screening.yaml"))
        await state_where(accord, broken, lambda s: "legal" in s.tasks)
        await accord.handle(broken).signal(PartnershipWorkflow.email_event, stuck_helpers.event("boom"))

        refusal = await refusal_of(recovery)
        assert f"{broken}: workflow-error" in refusal and "not the SDK replay bug" in refusal, refusal
    assert len(recovery.resets) == 1  # nothing else was reset


async def test_a_run_that_went_on_after_the_bug_struck_is_left_to_a_person(dev_env, settings, accord_for):
    """The bug can stay hidden: the worker that wrote the history keeps the run cached, and the
    partnership goes on (here: the rest of screening and both go/no-go decisions). A worker
    without it in cache then fails on it. A reset would re-apply those decisions at the reset
    point, before the go/no-go was open, where they are refused: the partnership would be back
    in screening waiting for decisions its people already gave (the many-seed crash run met
    this, seed 101). The recovery leaves it alone and says why."""
    client = dev_env.client
    settings = settings.model_copy(update={"stuck_task_attempts": 2})
    accord = accord_for(dev_env)

    async def went_on(wf: str) -> None:
        await pass_checklist(accord, wf, {"capability": "arun", "charter": "alice"})
        await submit_statements(accord, wf, ALIGNED)
        await state_where(accord, wf, lambda s: "go-no-go" in s.approvals)
        for who in ("alice", "bea"):
            await accord.decide(wf, DecisionInput(approval_id="go-no-go", actor=who, decision=DecisionKind.approve,
                                                  comment="go", channel=Channel.api))
        await state_where(accord, wf, lambda s: s.stage == Stage.mou)

    wf = await tainted(client, accord, settings, then=went_on)
    recovery = Recovery(client, settings, [settings.task_queue], interval=0.5)
    async with stuck_helpers.worker(client, settings, broken=False):
        await accord.handle(wf).signal(PartnershipWorkflow.email_event, stuck_helpers.event())  # the next task replays
        refusal = await refusal_of(recovery)
    assert f"{wf}: sdk-python-1591" in refusal and "went on after the reset point" in refusal, refusal
    assert "update decide x2" in refusal, refusal
    assert recovery.resets == []


async def refusal_of(recovery: Recovery) -> str:
    """What the recovery says when it finds a stuck run it will not reset (looking until it does)."""
    async def refused() -> Unrecovered:
        try:
            await recovery.look()
        except Unrecovered as exc:
            return exc
        raise AssertionError("not found stuck yet")

    return str(await eventually(refused, timeout=120, interval=0.5))
