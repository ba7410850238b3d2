"""Shared by the fault tests: a batch of partnerships, a worker process to kill, and the
comparison of a faulty run with a clean one."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import threading
from collections import Counter, deque
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import Client

import worker as accord_worker
from accord.client import Accord
from accord.config import Settings
from accord.mail.sendgrid_backend import SendGridMailer
from accord.models import EmailEvent
from accord.ops import doctor, stuck
from accord.storage import Storage, open_storage
from tests.support.fake_sendgrid import FakeSendGrid
from tests.support.fault_worker import build
from tests.support.helpers import unique
from tests.support.lifecycle import (
    Drive,
    Inbox,
    Step,
    batch_definitions,
    decisions_of,
    drive_all,
    normalize,
    purpose_of,
    script,
)
from tests.support.paths import ROOT

DATA = ROOT / "tests" / "data"
API_KEY = "SG.fault-tests.not-real"


def sendgrid_settings(settings: Settings, sg: FakeSendGrid, **changes: Any) -> Settings:
    return settings.model_copy(update={
        "mail_backend": "sendgrid", "sendgrid_api_key": SecretStr(API_KEY), "sendgrid_host": sg.url, "sendgrid_timeout": 0.5,
        "mail_from": "Accord <accord@accord.example>", **changes,
    })


def worker_env(settings: Settings, address: str) -> dict[str, str]:
    """The environment for ``python -m tests.support.fault_worker`` with these settings."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "ACCORD_TEMPORAL_ADDRESS": address,
        "ACCORD_TEMPORAL_NAMESPACE": settings.temporal_namespace,
        "ACCORD_TASK_QUEUE": settings.task_queue,
        "ACCORD_DATA_DIR": str(settings.data_dir),
        "ACCORD_SIGNING_KEYS": ",".join(settings.keys),
        "ACCORD_WEB_BASE_URL": settings.web_base_url,
        "ACCORD_MAIL_BACKEND": settings.mail_backend,
        "ACCORD_MAIL_FROM": settings.mail_from,
        "ACCORD_SENDGRID_HOST": settings.sendgrid_host,
        "ACCORD_SENDGRID_TIMEOUT": str(settings.sendgrid_timeout),
    }
    if settings.sendgrid_api_key:
        env["ACCORD_SENDGRID_API_KEY"] = settings.sendgrid_api_key.get_secret_value()
    if settings.database_url is not None:  # Accord's state in PostgreSQL, shared with other hosts
        env["ACCORD_DATABASE_URL"] = settings.database_url.get_secret_value()
    return env


