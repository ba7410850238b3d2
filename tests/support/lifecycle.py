"""Drive partnerships through their lifecycle by the real client, and say where they ended.

A partnership's script is a list of steps, built stage by stage from its definition:
each step is one person's action (an Update through ``accord.client.Accord``), taken as
soon as the workflow asks for it and, given an inbox, only once the email asking that
person has gone out (as people do; a run where someone acts before being asked takes
other paths). Someone whose email was refused for good acts once ops have been told. The fault tests and the benchmarks drive batches of
partnerships with it and compare the end states (``normalize``).

Stages: screening (checklist tasks, goal statements, go/no-go), MOU signature, launch
(its checklist), reviews (every participant's input to the first ``reviews`` reviews of
the first enabled cadence) and closure (ops close it). ``script(d, through=...)`` takes
the steps up to a stage: the fault tests stop at launch (their definitions have no
launch, review or closure sections), the throughput benchmark goes through closure. A
new stage is one more builder in ``STAGES``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from accord.client import Accord, ActionRefused
from accord.config import Settings
from accord.logic import approvals
from accord.models import (
    ApprovalOutcome,
    Channel,
    CloseRequest,
    DecisionInput,
    DecisionKind,
    MetricObservationInput,
    PartnershipState,
    Rag,
    ReviewInputSubmission,
    ReviewKind,
    Stage,
    StatementSubmission,
    TaskCompletion,
)
from accord.storage import Storage, open_storage
from definitions.schema import ApprovalPolicy, PartnershipDefinition
from tests.support.helpers import (
    ALIGNED,
    state_where,
)

# The same words for everyone, so the alignment check passes (divergence 0).
STATEMENT = "Cut permit turnaround for county residents from 42 to 10 days by moving applications online."

# Where the scripts end today (reached, or passed).
GOAL = Stage.launch
ORDER = [Stage.screening, Stage.mou, Stage.launch, Stage.active, Stage.renewal, Stage.closed]


def at_or_beyond(stage: Stage) -> Callable[[PartnershipState], bool]:
    """Reached ``stage`` or a later one (a final stage counts: nothing more will happen)."""
    return lambda s: s.stage.is_final or (s.stage in ORDER and ORDER.index(s.stage) >= ORDER.index(stage))


@dataclass(frozen=True)
class Step:
    stage: Stage
    what: str
    # None: not asked yet (wait); True: act now; False: nothing to do (done, or no longer needed).
    needed: Callable[[PartnershipState], bool | None]
    act: Callable[[Accord, str], Awaitable[Any]]
    # The email that asks for this action (its send key without workflow and chain ids).
    asked: Callable[[PartnershipState], str] | None = None


class Inbox:
    """What has been sent, from Accord's storage (any mail backend, either storage backend):
    purposes delivered and refused.

    Read as one snapshot of every send, taken again at most every ``fresh`` seconds: a batch's
    drivers ask many times a second, and a query per ask would cost the machine more than the
    workers being measured.

        async with Inbox.of(settings) as inbox:     # the storage these settings name
            await drive_all(..., inbox=inbox)
    """

    def __init__(self, *stores: Storage, fresh: float = 0.02):
        self.stores = stores
        self.fresh = fresh
        self._taken = float("-inf")
        self._sends: dict[str, list[tuple[str, str]]] = {}
        self._reading = asyncio.Lock()  # one snapshot at a time; the other drivers share it

    @classmethod
    @asynccontextmanager
    async def of(cls, *settings: Settings, fresh: float = 0.02) -> AsyncIterator[Inbox]:
        """An inbox over the storage of each of ``settings``, closed afterwards."""
        async with AsyncExitStack() as stack:
            stores = [await stack.enter_async_context(await open_storage(s)) for s in settings]
            yield cls(*stores, fresh=fresh)

    async def _by_workflow(self) -> dict[str, list[tuple[str, str]]]:
        async with self._reading:
            if time.monotonic() - self._taken >= self.fresh:
                sends: dict[str, list[tuple[str, str]]] = {}
                for store in self.stores:
                    for entry in await store.list_sends():
                        sends.setdefault(entry.send_key.split("/", 1)[0], []).append((entry.send_key, entry.status))
                self._sends, self._taken = sends, time.monotonic()
            return self._sends

    async def mail(self, workflow_id: str) -> tuple[set[str], set[str]]:
        delivered, refused = set(), set()
        for key, status in (await self._by_workflow()).get(workflow_id, []):
            (delivered if status == "sent" else refused if status == "failed" else set()).add(purpose_of(key))
        return delivered, refused

    async def status(self, workflow_id: str, purpose: str) -> str:
        """The ledger's word on one email (for messages): sent, failed, attempting or not tried."""
        found = [status for key, status in (await self._by_workflow()).get(workflow_id, [])
                 if purpose_of(key) == purpose]
        return found[0] if found else "not tried"

    async def count(self, workflow_id: str) -> int:
        """How many emails this workflow has sent or tried: a cheap sign that it moved."""
        return len((await self._by_workflow()).get(workflow_id, []))

    async def has_asked(self, workflow_id: str, purpose: str) -> bool:
        delivered, refused = await self.mail(workflow_id)
        if purpose in delivered:
            return True
        if purpose in refused:  # unreachable: they act once ops know (and have phoned them)
            what, who = purpose.rsplit("/", 1)
            # Ops are told one notice per refusal, or (rules 2) in the digest of a quiet period.
            return any(p.startswith((f"unreachable/{who}/{what}/", "digest/unreachable/")) for p in delivered)
        return False


