"""Accord on several hosts: two workers and two web instances sharing only PostgreSQL and configuration.

Six hosts (tests/support/hosts.py: a network namespace each, as root; else a loopback address each):
the Temporal dev server, PostgreSQL, two workers (tests/support/fault_worker.py, the crash test's
worker, each with its own empty data folder) and two web instances (`accord web`, each
with its own empty data folder). `accord setup` applies the schema from the test's side.
A batch of partnerships goes through screening (go/no-go) and MOU signature, every decision
taken the way a person takes it: the link in the email (as the fake SendGrid received it) is
opened (GET) on one web instance and the form posted on the other, with the CSRF cookie the
first one set (behind one load balancer, a browser sends it to both). Meanwhile workers are
SIGKILLed while SendGrid holds one of their sends (it has the email; the worker never hears),
and started again. Then: every email went out exactly once (SendGrid's record by send key,
and the shared send ledger agrees), every decision is recorded, every MOU version is read
from both web instances (as an ops person whose session, too, lives in PostgreSQL), and no
host kept any state of its own.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client

from accord import search_attributes as sa
from accord.client import Accord, connect
from accord.config import Settings
from accord.models import Channel, DecisionKind, PartnershipState, Stage
from accord.storage import open_storage
from accord.web import csrf
from accord.web.auth import sessions
from tests.support import hosts, run_record
from tests.support.fake_sendgrid import FakeSendGrid, Request
from tests.support.faults import WorkerProcess, sendgrid_settings, worker_env
from tests.support.helpers import unique
from tests.support.lifecycle import at_or_beyond
from tests.support.paths import DATA, ROOT
from tests.support.postgres import running_postgres
from tests.support.web_helpers import csrf_value

HOSTS = ["temporal", "postgres", "worker-a", "worker-b", "web-a", "web-b"]
WORKERS, WEBS = ("worker-a", "worker-b"), ("web-a", "web-b")
PARTNERSHIPS = 6  # tests/data/mou.yaml: go/no-go by alice, then the MOU signed by alice, amir and bea
DECISIONS = {"go-no-go": ["alice"], "mou": ["alice", "amir", "bea"]}
KILL_AT = (2, 7, 12, 17)
IP_CLAUSE = "Each party keeps its own IP."  # in tests/data/mou.yaml, so in every MOU version  # the n-th email SendGrid accepts: its sender is killed before hearing back
# Links are built from one base URL (the load balancer's); the driver picks the instance.
BASE_URL = "http://accord.test"
_LINK = re.compile(r"https?://[^\s\"'<>]+(/a/[A-Za-z0-9_.\-]+)")
STARTUP = 60.0  # seconds a server may take to come up (a loaded CI machine); nothing waits for it to pass


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@asynccontextmanager
async def _process(argv: list[str], env: dict[str, str], log: Path) -> AsyncIterator[subprocess.Popen]:
    """A server process (its output in ``log``), stopped with SIGTERM afterwards."""
    with log.open("ab") as out:
        process = await asyncio.to_thread(subprocess.Popen, argv, cwd=ROOT, env=env, stdout=out,
                                          stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(process.wait, 20)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait)


async def _until_up(what: str, process: subprocess.Popen, log: Path, probe) -> object:
    """``probe()`` until it answers (the server is up); fail with the log if the process exits."""
    deadline = time.monotonic() + STARTUP
    while True:
        if process.poll() is not None:
            pytest.fail(f"{what} exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            return await probe()
        except (OSError, RuntimeError, httpx.HTTPError):
            if time.monotonic() > deadline:
                pytest.fail(f"{what} did not come up in {STARTUP:g} s:\n{log.read_text()[-3000:]}")
            await asyncio.sleep(0.2)


class Mailroom:
    """What SendGrid accepts, as it accepts it: handed to the people it is addressed to
    (``arrived``), and at the n-th email (``KILL_AT``) its sender killed, on SendGrid's own
    thread while SendGrid holds the answer; ``restart`` starts killed workers again."""

    def __init__(self, workers: dict[str, WorkerProcess], keys: dict[str, str], loop: asyncio.AbstractEventLoop):
        self.workers, self.keys, self.loop = workers, keys, loop
        self.count = 0
        self.kills: list[str] = []
        self.interrupted: list[str] = []  # the send keys whose sender was killed
        self.arrived: asyncio.Queue[Request] = asyncio.Queue()
        self.killed: asyncio.Queue[str] = asyncio.Queue()

    def sender(self, request: Request) -> str:
        return next(name for name, key in self.keys.items() if request.headers.get("Authorization") == f"Bearer {key}")

    def on_accept(self, request: Request) -> None:
        self.count += 1
        if self.count in KILL_AT:
            sender = self.sender(request)
            self.workers[sender].kill_now()  # safe from SendGrid's thread
            self.interrupted.append(request.send_key)
            self.kills.append(f"{sender} killed while SendGrid held email #{self.count} ({request.send_key})")
            self.loop.call_soon_threadsafe(self.killed.put_nowait, sender)
        self.loop.call_soon_threadsafe(self.arrived.put_nowait, request)

    async def restart(self) -> None:
        while True:
            worker = self.workers[await self.killed.get()]
            await worker.reaped()
            await worker.start(timeout=STARTUP)


class Person:
    """Someone acting on an email: the link opened on one web instance, the form posted on the other."""

    def __init__(self, opens: httpx.AsyncClient, posts: httpx.AsyncClient):
        self.opens, self.posts = opens, posts

    async def approve(self, path: str) -> str:
        """Approve what the link asks; the answer's gist ("recorded", or why it was not needed)."""
        for _ in range(10):
            page = await self.opens.get(path)
            # 503 "Accord is not answering": the workflow's worker was just killed; the page
            # says to try again, and the person does.
            if page.status_code != 503:
                break
            await asyncio.sleep(1)
        assert page.status_code == 200, (path, page.status_code, page.text[:1000])
        form = {"csrf": csrf_value(page.text), "decision": DecisionKind.approve.value, "comment": ""}
        document = re.search(r'name="document_hash" value="([0-9a-f]{64})"', page.text)
        if document:
            form["document_hash"] = document.group(1)
        # The browser's CSRF cookie, set by the instance that showed the page, goes to the other.
        cookie = {"Cookie": f"{csrf.COOKIE}={page.cookies[csrf.COOKIE]}"}
        for _ in range(10):
            answer = await self.posts.post(path, data=form, headers=cookie)
            if answer.status_code == 200:
                return "recorded"
            if answer.status_code == 409 and "already decided" in answer.text:
                return "already"  # an earlier post went through after all
            # 503 "No answer yet": the workflow's worker was killed; the page says to try again.
            assert answer.status_code == 503, (path, answer.status_code, answer.text[:1000])
            await asyncio.sleep(1)
        raise AssertionError(f"{path}: no answer after ten tries")