class WorkerProcess:
    """``python -m tests.support.fault_worker`` (or another worker module) in its own process: started,
    SIGKILLed, started again. Its output goes to ``log`` (each line behind its pid). ``prefix``
    runs it through another command (``ip netns exec NS``: on a host of its own).

    A restart is a whole Python start, whose imports grow with the machine's load: about 3 s on
    an idle 2-core machine, 15 to 25 s beside a benchmark, during which nothing of the killed
    worker's task queue moves. With ``standby`` (the fault worker only), :meth:`prepare` starts
    the processes ahead of time: each imports Accord, connects and builds its worker, then waits
    to be told to poll, so a restart takes a fraction of a second whatever the load."""

    def __init__(self, env: dict[str, str], log: Path, module: str = "tests.support.fault_worker", *, standby: bool = False,
                 prefix: Sequence[str] = ()):
        self.env = {**env, "ACCORD_TEST_STANDBY": "1"} if standby else env
        self.module = module
        self.prefix = list(prefix)
        self.log = log
        self.standby = standby
        self.process: _Child | None = None
        self._ready: deque[_Child] = deque()
        self.starts = 0
        self.start_seconds: list[float] = []  # from start() to a worker that polls, each time

    async def prepare(self, n: int, timeout: float = 180) -> None:
        """Start ``n`` processes that stand by, and wait until each does (all import at once)."""
        assert self.standby, "only a standby worker process can wait to be told to poll"
        children = [await self._spawn() for _ in range(n)]
        self._ready.extend(children)
        await asyncio.gather(*(child.wait_for("worker standing by", timeout) for child in children))

    async def start(self, timeout: float = 60) -> None:
        """A polling worker: a prepared one (told to go), or a new one."""
        loop = asyncio.get_running_loop()
        began = loop.time()
        child = self._ready.popleft() if self._ready else await self._spawn()
        if self.standby:
            await child.wait_for("worker standing by", timeout)
            await child.go()
        await child.wait_for("worker ready", timeout)
        self.process = child
        self.starts += 1
        self.start_seconds.append(loop.time() - began)

    def kill_now(self) -> None:
        """SIGKILL the polling worker: no shutdown, no goodbye to the server; whatever was in
        flight is lost. Safe from any thread (the crash test kills from the thread that sees a
        request arrive); :meth:`reaped` then confirms it."""
        assert self.process is not None
        try:
            os.kill(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:  # it had died on its own: reaped() says so
            pass

    async def reaped(self) -> None:
        """Wait until the killed process is gone; fail if it had died on its own first."""
        assert self.process is not None
        code = await self.process.proc.wait()
        assert code == -signal.SIGKILL, f"the worker died on its own (exit {code}):\n{self.process.tail()}"

    async def kill(self) -> None:
        self.kill_now()
        await self.reaped()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def stop(self) -> None:
        for child in (self.process, *self._ready):
            if child is not None:
                await child.close()
        self._ready.clear()

    async def _spawn(self) -> _Child:
        proc = await asyncio.create_subprocess_exec(
            *self.prefix, sys.executable, "-m", self.module, cwd=ROOT, env=self.env,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        return _Child(proc, self.log)


class _Child:
    """One worker process, its output read as it comes (copied to the log) and waited on."""

    def __init__(self, proc: asyncio.subprocess.Process, log: Path):
        self.proc = proc
        self.pid = proc.pid
        self.lines: deque[str] = deque(maxlen=200)  # the tail, for error messages
        self.markers: list[str] = []  # "worker ..." lines (standing by, ready), kept whatever follows
        self.ended = False
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read(log))

    async def _read(self, log: Path) -> None:
        assert self.proc.stdout is not None
        with log.open("a") as out:
            async for raw in self.proc.stdout:
                line = raw.decode(errors="replace").rstrip("\n")
                out.write(f"[{self.pid}] {line}\n")
                out.flush()
                async with self._changed:
                    self.lines.append(line)
                    if line.startswith("worker "):
                        self.markers.append(line)
                    self._changed.notify_all()
        async with self._changed:
            self.ended = True
            self._changed.notify_all()

    async def wait_for(self, marker: str, timeout: float) -> None:
        def seen() -> bool:
            return any(line.startswith(marker) for line in self.markers)

        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: seen() or self.ended)
        except TimeoutError:
            await self.close()
            raise RuntimeError(f"no '{marker}' from the worker process in {timeout:g} s:\n{self.tail()}") from None
        if not seen():
            raise RuntimeError(f"the worker process exited before '{marker}':\n{self.tail()}")

    async def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"go\n")
        await self.proc.stdin.drain()

    def tail(self) -> str:
        return "\n".join(self.lines)

    async def close(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()
        await self._reader


async def start_batch(accord: Accord, n: int, unique, data_dir) -> list[tuple[str, list[Step]]]:
    out = []
    for definition in batch_definitions(n, unique, data_dir):
        out.append((await accord.start(definition), script(definition)))
    return out


async def idle(accord: Accord, workflow_id: str) -> bool:
    raw = (await accord.handle(workflow_id).describe()).raw_description
    return not raw.pending_activities and not raw.HasField("pending_workflow_task") and not raw.pending_children


async def busy(accord: Accord, workflow_id: str) -> str:
    """What a workflow is busy with (for messages): its pending workflow task and activities."""
    raw = (await accord.handle(workflow_id).describe()).raw_description
    parts = [f"workflow task attempt {raw.pending_workflow_task.attempt}"] if raw.HasField("pending_workflow_task") else []
    parts += [f"activity {a.activity_type.name} attempt {a.attempt}"
              + (f" (last failure: {a.last_failure.message[:160]})" if a.HasField("last_failure") else "")
              for a in raw.pending_activities]
    parts += [f"child {c.workflow_id}" for c in raw.pending_children]
    return f"{workflow_id}: " + (", ".join(parts) or "idle now")


def stopped_by_upstream_replay_bug(history) -> bool:
    """The live workers already failed this history's tasks with the SDK's replay bug
    (temporalio/sdk-python#1591, README "Known issues"): a run that the crash test's recovery
    reset, and that replay must leave out."""
    return any(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
               and stuck.SDK_1591 in e.workflow_task_failed_event_attributes.failure.message
               for e in history.events)

async def quiescent(accord: Accord, workflow_ids: list[str], timeout: float = 60) -> None:
    """Wait until no workflow has an activity or a workflow task pending (every email settled)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    pending = list(workflow_ids)
    while pending:
        pending = [wf for wf in pending if not await idle(accord, wf)]
        if pending and loop.time() > deadline:
            raise TimeoutError(f"still busy after {timeout:g} s: " + "; ".join([await busy(accord, wf) for wf in pending[:5]]))
        if pending:
            await asyncio.sleep(0.1)


async def failed_tasks(accord: Accord, workflow_id: str) -> list[str]:
    """The failed workflow tasks of the workflow's current run (a reset's own record, a task
    "failed" with cause ResetWorkflow, is not a failure)."""
    history = await accord.handle(workflow_id).fetch_history()
    return [e.workflow_task_failed_event_attributes.failure.message for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
            and e.workflow_task_failed_event_attributes.cause != WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW]


@dataclass
class Comparison:
    twice: list[tuple[str, int]] = field(default_factory=list)  # send keys accepted more than once
    attempting: list[str] = field(default_factory=list)  # sends whose outcome the storage never learnt
    sent: int = 0
    retried: int = 0
    decisions: int = 0  # decisions the clean run recorded
    lost: int = 0  # of those, missing from the faulty run (compare_runs fails on any)
    # State queries that failed before one answered (printed by the tests; the workflows' own
    # tasks are checked separately, and every history is replayed by test_zz_replay).
    query_errors: list[str] = field(default_factory=list)


async def state_after_retries(accord: Accord, workflow_id: str, errors: list[str], attempts: int = 5):
    for attempt in range(attempts):
        try:
            return await accord.state(workflow_id)
        except Exception as exc:
            errors.append(f"{workflow_id}: {type(exc).__name__}: {exc}"[:300])
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.5)


async def compare_runs(accord: Accord, baseline: list[Drive], faulty: list[Drive], sg: FakeSendGrid,
                       stores: list[Storage], seed: int) -> Comparison:
    """The faulty run against the clean one, partnership by partnership (same definitions, same order):
    same end state, same decisions, same emails; and each email delivered at most once."""
    report = Comparison()
    accepted = sg.accepted_keys()
    sends = [e for store in stores for e in await store.list_sends()]
    failed = Counter(e.send_key for e in sends if e.status == "failed")
    report.attempting = [e.send_key for e in sends if e.status == "attempting"]
    report.twice = sorted((k, n) for k, n in accepted.items() if n > 1)
    report.sent = sum(accepted.values())

    def emails(wf: str) -> tuple[list[str], list[str]]:
        prefix = wf + "/"
        return (sorted(purpose_of(k) for k in accepted if k and k.startswith(prefix)),
                sorted(purpose_of(k) for k in failed if k.startswith(prefix)))

    for clean, dirty in zip(baseline, faulty, strict=True):
        report.retried += len(dirty.retried)
        want = await state_after_retries(accord, clean.workflow_id, report.query_errors)
        got = await state_after_retries(accord, dirty.workflow_id, report.query_errors)
        report.decisions += len(decisions_of(want))
        report.lost += sum((Counter(decisions_of(want)) - Counter(decisions_of(got))).values())
        assert decisions_of(got) == decisions_of(want), (
            f"seed {seed}: {dirty.workflow_id}: decisions differ from {clean.workflow_id}'s: "
            f"{decisions_of(got)} != {decisions_of(want)}")
        a, b = normalize(got), normalize(want)
        assert a == b, f"seed {seed}: {dirty.workflow_id} ended elsewhere than {clean.workflow_id}: " + "; ".join(
            f"{k}: {a.get(k)} != {b.get(k)}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k))
        mine, theirs = emails(dirty.workflow_id), emails(clean.workflow_id)
        assert mine == theirs, (f"seed {seed}: {dirty.workflow_id}: other emails than {clean.workflow_id}: "
                                f"delivered {_delta(mine[0], theirs[0])}, refused {_delta(mine[1], theirs[1])}")
    return report


def _delta(got: list[str], want: list[str]) -> str:
    extra, missing = Counter(got) - Counter(want), Counter(want) - Counter(got)
    return f"extra {sorted(extra.elements())}, missing {sorted(missing.elements())}"


# ---------------------------------------------------------------------- the crash run
# Shared by tests/faults/test_faults_crash.py (a few fixed seeds, in CI) and bench/crash.py (many).

BATCH = 4  # partnerships per side: one of each shape in tests/lifecycle.batch_definitions
KILLS = 4
# The killed batch makes 23 mail/send requests: the opening burst (screening tasks, statements
# and go/no-go requests, about the first 10), then the requests that follow people's decisions
# (the screening partnership's go/no-go, every MOU signature). Kill points are drawn among the
# first 19, so the last kill still has work after it.
KILL_AFTER = range(1, 20)
OPENING_BURST = 10


@dataclass(frozen=True)
class Kill:
    """One SIGKILL of the worker process, placed by the killed batch's mail/send requests."""

    send: int  # the batch's n-th mail/send request
    pause: float | None  # None: as it arrives (SendGrid holds the email, the worker has not heard back)
    down: float  # seconds with no worker before the next one polls

    @property
    def point(self) -> str:
        return (f"as mail/send #{self.send} arrives" if self.pause is None
                else f"{self.pause:.2f} s after mail/send #{self.send}")

    @property
    def kind(self) -> tuple[str, str]:
        """(when, where): as a send arrives or shortly after; in the opening burst or later."""
        return ("as a send arrives" if self.pause is None else "shortly after a send",
                "opening burst" if self.send <= OPENING_BURST else "after decisions")