def screening_steps(d: PartnershipDefinition, channel: Channel) -> list[Step]:
    steps = []
    for item in d.screening.checklist:
        def needed(s: PartnershipState, task_id=item.id) -> bool | None:
            task = s.tasks.get(task_id)
            return None if task is None else task.is_open

        def act(accord: Accord, wf: str, item=item):
            return accord.complete_task(wf, TaskCompletion(task_id=item.id, actor=item.owner, result=f"{item.id} done",
                                                           channel=channel))
        steps.append(Step(Stage.screening, f"complete {item.id} as {item.owner}", needed, act,
                          lambda s, item=item: f"task/{item.id}/assigned/0/{item.owner}"))
    if d.screening.alignment:
        for who in d.screening.alignment.participants:
            def needed(s: PartnershipState, who=who) -> bool | None:
                return who not in s.alignment.statements

            def act(accord: Accord, wf: str, who=who):
                return accord.submit_statement(wf, StatementSubmission(stakeholder=who, text=ALIGNED.get(who, STATEMENT),
                                                                       channel=channel))
            steps.append(Step(Stage.screening, f"statement by {who}", needed, act,
                              lambda s, who=who: f"task/statement-{who}/assigned/0/{who}"))
    steps += approval_steps(Stage.screening, "go-no-go", d.screening.go_no_go.approvers, channel)
    return steps


def mou_steps(d: PartnershipDefinition, channel: Channel) -> list[Step]:
    if d.mou is None:
        return []
    return approval_steps(Stage.mou, "mou", d.mou.signatories, channel)


def approval_steps(stage: Stage, approval_id: str, approvers: list[str], channel: Channel) -> list[Step]:
    steps = []
    for who in approvers:
        def needed(s: PartnershipState, who=who) -> bool | None:
            approval = s.approvals.get(approval_id)
            if approval is None:
                return None
            if approval.outcome != ApprovalOutcome.pending or any(d.actor == who for d in approval.decisions_in_round()):
                return False
            waiting = approvals.evaluate(approval.policy, approval.approvers, approval.quorum,
                                         approval.decisions_in_round()).waiting_on
            return True if who in waiting else None

        def act(accord: Accord, wf: str, who=who):
            return accord.decide(wf, DecisionInput(approval_id=approval_id, actor=who, decision=DecisionKind.approve,
                                                   comment=f"{who} approves", channel=channel))
        steps.append(Step(stage, f"{approval_id}: {who} approves", needed, act,
                          lambda s, who=who: f"approval/{approval_id}/{s.approvals[approval_id].round}/request/0/{who}"))
    return steps


def launch_steps(d: PartnershipDefinition, channel: Channel, reviews: int = 0) -> list[Step]:
    steps = []
    for item in d.launch.checklist:
        def needed(s: PartnershipState, task_id=item.id) -> bool | None:
            task = s.tasks.get(task_id)
            return None if task is None or task.stage != Stage.launch else task.is_open

        def act(accord: Accord, wf: str, item=item):
            return accord.complete_task(wf, TaskCompletion(task_id=item.id, actor=item.owner, result="done",
                                                           channel=channel))
        steps.append(Step(Stage.launch, f"launch: complete {item.id} as {item.owner}", needed, act,
                          lambda s, item=item: f"task/{item.id}/assigned/0/{item.owner}"))
    for metric in d.metrics:
        if metric.baseline is not None:
            continue
        task_id = f"baseline-{metric.id}"

        def needed(s: PartnershipState, task_id=task_id) -> bool | None:
            task = s.tasks.get(task_id)
            return None if task is None else task.is_open

        def act(accord: Accord, wf: str, metric=metric):
            return accord.record_metric(wf, MetricObservationInput(metric_id=metric.id, value=1, actor=metric.owner,
                                                                   channel=channel))
        steps.append(Step(Stage.launch, f"launch: baseline of {metric.id} by {metric.owner}", needed, act,
                          lambda s, task_id=task_id, who=metric.owner: f"task/{task_id}/assigned/0/{who}"))
    return steps