@dataclass
class Deployment:
    net: hosts.Network
    sg: FakeSendGrid
    shared: Settings  # the configuration every host shares
    client: Client
    workers: dict[str, WorkerProcess]
    api_keys: dict[str, str]  # each worker's SendGrid key: SendGrid can say which host sent what
    webs: dict[str, httpx.AsyncClient]
    started: float  # seconds it took to bring it all up


@asynccontextmanager
async def deployed(tmp_path: Path) -> AsyncIterator[Deployment]:
    """Every host up: PostgreSQL, Temporal, `accord setup` (from the operator's machine, the
    test's), two workers and two web instances, each with its own empty data folder."""
    began = time.monotonic()
    with hosts.network(HOSTS) as net, FakeSendGrid(host=net.gateway) as sg, \
            running_postgres(net["postgres"].address, prefix=net["postgres"].prefix, allow=net.subnet) as pg:
        temporal_port, web_port = _free_port(), _free_port()
        # The dev server's own services call each other on 127.0.0.1: it must listen there too.
        # On a namespace of its own that is its own loopback ("0.0.0.0": its interfaces only);
        # without namespaces it is the machine's, and its host is 127.0.0.1.
        temporal_ip, temporal_host = ("0.0.0.0", net["temporal"].address) if net.namespaces \
            else ("127.0.0.1", "127.0.0.1")
        shared = Settings(temporal_address=f"{temporal_host}:{temporal_port}", task_queue="accord-hosts",
                          web_base_url=BASE_URL, database_url=SecretStr(pg.server.create_database()),
                          signing_keys=SecretStr(secrets.token_urlsafe(32)), allow_short_durations=True,
                          data_dir=tmp_path / "operator", codec_keys=None)
        async with AsyncExitStack() as stack:
            log = tmp_path / "temporal.log"
            temporal = await stack.enter_async_context(_process(net["temporal"].command([
                shared.temporal_cli(), "server", "start-dev", "--ip", temporal_ip, "--port", str(temporal_port),
                "--headless", "--namespace", "default", "--log-level", "error", *sa.dev_server_flags()]),
                dict(os.environ), log))
            client = await _until_up("the Temporal dev server", temporal, log, lambda: connect(shared))

            setup = await asyncio.to_thread(subprocess.run, [_accord(), "setup", "--wait", "30"], cwd=ROOT,
                                            env=_env(shared), capture_output=True, text=True, timeout=120)
            assert setup.returncode == 0 and "schema migrated" in setup.stdout, setup.stdout + setup.stderr

            api_keys = {name: f"SG.{name}.{secrets.token_hex(4)}" for name in WORKERS}
            workers = {}
            for name in WORKERS:
                (tmp_path / name).mkdir()
                mine = sendgrid_settings(shared, sg, data_dir=tmp_path / name,
                                         sendgrid_api_key=SecretStr(api_keys[name]), sendgrid_timeout=5)
                env = {**worker_env(mine, shared.temporal_address), "ACCORD_WORKER_IDENTITY": name,
                       "ACCORD_TEST_UNKNOWN_OUTCOME_DELAY": "0.3"}
                workers[name] = WorkerProcess(env, tmp_path / f"{name}.log", prefix=net[name].prefix)
                stack.push_async_callback(workers[name].stop)
            await asyncio.gather(*(w.start(timeout=STARTUP) for w in workers.values()))

            webs = {}
            for name in WEBS:
                (tmp_path / name).mkdir()
                env = _env(shared.model_copy(update={"data_dir": tmp_path / name}),
                           ACCORD_WEB_HOST=net[name].address, ACCORD_WEB_PORT=str(web_port))
                log = tmp_path / f"{name}.log"
                process = await stack.enter_async_context(_process(net[name].command([_accord(), "web"]), env, log))
                webs[name] = await stack.enter_async_context(httpx.AsyncClient(
                    base_url=f"http://{net[name].address}:{web_port}", timeout=60))
                await _until_up(f"web instance {name}", process, log, _ready(webs[name]))
            yield Deployment(net, sg, shared, client, workers, api_keys, webs, time.monotonic() - began)