def kill_plan(seed: int) -> list[Kill]:
    """The kills a seed makes. Drawn in the order the crash test has always drawn them, so a
    seed names the same kill points as in earlier reports."""
    rng = random.Random(seed)
    plan = []
    for send in sorted(rng.sample(KILL_AFTER, KILLS)):
        pause = rng.uniform(0.01, 0.4) if rng.random() < 0.5 else None
        plan.append(Kill(send, pause, rng.uniform(0, 0.5)))
    return plan


class Killer:
    """Kills the worker process at each point of a plan and lets the next one poll after the
    plan's down time. The wait for a request is a wait on the SendGrid stand-in's condition in
    a thread, which kills at once for "as it arrives": the kill lands while the stand-in holds
    its answer, however busy the test's event loop is."""

    def __init__(self, worker: WorkerProcess, sg: FakeSendGrid, workflow_ids: set[str], plan: list[Kill],
                 clock: Callable[[], float], log: Callable[[str], object] = print):
        self.worker, self.sg, self.ids, self.plan, self.clock, self.log = worker, sg, workflow_ids, plan, clock, log
        self.done: list[str] = []
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()
        with self.sg.request_arrived:
            self.sg.request_arrived.notify_all()

    def _sends(self) -> int:  # called with the stand-in's lock held
        return sum(1 for r in self.sg.requests
                   if r.path == "/v3/mail/send" and (r.send_key or "").split("/", 1)[0] in self.ids)

    def _arrival(self, kill: Kill) -> bool:
        """(In a thread.) Wait for the kill's request, and kill at once if that is the point.
        False if stopped first (the batch finished)."""
        with self.sg.request_arrived:
            self.sg.request_arrived.wait_for(lambda: self._stop.is_set() or self._sends() >= kill.send)
        if self._stop.is_set():
            return False
        if kill.pause is None:
            self.worker.kill_now()
        return True

    async def run(self) -> None:
        for n, kill in enumerate(self.plan, 1):
            if not await asyncio.to_thread(self._arrival, kill):
                return
            if kill.pause is not None:
                await asyncio.sleep(kill.pause)
                if self._stop.is_set():
                    return
                self.worker.kill_now()
            await self.worker.reaped()
            self.done.append(f"kill {n}: {kill.point}, at {self.clock():.1f} s")
            self.log(self.done[-1])  # as it happens: a run that fails later still shows its kills
            await asyncio.sleep(kill.down)
            await self.worker.start()