def review_kind(d: PartnershipDefinition) -> ReviewKind | None:
    return next((k for k in ReviewKind if (c := getattr(d.reviews, k.value, None)) is not None and c.enabled), None)


def nth_review(s: PartnershipState, kind: ReviewKind, n: int):
    """The n-th review of a kind (1-based), in schedule order: ids can skip a number when a
    late worker plans the next one after an occurrence has already passed."""
    of_kind = sorted((r for r in s.reviews.values() if r.kind == kind), key=lambda r: r.n)
    return of_kind[n - 1] if len(of_kind) >= n else None


def review_steps(d: PartnershipDefinition, channel: Channel, reviews: int = 2) -> list[Step]:
    """Every participant's input to the first ``reviews`` reviews of the first enabled cadence."""
    kind = review_kind(d)
    if kind is None or not reviews:
        return []
    cadence = getattr(d.reviews, kind.value)
    participants = list(cadence.participants) or [p.stakeholders[0].id for p in d.parties]
    steps = []
    for n in range(1, reviews + 1):
        for who in participants:
            def needed(s: PartnershipState, n=n, who=who) -> bool | None:
                review = nth_review(s, kind, n)
                if review is None or review.opened_at is None:
                    return None
                return review.closed_at is None and who not in review.inputs

            def act(accord: Accord, wf: str, n=n, who=who):
                async def send():
                    review = nth_review(await accord.state(wf), kind, n)
                    return await accord.submit_review_input(wf, ReviewInputSubmission(
                        review_id=review.id, stakeholder=who,
                        rag=Rag.green if kind == ReviewKind.weekly_status else None, note="On track.",
                        contribution=7 if kind == ReviewKind.annual_mutual_value else None,
                        benefit=7 if kind == ReviewKind.annual_mutual_value else None, channel=channel))
                return send()
            steps.append(Step(Stage.active, f"{kind.value} review {n}: input from {who}", needed, act,
                              lambda s, n=n, who=who: f"review/{nth_review(s, kind, n).id}/request/0/{who}"))
    return steps


def closure_steps(d: PartnershipDefinition, channel: Channel, reviews: int = 2) -> list[Step]:
    kind = review_kind(d)

    def needed(s: PartnershipState) -> bool | None:
        if s.stage.is_final:
            return False
        if s.stage not in (Stage.active, Stage.renewal):
            return None
        last = nth_review(s, kind, reviews) if kind and reviews else None
        return True if not (kind and reviews) or (last is not None and last.closed_at is not None) else None

    def act(accord: Accord, wf: str):
        return accord.close(wf, CloseRequest(actor="ops", reason="The pilot ended as planned.", channel=channel))
    return [Step(Stage.closed, "ops close it", needed, act)]


# One builder per stage, in lifecycle order, with the stage it moves the partnership past.
STAGES: list[tuple[Stage, Callable[..., list[Step]]]] = [
    (Stage.mou, screening_steps), (Stage.launch, mou_steps), (Stage.active, launch_steps),
    (Stage.closed, review_steps), (Stage.closed, closure_steps),
]


def script(d: PartnershipDefinition, channel: Channel = Channel.api, *, through: Stage = GOAL,
           reviews: int = 2) -> list[Step]:
    """The steps that take a partnership to ``through`` (screening and MOU steps get it to launch;
    the launch checklist to active; reviews and closure to closed)."""
    steps: list[Step] = []
    for moves_past, build in STAGES:
        if ORDER.index(moves_past) > ORDER.index(through):
            break
        steps += build(d, channel, reviews) if build in (launch_steps, review_steps, closure_steps) else build(d, channel)
    return steps


@dataclass
class Drive:
    """What happened while driving one partnership."""

    workflow_id: str
    actions: int = 0
    # Refusals (or errors) that turned out to be transient: the action was sent again and then
    # recorded. A person would have seen an error for an action that did not fail for good.
    retried: list[str] = field(default_factory=list)
    query_errors: int = 0
    queries: int = 0
    final: PartnershipState | None = None