@pytest.mark.timeout(300)
async def test_two_workers_and_two_web_instances_on_their_own_hosts_share_only_postgresql(tmp_path):
    async with deployed(tmp_path) as d:
        began = time.monotonic()
        mailroom = Mailroom(d.workers, d.api_keys, asyncio.get_running_loop())
        d.sg.on_accept = mailroom.on_accept
        d.sg.latency = 0.3  # SendGrid takes a moment to answer: the window a worker is killed in
        restarts = asyncio.create_task(mailroom.restart())
        try:
            accord = Accord(d.client, d.shared)
            ids = [await accord.start(unique(DATA / "mou.yaml")) for _ in range(PARTNERSHIPS)]
            outcomes = await _decide_through_the_links(mailroom, d.webs, len(ids) * sum(map(len, DECISIONS.values())))
            finals = await asyncio.gather(*(_reached_launch(accord, wf) for wf in ids))
        finally:
            restarts.cancel()
            d.sg.on_accept = None
        driven = time.monotonic() - began
        read, sends = await _every_mou_version_from_every_instance(d, ids, finals)

    # Every email exactly once: SendGrid took each send key once, and the shared ledger agrees.
    accepted = d.sg.accepted_keys()
    duplicates = {key: n for key, n in accepted.items() if n > 1}
    checked = sum(1 for r in d.sg.requests if r.path == "/v3/messages")
    by_host = Counter(mailroom.sender(r) for r in d.sg.sends())
    figures = (f"several hosts ({d.net.isolation}): {PARTNERSHIPS} partnerships, {sum(accepted.values())} emails "
               f"({', '.join(f'{n} sent by {h}' for h, n in sorted(by_host.items()))}), {len(mailroom.kills)} kills, "
               f"duplicates = {len(duplicates)}; {len(mailroom.interrupted)} sends interrupted by a kill, taken over "
               f"by the next attempt, which asked SendGrid first ({checked} checks); "
               f"{sum(o == 'recorded' for o in outcomes)} decisions through the links, "
               f"{read} MOU pages read ({len(d.webs)} web instances); up in {d.started:.0f} s, driven in {driven:.0f} s")
    print("\n".join([*mailroom.kills, figures]))
    run_record.figures("several hosts", figures)
    assert duplicates == {}
    assert len(mailroom.kills) >= 3, f"only {len(mailroom.kills)} kills: the batch sent {sum(accepted.values())} emails"
    assert {e.send_key: e.status for e in sends} == {key: "sent" for key in accepted}
    # Each interrupted send was taken over (a second attempt claimed it) and not sent again.
    attempts = {e.send_key: e.attempts for e in sends}
    assert all(attempts[key] >= 2 and accepted[key] == 1 for key in mailroom.interrupted), attempts
    # Every decision recorded, once, as taken through the web link.
    for wf, state in zip(ids, finals, strict=True):
        assert state.mou.signed_at is not None, wf
        for approval_id, actors in DECISIONS.items():
            decisions = state.approvals[approval_id].decisions
            assert sorted((d.actor, d.decision, d.channel) for d in decisions) == \
                sorted((who, DecisionKind.approve, Channel.email_link) for who in actors), (wf, approval_id)
    # No host kept state of its own: workers and web instances left their data folders empty.
    for name in (*WORKERS, *WEBS):
        assert list((tmp_path / name).iterdir()) == [], name