class Unrecovered(AssertionError):
    """A partnership is stuck in a way the recovery will not reset."""


class Recovery:
    """What ops run beside the workers, `accord recover`: every ``interval`` seconds, one
    :func:`accord.ops.doctor.recover_once` over the partnerships of each task queue. That is the
    code the command runs (find the stuck runs, check every safety condition, reset those the
    SDK's replay bug stopped, with the settings' attempts and rate limit), not a shortcut.

    Resets are counted. Anything stuck that it leaves alone fails the run at once, with its
    reasons; except workflow tasks that time out, which are no verdict yet while a worker is
    being killed (a killed worker's tasks time out, and the next one takes them over): the
    final check (no stuck partnership) catches any that stay."""

    def __init__(self, client: Client, settings: Settings, task_queues: list[str], interval: float = 1.0):
        self.client, self.settings, self.task_queues, self.interval = client, settings, task_queues, interval
        self.limit = doctor.RateLimit(settings.recovery_max_resets_per_hour)
        self.done: set[tuple[str, str]] = set()
        self.resets: list[str] = []
        self.when = ""  # what the run is doing, for the record of each reset

    async def look(self) -> None:
        for task_queue in self.task_queues:
            found = await doctor.recover_once(
                self.client, accord_worker.WORKFLOWS, self.limit, query=stuck.partnerships_on(task_queue),
                stuck_activity_after=timedelta(seconds=self.settings.stuck_activity_after),
                task_attempts=self.settings.stuck_task_attempts, done=self.done)
            self.resets += [f"{p.workflow_id} on {task_queue}: {p.kind.value}, reset to event {p.reset_event_id} "
                            f"(run {p.run_id} -> {run}){self.when}" for p, run in found.reset]
            refused = [v for v in found.reported if v.problem.kind != stuck.Kind.task_timeout]
            if refused:
                raise Unrecovered("stuck, and not reset: " + " | ".join(
                    f"{v.problem.workflow_id}: {v.problem.summary}: {'; '.join(v.reasons)}" for v in refused))

    async def run(self) -> None:
        while True:
            await self.look()
            await asyncio.sleep(self.interval)