async def state_of(accord: Accord, wf: str, drive: Drive, deadline: float | None = None) -> PartnershipState:
    """The state, asked again while the workflow cannot answer (worker or server down, or its
    workflow task failing until it is reset), until the loop time ``deadline``."""
    loop = asyncio.get_running_loop()
    delay = 0.05
    while True:
        try:
            drive.queries += 1
            return await asyncio.wait_for(accord.state(wf), 10)
        except Exception as exc:  # noqa: BLE001 - no worker or server yet: ask again
            drive.query_errors += 1
            if deadline is not None and loop.time() > deadline:
                raise TimeoutError(f"{wf}: the state query has not answered in time; last: "
                                   f"{type(exc).__name__}: {exc}"[:500]) from None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)


async def drive(accord: Accord, wf: str, steps: list[Step], *, poll: float = 0.05, timeout: float = 120,
                rng: random.Random | None = None, think: float = 0.0, attempts: int = 20,
                inbox: Inbox | None = None, refresh: float = 1.0,
                until: Stage | Callable[[PartnershipState], bool] | None = GOAL) -> Drive:
    """Take every step as soon as the workflow asks for it; then wait for ``until`` (a stage,
    or a condition on the state; default: the goal, or a final stage; None: return at once).
    Once the partnership has ended (rejected, failed on a timeout, closed), the steps left are
    skipped: nothing more will ask for them.

    ``inbox``: act only once the email asking for the step has gone out (or was refused and
    ops were told). Without it, steps are taken as soon as the state allows. With it, the
    state (a query, which costs the worker as much as a workflow task) is asked again only
    when the workflow has sent mail since, or ``refresh`` seconds have passed.

    ``think``: up to this many seconds (drawn from ``rng``) between actions, to spread a batch.
    A step refused while the state does not show it done is sent again (up to ``attempts``).
    """
    report = Drive(wf)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen: tuple[int, float] | None = None  # (emails, when) at the last query
    state: PartnershipState | None = None

    async def current() -> PartnershipState:
        nonlocal seen, state
        if inbox is None or state is None or seen is None:
            fresh = True
        else:
            fresh = await inbox.count(wf) != seen[0] or loop.time() - seen[1] > refresh
        if fresh:
            mail = await inbox.count(wf) if inbox else 0
            state = await state_of(accord, wf, report, deadline)
            seen = (mail, loop.time())
        return state

    for step in steps:
        tries = 0
        waiting = "the state"
        while True:
            if loop.time() > deadline:
                raise TimeoutError(f"{wf}: step {step.what!r} not done in {timeout:g} s (waiting for {waiting})")
            state = await current()
            # Ended (rejected, failed on a timeout, closed): nothing more will be asked.
            needed = False if state.stage.is_final else step.needed(state)
            if needed is False:
                break
            if needed is None:
                waiting = f"the workflow to ask for it (stage {state.stage.value}: {state.detail})"
                await asyncio.sleep(poll)
                continue
            if inbox and step.asked and not await inbox.has_asked(wf, step.asked(state)):
                waiting = f"the email {step.asked(state)!r} (send ledger: {await inbox.status(wf, step.asked(state))})"
                await asyncio.sleep(poll)
                continue
            if think and rng:
                await asyncio.sleep(rng.uniform(0, think))
            try:
                await step.act(accord, wf)
                report.actions += 1
                seen = None  # it changed: ask again next time
                break
            except Exception as exc:  # noqa: BLE001 - checked against the state below
                seen = None
                tries += 1
                message = exc.message if isinstance(exc, ActionRefused) else f"{type(exc).__name__}: {exc}"
                report.retried.append(f"{step.what}: {message}")
                if tries >= attempts:
                    raise AssertionError(f"{wf}: {step.what} refused {tries} times; last: {message}") from None
                await asyncio.sleep(min(0.1 * tries, 1.0))
    if until is None:
        return report
    reached = at_or_beyond(until) if isinstance(until, Stage) else until
    while True:
        state = await current()
        if reached(state):
            report.final = state
            return report
        if loop.time() > deadline:
            raise TimeoutError(f"{wf}: stuck in {state.stage.value} ({state.detail})")
        await asyncio.sleep(poll)


async def drive_all(accord: Accord, workflows: list[tuple[str, list[Step]]], *, concurrency: int | None = None,
                    **options) -> list[Drive]:
    """Drive them all at once (or ``concurrency`` at a time)."""
    gate = asyncio.Semaphore(concurrency or max(len(workflows), 1))

    async def one(wf: str, steps: list[Step]) -> Drive:
        async with gate:
            return await drive(accord, wf, steps, **options)

    return list(await asyncio.gather(*(one(wf, steps) for wf, steps in workflows)))