async def _every_mou_version_from_every_instance(d: Deployment, ids: list[str],
                                                 finals: list[PartnershipState]) -> tuple[int, list]:
    """Each MOU version's page, on each web instance, as an ops person signed in once (the
    session is in PostgreSQL); then the shared send ledger, for the checks."""
    read = 0
    async with await open_storage(d.shared) as store:
        session = secrets.token_urlsafe(32)
        await store.create_session(sessions.digest(session), "hosts-test", "ops", "oidc", lifetime=timedelta(minutes=10))
        for wf, state in zip(ids, finals, strict=True):
            for version in state.mou.versions:
                text = await store.get_document(version.hash)
                assert IP_CLAUSE in text
                for http in d.webs.values():
                    page = await http.get(f"/p/{wf}/mou/{version.version}",
                                          headers={"Cookie": f"{sessions.PLAIN_COOKIE}={session}"})
                    assert page.status_code == 200, (wf, page.status_code, page.text[:500])
                    assert version.hash in page.text and IP_CLAUSE in page.text
                    read += 1
        return read, await store.list_sends()


async def _decide_through_the_links(mailroom: Mailroom, webs: dict[str, httpx.AsyncClient], expected: int) -> list[str]:
    """Act on every action email as it arrives until ``expected`` decisions are taken;
    alternate which instance shows the page and which takes the post."""
    a, b = webs.values()
    people = [Person(a, b), Person(b, a)]
    acting: list[asyncio.Task[str]] = []
    while len(acting) < expected:
        try:
            email = await asyncio.wait_for(mailroom.arrived.get(), 120)
        except TimeoutError:
            raise AssertionError(f"only {len(acting)} of {expected} decision emails arrived") from None
        text = next(c["value"] for c in email.body["content"] if c["type"] == "text/plain")
        link = _LINK.search(text)
        if link:
            acting.append(asyncio.create_task(people[len(acting) % 2].approve(link.group(1))))
    return list(await asyncio.gather(*acting))


async def _reached_launch(accord: Accord, workflow_id: str) -> PartnershipState:
    """The partnership once its MOU is signed (it moves on to launch), asked again while workers restart."""
    reached = at_or_beyond(Stage.launch)
    deadline = time.monotonic() + 120
    while True:
        try:
            state = await asyncio.wait_for(accord.state(workflow_id), 10)
            if reached(state):
                return state
        except (TimeoutError, RuntimeError):
            pass  # its worker was just killed: ask again
        assert time.monotonic() < deadline, f"{workflow_id} did not reach launch"
        await asyncio.sleep(0.2)


def _ready(http: httpx.AsyncClient):
    async def probe() -> None:
        response = await http.get("/readyz")  # serving, and connected to Temporal
        response.raise_for_status()
    return probe


def _accord() -> str:
    return str(Path(sys.executable).parent / "accord")


def _env(settings: Settings, **more: str) -> dict[str, str]:
    """The environment a process of this deployment gets: the shared configuration as ACCORD_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    env.update({
        "ACCORD_TEMPORAL_ADDRESS": settings.temporal_address, "ACCORD_TASK_QUEUE": settings.task_queue,
        "ACCORD_WEB_BASE_URL": settings.web_base_url, "ACCORD_DATA_DIR": str(settings.data_dir),
        "ACCORD_DATABASE_URL": settings.database_url.get_secret_value(),
        "ACCORD_SIGNING_KEYS": settings.signing_keys.get_secret_value(), "ACCORD_ALLOW_SHORT_DURATIONS": "true",
        **more,
    })
    return env