@dataclass
class CrashRun:
    """What one seed did, and what it left."""

    seed: int
    plan: list[Kill]
    kills: list[str] = field(default_factory=list)
    restarts: list[float] = field(default_factory=list)  # seconds from "start again" to a polling worker
    recoveries: list[str] = field(default_factory=list)
    driven: float = 0.0
    comparison: Comparison = field(default_factory=Comparison)
    failed: dict[str, list[str]] = field(default_factory=dict)  # failed workflow tasks (current runs)
    stuck: list[str] = field(default_factory=list)  # stuck partnerships at the end
    resent: int = 0  # sends tried again after a kill
    checked: int = 0  # Email Activity checks before a send was tried again
    retried: list[str] = field(default_factory=list)  # actions sent again, with the refusal seen

    def summary(self) -> str:
        c = self.comparison
        return (f"seed {self.seed}: {len(self.kills)} kills, {len(self.recoveries)} recoveries needed, "
                f"{c.sent} emails delivered ({len(c.twice)} twice, {len(c.attempting)} with unknown outcome), "
                f"{c.decisions} decisions ({c.lost} lost), {len(self.stuck)} stuck, {len(self.retried)} actions "
                f"retried, {self.resent} sends retried after a kill ({self.checked} checked with SendGrid first); "
                f"driven in {self.driven:.1f} s; worker restarts took " + ", ".join(f"{r:.1f}" for r in self.restarts)
                + " s")

    def report(self) -> str:
        lines = [self.summary(), *(f"  recovered {r}" for r in self.recoveries),  # kills: logged as they happen
                 *(f"  retried {r}" for r in self.retried),
                 *(f"  state query failed before it answered: {e}" for e in self.comparison.query_errors)]
        return "\n".join(lines)


def _with_run(exc: BaseException, run: CrashRun) -> BaseException:
    """The failure, with what the run had done by then (kills, recoveries) in its notes."""
    exc.add_note(f"seed {run.seed}: " + "; ".join(run.kills or ["no kill yet"]) + "".join(
        f"; recovered {r}" for r in run.recoveries))
    return exc


async def delivery_notices(accord: Accord, store: Storage, workflow_ids: list[str]) -> None:
    """Tell each partnership that one of its emails was delivered (``Accord.report_email_event``):
    a signal a partnership takes at any time, which only records it. Each then runs a workflow
    task, as it would for its next reminder, a person's action or a bounce."""
    sent = [e.send_key for e in await store.list_sends() if e.status == "sent"]
    for wf in workflow_ids:
        key = next(k for k in sent if k.startswith(wf + "/"))
        await accord.report_email_event(wf, EmailEvent(send_key=key, event="delivered"))


