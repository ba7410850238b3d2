"""The rule of issue 11 as a property: whatever `accord validate` accepts, the workflow can run
for its whole life.

Hypothesis (fixed seed, a bounded number of examples) generates definitions across the
whole space the limits allow, extremes included (names at the longest with markup,
durations at the longest and the shortest, lists at their longest), keeps those the
checks accept as a real deployment has them (short durations not allowed), and drives
each on the time-skipping server with the real worker, people acting as they do once
asked by email: screening, the MOU, launch, then time skipped to the first renewal
decision (or, without a renewal, ops close it: its final stage). Every run of the
partnership and of each escalation it raised must have no failed workflow task (the
server's UnhandledCommand refusals, where a run completes as a child's news arrives and the
task simply runs again, are counted apart: they are Temporal's protocol, not a failure).

The figures (examples tried and accepted, time) go to the summary at the end of the run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, Phase, assume, example, given, settings
from hypothesis import strategies as st
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError

from accord.client import Accord
from accord.config import Settings
from accord.models import (
    Channel,
    CloseRequest,
    PartnershipInput,
    PartnershipState,
    Stage,
)
from definitions import checks, limits
from definitions.durations import Duration
from definitions.schema import PartnershipDefinition
from tests.support import history_files, run_record
from tests.support.helpers import eventually, skip_time, state_where
from tests.support.lifecycle import Inbox, drive, script
from tests.support.workers import running_worker
from workflows.partnership import PartnershipWorkflow

# One line of text a person could write, with everything a template must escape.
MARKUP = "<b>Ac&amp;me</b> \"q\" 'a' {{ d.id }} {% if 1 %} <script>alert(1)</script> [x](javascript:x) é 漢 🙂 ${x} |"
# Several lines of it.
PARAGRAPH = MARKUP + "\n\t- " + MARKUP + "\r\n"

DEADLINES = ["1h", "1d", "1w", "2w", "1mo", "1y", "5y"]
REMINDERS = ["1h", "1d", "2d", "1w", "1y"]
CADENCES = ["1d", "1w", "1mo", "3mo", "1y", "5y"]
TERMS = ["1d", "1w", "1mo", "1y", "2y", "10y"]
CLAUSES = ["roles_and_responsibilities", "decision_authority", "intellectual_property", "publication_rights", "data_use",
           "conflict_resolution", "renewal", "termination"]
REVIEW_KINDS = ["weekly_status", "monthly", "quarterly", "six_month_formal", "annual_mutual_value"]
# Reviews before the first renewal decision, at most: each one costs the test a few workflow tasks.
MAX_REVIEWS = 12


def d_(text: str) -> Duration:
    return Duration.parse(text)


def seconds(text: str) -> int:
    return int(d_(text).approx.total_seconds())


def text(length: int, source: str = MARKUP) -> str:
    """``length`` characters of ``source`` repeated, neither starting nor ending with blanks
    (names are stripped: the length must be the length stored)."""
    if length <= 0:
        return ""
    out = (source * (length // len(source) + 1))[:length]
    return ("N" + out[1:-1] + "n")[:length] if length > 1 else "N"


@dataclass(frozen=True)
class Spec:
    """What one generated definition is made of (small enough to read in a failure report)."""

    parties: int = 2
    people: int = 2  # per party
    ops: int = 1
    name_len: int = 12  # every name, title, role and unit
    text_len: int = 0  # descriptions, goals, prompts, definitions of done
    clause_len: int = 0
    clauses: int = 8  # how many of the standard clauses have text
    other_clauses: int = 0
    checklist: int = 1
    statements: int = 0  # goal statements (0: no alignment check)
    approvers: int = 2
    policy: str = "all"
    formal: bool = True
    signatories: int = 2
    launch_checklist: int = 0
    deliverables: int = 0
    metrics: int = 0
    ladder: int = 1
    contacts: int = 1
    due: str = "1w"
    approval_deadline: str = "1w"
    respond_within: str = "2d"
    before: tuple[str, ...] = ()
    overdue_every: str | None = None
    escalate_after: str | None = None
    on_timeout: str = "escalate"
    reviews: tuple[tuple[str, str, str], ...] = ()  # (kind, every, inputs_due)
    review_participants: int = 0  # 0: each party's first stakeholder
    business_days: bool = False
    renewal: tuple[str, str, str] | None = None  # (term, notice, decision deadline)
    target_by: str | None = None
    patience: bool = False  # nobody acts in screening until its tasks are overdue and escalated
    baselines_known: bool = False  # metrics come with their baseline (no baseline task at launch)
    template: str = "mou.md.j2"
    long_ids: bool = False
    top_level_triggers: bool = False
    stray: str | None = None  # one value pushed just past its bound (see STRAYS): must be refused


# A value just past one bound: whatever else the definition is, the checks must refuse it.
STRAYS = {
    "name": lambda data: data.update(name="N" * (limits.NAME.longest + 1)),
    "line-break": lambda data: data.update(name="Partnership\r\nBcc: everyone@example.com"),
    "longest-deadline": lambda data: data["screening"]["go_no_go"].update(deadline="P5YT1S"),
    "short-deadline": lambda data: data["screening"]["go_no_go"].update(deadline="59m"),
    "ladder": lambda data: data["escalation"]["ladder"].extend(data["escalation"]["ladder"][:1] * limits.LISTS["ladder"]),
    "template": lambda data: data.setdefault("mou", {"signatories": data["screening"]["go_no_go"]["approvers"],
                                                     "deadline": "1w"}).update(template="../mou.md.j2"),
}


def build(spec: Spec, n: int) -> PartnershipDefinition:
    """The definition ``spec`` describes; example ``n`` gets its own id."""
    name = text(spec.name_len)
    people = [[f"p{p}x{i}" for i in range(spec.people)] for p in range(spec.parties)]
    everyone = [who for party in people for who in party]
    # Round robin over the parties, so any k people include every party when k >= parties.
    spread = [people[i % spec.parties][i // spec.parties] for i in range(len(everyone))]

    def pick(k: int) -> list[str]:
        return spread[:k]

    reminders = {"before": list(spec.before), "overdue_every": spec.overdue_every, "escalate_after": spec.escalate_after}
    approval = {"policy": spec.policy, "deadline": spec.approval_deadline, "on_timeout": spec.on_timeout,
                "approvers": pick(spec.approvers)}
    if spec.policy == "quorum":
        approval["quorum"] = max(1, spec.approvers // 2)
    ident = f"prop-{n}"
    ident = (ident + "-" + "x" * 63)[:63] if spec.long_ids else ident
    data: dict = {
        "id": ident,
        "name": name,
        "description": text(spec.text_len, PARAGRAPH),
        "formality": "formal" if spec.formal else "informal",
        "ops": [{"name": name, "email": f"o'brien.ops{i}@ops.example"} for i in range(spec.ops)],
        "parties": [
            {"id": f"party-{p}", "name": name, "role": name, "value_statement": text(spec.text_len, PARAGRAPH),
             "holidays": ["US", "GB-SCT", "DE"][p % 3] if spec.business_days else None,
             "stakeholders": [{"id": who, "name": name, "email": f"a+{who}@party{p}.example", "role": name}
                              for who in party]}
            for p, party in enumerate(people)
        ],
        "reminders": reminders,
        "screening": {
            "checklist": [{"id": f"check-{i}", "title": name, "description": text(spec.text_len, PARAGRAPH),
                           "owner": spread[i % len(spread)], "due": spec.due} for i in range(spec.checklist)],
            "go_no_go": approval,
        },
        "metrics": [{"id": f"metric-{i}", "name": name, "goal": text(spec.text_len, PARAGRAPH), "owner": spread[i % len(spread)],
                     "unit": name, "target": 10, "baseline": 0 if spec.baselines_known else None, "cadence": CADENCES[i % len(CADENCES)],
                     "target_by": spec.target_by} for i in range(spec.metrics)],
        "launch": {
            "checklist": [{"id": f"launch-{i}", "title": name, "owner": spread[i % len(spread)], "due": spec.due}
                          for i in range(spec.launch_checklist)],
            "deliverables": [{"id": f"deliverable-{i}", "title": name, "owner": spread[i % len(spread)],
                              "definition_of_done": text(max(spec.text_len, 1), PARAGRAPH), "due": spec.due}
                             for i in range(spec.deliverables)],
        },
        "escalation": {
            "ladder": [{"name": name, "contacts": pick(spec.contacts), "respond_within": spec.respond_within}
                       for _ in range(spec.ladder)],
            "triggers": {t: {"level": spec.ladder} for t in ("overdue", "red_status", "missed_updates", "missed_target",
                                                               "imbalance", "alignment")} if spec.top_level_triggers else {},
        },
    }
    if spec.statements:
        data["screening"]["alignment"] = {"participants": pick(spec.statements), "due": spec.due,
                                          "prompt": text(max(spec.text_len, 1), PARAGRAPH),
                                          "override_by": pick(min(spec.approvers, limits.LISTS["override_by"]))}
    if spec.formal:
        clause = text(spec.clause_len, PARAGRAPH)
        data["mou"] = {
            "template": spec.template, "policy": spec.policy, "deadline": spec.approval_deadline,
            "on_timeout": spec.on_timeout, "signatories": pick(spec.signatories),
            "quorum": max(1, spec.signatories // 2) if spec.policy == "quorum" else None,
            "clauses": {**{c: clause for c in CLAUSES[:spec.clauses]},
                        "other": {text(spec.name_len - 3) + f" {i:02}": clause for i in range(spec.other_clauses)}},
        }
    reviews: dict = {}
    for kind, every, inputs_due in spec.reviews:
        reviews[kind] = {"every": every, "inputs_due": inputs_due, "participants": pick(spec.review_participants),
                         "business_days_only": spec.business_days}
        if kind == "weekly_status":
            reviews[kind]["prompt"] = text(max(spec.text_len, 1), PARAGRAPH)
    data["reviews"] = reviews
    if spec.renewal:
        term, notice, deadline = spec.renewal
        data["renewal"] = {"term": term, "notice": notice,
                           "approval": {"approvers": pick(spec.approvers), "deadline": deadline,
                                        "policy": "all", "on_timeout": spec.on_timeout}}
    if spec.stray:
        STRAYS[spec.stray](data)
    return PartnershipDefinition.model_validate(data)


@st.composite
def specs(draw) -> Spec:
    """Mostly small definitions (each takes the machine seconds to drive), every dimension
    reaching its extremes now and then."""
    def size(most: int, least: int = 0, small: int = 3) -> int:
        return draw(st.sampled_from([least, *range(max(least, 1), small + 1), most]))

    def pick(values: list[str]) -> str:
        return draw(st.sampled_from(values))

    parties = size(limits.LISTS["parties"], 2, 3)
    people = size(4, 1, 2)
    population = parties * people
    due = pick(DEADLINES)
    # Reminders before a deadline fit before every task's deadline (the checks say so anyway).
    earlier = [r for r in REMINDERS if seconds(r) < seconds(due)]
    before = draw(st.lists(st.sampled_from(earlier), max_size=limits.LISTS["before"], unique=True)) if earlier else []
    escalate_after = draw(st.sampled_from([None, *REMINDERS]))
    reviews = []
    for kind in draw(st.lists(st.sampled_from(REVIEW_KINDS), max_size=2, unique=True)):
        every = pick(CADENCES)
        reviews.append((kind, every, pick([x for x in DEADLINES if seconds(x) <= seconds(every)])))
    renewal = None
    if draw(st.booleans()):
        # At most MAX_REVIEWS reviews of the quickest cadence before the renewal decision.
        quickest = min((seconds(every) for _, every, _ in reviews), default=None)
        term = pick([t for t in TERMS if quickest is None or seconds(t) <= MAX_REVIEWS * quickest])
        notice = pick([x for x in DEADLINES if seconds(x) < seconds(term)])
        renewal = (term, notice, pick([x for x in DEADLINES if seconds(x) <= seconds(notice)]))
    # The time-skipping server ends a workflow 10 simulated years after it started (its default
    # execution timeout; a real server has none): every life stays under 9 years.
    waited = seconds(due) + (seconds(escalate_after) if escalate_after else 0)
    operated = seconds(renewal[0]) - seconds(renewal[1]) if renewal else 0
    patience = draw(st.booleans()) and waited + operated < seconds("9y")
    statements = draw(st.sampled_from([0, 0, min(population, 2 * parties), min(population, limits.LISTS["participants"])]))
    return Spec(
        parties=parties, people=people, ops=size(limits.LISTS["ops"], 1, 1), name_len=size(limits.NAME.longest, 1, 20),
        text_len=size(limits.TEXT.longest, 0, 40), clause_len=size(limits.CLAUSE.longest, 0, 40),
        clauses=size(8, 0, 1), other_clauses=size(4, 0, 1), checklist=size(limits.LISTS["checklist"], 0, 2),
        statements=statements if statements >= 2 else 0, approvers=min(population, size(limits.LISTS["approvers"], 1, 2)),
        policy=pick(["all", "any", "quorum", "sequential"]), formal=draw(st.booleans()),
        signatories=max(parties, min(population, size(limits.LISTS["signatories"], 1, 2))),
        launch_checklist=size(limits.LISTS["checklist"], 0, 1), deliverables=size(3, 0, 1), metrics=size(3, 0, 1),
        ladder=size(limits.LISTS["ladder"], 1, 2), contacts=min(population, size(limits.LISTS["contacts"], 1, 2)),
        due=due, approval_deadline=pick(DEADLINES), respond_within=pick(DEADLINES),
        before=tuple(sorted(before, key=seconds, reverse=True)), overdue_every=draw(st.sampled_from([None, *REMINDERS])),
        escalate_after=escalate_after, on_timeout=pick(["escalate", "fail"]), reviews=tuple(reviews),
        review_participants=min(population, size(4, 0, 1)), business_days=draw(st.booleans()), renewal=renewal,
        target_by=draw(st.sampled_from([None, "6mo", "10y"])), patience=patience, baselines_known=draw(st.booleans()),
        template=pick(["mou.md.j2", "./mou.md.j2"]), long_ids=draw(st.booleans()), top_level_triggers=draw(st.booleans()),
        stray=draw(st.sampled_from([None, None, None, *STRAYS])),
    )


# The extremes, always tried (and counted) first.
# (As long as every text field can be at once within the definition's size limit.)
LONGEST_TEXT = Spec(name_len=limits.NAME.longest, text_len=limits.TEXT.longest, clause_len=limits.CLAUSE.longest,
                    clauses=5, other_clauses=1, statements=2, metrics=1, deliverables=1, launch_checklist=1,
                    long_ids=True, reviews=(("monthly", "1mo", "1w"),), renewal=("1y", "1mo", "2w"), business_days=True)
# The longest of each duration, the first renewal decision 5 years after launch.
LONGEST_DURATIONS = Spec(due="5y", approval_deadline="5y", respond_within="5y", before=("1y", "1w", "1d"),
                         overdue_every="1y", escalate_after="1y", ladder=limits.LISTS["ladder"], statements=2,
                         reviews=(("annual_mutual_value", "5y", "5y"), ("six_month_formal", "5y", "1y")),
                         renewal=("10y", "5y", "5y"), target_by="10y", metrics=1, deliverables=1, top_level_triggers=True)
# Nobody acts in screening until the longest deadline and the longest wait have passed and
# the escalation, at the top of a ladder of the longest windows, works out when it climbs.
LONGEST_WAITS = Spec(due="5y", approval_deadline="5y", respond_within="5y", overdue_every="1y", escalate_after="1y",
                     ladder=limits.LISTS["ladder"], top_level_triggers=True, patience=True, formal=False,
                     reviews=(("weekly_status", "1w", "2d"),))
SHORTEST_DURATIONS = Spec(due="1h", approval_deadline="1h", respond_within="1h", overdue_every="1h",
                          escalate_after="1h", reviews=(("weekly_status", "1d", "1h"), ("monthly", "1d", "1d")),
                          renewal=("1d", "1h", "1h"), ladder=2, patience=True, business_days=True)
# Every list at its longest (the launch checklist shares the screening checklist's limit).
LONGEST_LISTS = Spec(parties=limits.LISTS["parties"], people=3, name_len=20, ops=limits.LISTS["ops"],
                     checklist=limits.LISTS["checklist"], statements=limits.LISTS["participants"],
                     approvers=limits.LISTS["approvers"], signatories=limits.LISTS["signatories"],
                     deliverables=limits.LISTS["deliverables"], metrics=limits.LISTS["metrics"], baselines_known=True,
                     ladder=limits.LISTS["ladder"], contacts=limits.LISTS["contacts"], before=("2d", "1d", "1h"),
                     other_clauses=limits.LISTS["other"], long_ids=True, reviews=(("quarterly", "3mo", "1w"),),
                     review_participants=limits.LISTS["participants"])
EXTREMES = {"longest-text": LONGEST_TEXT, "longest-durations": LONGEST_DURATIONS, "longest-waits": LONGEST_WAITS,
            "shortest-durations": SHORTEST_DURATIONS, "longest-lists": LONGEST_LISTS}


@dataclass
class Figures:
    tried: int = 0
    accepted: int = 0
    renewal: int = 0
    final: int = 0
    runs: int = 0
    escalations: int = 0
    failed_tasks: int = 0
    raced: int = 0
    started: float | None = None
    worst: float = 0.0


FIGURES = Figures()


@pytest.fixture(scope="module", autouse=True)
def report_figures():
    yield
    f = FIGURES
    if f.tried:
        run_record.figures("definition property",
            f"definition property: {f.tried} tried, {f.accepted} accepted by the checks; driven to the first renewal "
            f"decision: {f.renewal}, to a final stage: {f.final}; {f.runs} workflow runs and {f.escalations} "
            f"escalations checked: {f.failed_tasks} failed workflow tasks ({f.raced} completions retried after "
            f"UnhandledCommand); {time.monotonic() - (f.started or 0):.0f} s (slowest example {f.worst:.1f} s)")


async def task_failures(client: Client, workflow_id: str) -> tuple[int, int, int]:
    """Failed workflow tasks in every run of a workflow (walked back from the latest run): those
    the workflow's code caused, the server's refusals to complete a run while new events were
    arriving (cause UnhandledCommand: a child finished as the run completed; the task runs again
    with the news, as Temporal designs it, and that is no failure of the code), and the runs."""
    run_id, failed, raced, runs = None, 0, 0, 0
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        runs += 1
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                cause = event.workflow_task_failed_event_attributes.cause
                if cause == history_files.UNHANDLED_COMMAND:
                    raced += 1
                else:
                    failed += 1
        run_id = history.events[0].workflow_execution_started_event_attributes.continued_execution_run_id
        if not run_id:
            return failed, raced, runs


async def skip_until(env, accord: Accord, wf: str, at, reached) -> PartnershipState:
    """Skip time past ``at``, then wait for the state to show ``reached``. (Never unlock time
    skipping for good: time would then run on by itself, years at a time, under the drive.)"""
    for _ in range(5):
        remaining = at - await env.get_current_time()
        try:
            if remaining > timedelta(0):
                await skip_time(env, remaining + timedelta(minutes=1), timeout=300)
            return await state_where(accord, wf, reached, timeout=30)
        except (RPCError, AssertionError):
            continue  # a skip cut short on a loaded machine: go on from where the clock got to
    raise AssertionError(f"{wf}: not reached after skipping to {at}")


def decision_at(state: PartnershipState, d: PartnershipDefinition):
    assert d.renewal is not None and state.term_started_at is not None
    return d.renewal.notice.before(d.renewal.term.after(state.term_started_at))


@settings(max_examples=8, derandomize=True, database=None, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.data_too_large])
@given(spec=specs())
@example(spec=LONGEST_TEXT)
@example(spec=LONGEST_DURATIONS)
@example(spec=LONGEST_WAITS)
@example(spec=SHORTEST_DURATIONS)
@example(spec=LONGEST_LISTS)
@pytest.mark.timeout(600)
async def test_what_validates_runs_its_whole_life(ts_env, settings: Settings, spec: Spec) -> None:
    FIGURES.started = FIGURES.started or time.monotonic()
    FIGURES.tried += 1
    d = build(spec, FIGURES.tried)
    # As a real deployment judges it: no short durations.
    found = checks.problems(d, allow_short=False)
    assert found or not spec.stray, f"{spec.stray} past its bound was accepted"
    assume(not found)
    FIGURES.accepted += 1
    print(f"example {FIGURES.tried}: {spec}", flush=True)
    began = time.monotonic()
    deployment = settings.model_copy(update={"allow_short_durations": False})
    accord = Accord(ts_env.client, deployment)
    async with running_worker(ts_env.client, deployment), Inbox.of(deployment) as inbox:
        wf = await accord.start(d)
        try:
            await live(ts_env, accord, inbox, wf, d, spec)
        finally:
            state = await accord.state(wf)
            children = [e.workflow_id for e in state.escalations if e.workflow_id]
            for workflow_id in [wf, *children]:
                failed, raced, runs = await task_failures(ts_env.client, workflow_id)
                FIGURES.failed_tasks += failed
                FIGURES.raced += raced
                FIGURES.runs += runs
                assert failed == 0, f"{workflow_id}: {failed} failed workflow task(s) ({spec})"
                try:
                    await ts_env.client.get_workflow_handle(workflow_id).terminate(reason="property checked")
                except RPCError:  # it has already finished
                    pass
            FIGURES.escalations += len(children)
    took = time.monotonic() - began
    FIGURES.worst = max(FIGURES.worst, took)
    print(f"example {FIGURES.tried}: {took:.1f} s", flush=True)


async def live(env, accord: Accord, inbox: Inbox, wf: str, d: PartnershipDefinition, spec: Spec) -> None:
    """Screening, MOU, launch as people do it, then the operating years up to the first renewal
    decision (or closure by ops when there is no renewal)."""
    if spec.patience:
        # Nobody acts until the screening tasks are overdue and escalated (the escalation then
        # works out when it climbs, up to the longest window ahead).
        now = await env.get_current_time()
        late = (d.reminders.escalate_after or Duration()).after(d_(spec.due).after(now))
        await skip_until(env, accord, wf, late, lambda s: True)
    ended = await drive(accord, wf, script(d, Channel.api, through=Stage.active), inbox=inbox, timeout=240,
                        until=Stage.active)
    state = ended.final
    if state.stage.is_final:  # an approval that timed out under on_timeout: fail, say
        FIGURES.final += 1
        return
    if d.renewal is not None:
        state = await skip_until(env, accord, wf, decision_at(state, d),
                                 lambda s: any(a.startswith("renewal-") for a in s.approvals) or s.stage.is_final)
        if state.stage.is_final:
            FIGURES.final += 1
        else:
            FIGURES.renewal += 1
        return
    # No renewal: the first review through (when it is planned, moved off holidays), then ops close it.
    enabled = [kind for kind in REVIEW_KINDS if getattr(d.reviews, kind) is not None]
    if enabled:
        state = await state_where(accord, wf, lambda s: {r.kind.value for r in s.reviews.values()} >= set(enabled))
        first = min(state.reviews.values(), key=lambda r: r.inputs_due_at)
        await skip_until(env, accord, wf, first.inputs_due_at + timedelta(hours=1),
                         lambda s: any(r.closed_at for r in s.reviews.values()))
    await accord.close(wf, CloseRequest(actor="ops", reason="The pilot ended.", channel=Channel.api))
    await state_where(accord, wf, lambda s: s.stage.is_final and s.archive_hash is not None, timeout=60)
    FIGURES.final += 1


@pytest.mark.parametrize("spec", EXTREMES.values(), ids=EXTREMES.keys())
def test_the_extremes_are_definitions_a_deployment_accepts(spec: Spec) -> None:
    """The explicit examples above must pass the checks, or the property would skip them."""
    assert checks.problems(build(spec, 0), allow_short=False) == []


async def test_a_definition_the_old_rules_accepted_wedges_the_workflow_and_the_property_sees_it(ts_env, settings):
    """Why the rule matters, and proof that the property's check can fail: a go/no-go deadline
    of 9,000 years passed the old rules (as a partnership started before the limits may hold)
    and fails every workflow task once the approval opens (its deadline is past year 9999)."""
    spec = Spec(checklist=0, formal=False, approval_deadline="5y")
    d = build(spec, 0).model_copy(update={"id": "wedged"})
    d.screening.go_no_go.deadline = d_("9000y")
    assert checks.problems(d, rules=0) == [] and checks.problems(d) != []
    async with running_worker(ts_env.client, settings):
        # Started as a client before the limits would have started it (Accord.start now refuses it).
        handle = await ts_env.client.start_workflow(PartnershipWorkflow.run, PartnershipInput(definition=d),
                                                    id="partnership-wedged", task_queue=settings.task_queue)

        async def failed() -> int:
            count, _, _ = await task_failures(ts_env.client, handle.id)
            assert count > 0
            return count

        assert await eventually(failed) >= 1
        await handle.terminate(reason="shown")