def normalize(state: PartnershipState) -> dict[str, Any]:
    """Where a partnership ended, without what differs between two correct runs (times, ids, hashes)."""
    hashes = {v.version: v.hash for v in state.mou.versions}
    for approval in state.approvals.values():
        for d in approval.decisions:
            assert d.document_version is None or d.document_hash == hashes[d.document_version], \
                f"{approval.id}: decision by {d.actor} names the wrong document hash"
    return {
        "stage": state.stage.value,
        "tasks": {
            t.id: {"kind": t.kind.value, "status": t.status.value, "completed_by": t.completed_by, "result": t.result,
                   "channel": t.channel.value if t.channel else None}
            for t in sorted(state.tasks.values(), key=lambda t: t.id)
        },
        "statements": {s.stakeholder: [s.text, s.revision] for s in state.alignment.statements.values()},
        "alignment": {"blocked": state.alignment.result.blocked if state.alignment.result else None,
                      "overridden_by": state.alignment.overridden_by},
        "approvals": {
            a.id: {
                "outcome": a.outcome.value, "round": a.round, "approvers": a.approvers,
                "decisions": [[d.round, d.actor, d.decision.value, d.comment, d.channel.value, d.document_version]
                              for d in a.decisions],
                "delegations": [[g.round, g.delegator, g.delegate, g.reason] for g in a.delegations],
            }
            for a in state.approvals.values()
        },
        "mou": [[v.version, v.source, v.author] for v in state.mou.versions],
        "signed": state.mou.signed_at is not None,
        "escalations": [[e.trigger, e.subject, e.level, e.status] for e in state.escalations],
        "unreachable": state.unreachable,
        "timeline": sorted(Counter(e.kind for e in state.timeline).items()),
    }


def decisions_of(state: PartnershipState) -> list[tuple[str, int, str, str]]:
    return [(a.id, d.round, d.actor, d.decision.value) for a in state.approvals.values() for d in a.decisions]


def purpose_of(send_key: str) -> str:
    """A send key without its workflow and chain ids: the same for the same email in two runs."""
    return send_key.split("/", 2)[-1]


# Test definitions the batches cycle through: different shapes of screening and signature.
def quick_notices(d: PartnershipDefinition) -> PartnershipDefinition:
    """Notices that can repeat (rules 2) wait a second for more, not two minutes: a batch is driven
    in seconds, and a person the provider refused acts once ops' digest is out."""
    from definitions.durations import Duration

    d.notices.quiet_period, d.notices.max_delay = Duration(seconds=1), Duration(seconds=5)
    return d


def batch_definitions(n: int, unique: Callable[[Any], PartnershipDefinition], data_dir) -> list[PartnershipDefinition]:

    out = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            d = unique(data_dir / "screening.yaml")  # 3 tasks, 4 statements, go/no-go by 2, MOU by 2
        else:
            d = unique(data_dir / "mou.yaml")  # go/no-go by 1, MOU by 3 under a policy
            d.mou.policy = [ApprovalPolicy.all, ApprovalPolicy.sequential, ApprovalPolicy.quorum][kind - 1]
            d.mou.quorum = 2 if kind == 3 else None
        out.append(quick_notices(d))
    return out


async def approve(accord, wf, approval_id: str, who=("ann", "ben")) -> None:
    await state_where(accord, wf, lambda s: approval_id in s.approvals)
    for actor in who:
        await accord.decide(wf, DecisionInput(approval_id=approval_id, actor=actor, decision=DecisionKind.approve,
                                              channel=Channel.api))


async def to_active(accord, wf, baseline: float = 2) -> None:
    await approve(accord, wf, "go-no-go")
    await state_where(accord, wf, lambda s: s.stage == Stage.launch and "baseline-referrals" in s.tasks)
    await accord.record_metric(wf, MetricObservationInput(metric_id="referrals", value=baseline, actor="abe", channel=Channel.api))
    await accord.complete_task(wf, TaskCompletion(task_id="kickoff", actor="abe", result="pre-mortem held", channel=Channel.api))
    await state_where(accord, wf, lambda s: s.stage == Stage.active)


async def to_mou_stage(accord, wf):
    await state_where(accord, wf, lambda s: "go-no-go" in s.approvals)
    await accord.decide(wf, DecisionInput(approval_id="go-no-go", actor="alice", decision=DecisionKind.approve))
    return await state_where(accord, wf, lambda s: "mou" in s.approvals)