async def crash_run(client: Client, settings: Settings, sg: FakeSendGrid, work: Path, seed: int,
                    accord_for: Callable[[Settings], Accord], *, timeout: float = 150,
                    log: Callable[[str], object] = print) -> CrashRun:
    """Two batches of partnerships driven at once through the real client: one on an in-process
    worker left alone, one on a worker process SIGKILLed at the seed's points and started again,
    with the recovery process (:class:`Recovery`) beside them.

    Then every worker starts again with nothing cached (the killed side's once more, the clean
    side's too) and each partnership is told of a delivered email (:func:`delivery_notices`), so
    it replays its whole history on a fresh worker, as it will after any restart in production. A history that does not replay is found here: the SDK's replay bug can write one
    without failing the live worker, which never replays what it has cached; stuck now, it is
    reset by the recovery like any other. Last, the batches are compared partnership by
    partnership (:func:`compare_runs` fails on any difference). ``accord_for`` makes the client
    for a side's settings. What is wrong beyond the comparison (stuck, failed tasks, emails twice
    or with unknown outcome) is left in the result for the caller to judge."""
    run = CrashRun(seed, kill_plan(seed))
    work.mkdir(parents=True, exist_ok=True)
    sg.latency = 0.03  # SendGrid has taken the email 30 ms before the worker hears so: a window to die in
    clean_settings = sendgrid_settings(settings, sg)
    dirty_settings = sendgrid_settings(settings, sg, task_queue=settings.task_queue + "-killed", data_dir=work / "killed")
    clean, dirty = accord_for(clean_settings), accord_for(dirty_settings)
    worker = WorkerProcess(worker_env(dirty_settings, client.service_client.config.target_host), work / "worker.log",
                           standby=True)
    recovery = Recovery(client, dirty_settings, [clean_settings.task_queue, dirty_settings.task_queue])
    run.recoveries = recovery.resets  # the same lists, kept current: a failure's note shows them
    mailer = SendGridMailer(API_KEY, host=sg.url, timeout=0.5, unknown_outcome_delay=0.3)
    loop = asyncio.get_running_loop()
    killer: Killer | None = None
    # Each side's own state (SQLite and files in its data folder), read as the workers write it.
    stores = AsyncExitStack()
    clean_store = await stores.enter_async_context(await open_storage(clean_settings))
    dirty_store = await stores.enter_async_context(await open_storage(dirty_settings))
    try:
        await worker.prepare(len(run.plan) + 2)  # the first worker, one per kill, one for the cold restart
        await worker.start()
        # One failure (a kill that went wrong, a partnership stuck for good, a drive that cannot
        # finish) ends the whole run at once, with its own message.
        async with asyncio.TaskGroup() as group:
            recovering = group.create_task(recovery.run())
            async with build(client, clean_settings, mailer=mailer):
                clean_batch = await start_batch(clean, BATCH, unique, DATA)
                dirty_batch = await start_batch(dirty, BATCH, unique, DATA)
                ids = [wf for wf, _ in clean_batch + dirty_batch]
                t0 = loop.time()
                killer = Killer(worker, sg, {wf for wf, _ in dirty_batch}, run.plan, lambda: loop.time() - t0, log)
                run.kills = killer.done
                recovery.when = " (while the worker was being killed)"
                kills = group.create_task(killer.run())
                clean_drives, dirty_drives = await asyncio.gather(
                    drive_all(clean, clean_batch, timeout=timeout, inbox=Inbox(clean_store)),
                    drive_all(dirty, dirty_batch, timeout=timeout, inbox=Inbox(dirty_store)))
                killer.stop()
                await kills
                run.driven = loop.time() - t0
                await quiescent(clean, ids, timeout=90)
            recovery.when = " (after every worker started again)"
            await worker.kill()
            await worker.start()
            async with build(client, clean_settings, mailer=mailer):
                for accord, store, batch in ((clean, clean_store, clean_batch), (dirty, dirty_store, dirty_batch)):
                    await delivery_notices(accord, store, [wf for wf, _ in batch])
                await quiescent(clean, ids, timeout=90)
                recovering.cancel()
                run.failed = {wf: await failed_tasks(clean, wf) for wf in ids}
                run.stuck = [p.summary for p in await stuck.find(
                    client, workflow_ids=ids, stuck_activity_after=timedelta(seconds=dirty_settings.stuck_activity_after),
                    task_attempts=dirty_settings.stuck_task_attempts)]
                run.comparison = await compare_runs(clean, clean_drives, dirty_drives, sg, [clean_store, dirty_store], seed)
                run.retried = [f"{d.workflow_id}: {line}" for d in dirty_drives for line in d.retried]
    except BaseExceptionGroup as group:
        raise _with_run(group.exceptions[0] if len(group.exceptions) == 1 else group, run) from None
    except Exception as exc:  # noqa: BLE001 - raised again, with the run's notes
        raise _with_run(exc, run)
    finally:
        if killer is not None:
            killer.stop()
        await worker.stop()
        run.restarts = worker.start_seconds[1:]
        run.resent = sum(e.attempts - 1 for e in await dirty_store.list_sends())
        await stores.aclose()
    run.checked = sum(1 for r in sg.requests if r.path == "/v3/messages")
    return run
