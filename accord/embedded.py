"""`accord up`: the whole stack on one machine, in the foreground.

A Temporal dev server (with its Web UI) persisting to a SQLite file in the data folder,
Accord's search attributes, the worker, the web app, and one sample partnership. Ctrl-C
stops everything; running it again picks up the same state (same database, same signing
key, same outbox).

Killed hard (SIGKILL, an OOM kill, a closed terminal), `accord up` cannot stop its server,
which would keep the ports and make the next `accord up` refuse to start. Two defences:

- on Linux the server is told to die with its parent (``PR_SET_PDEATHSIG``: the kernel sends
  it SIGTERM when `accord up` dies, however it dies);
- ``temporal.pid`` in the data folder names the server and the `accord up` that started it.
  The next `accord up` stops a server left over from an earlier one (one whose parent is gone,
  still shutting down or left by a platform without the first defence), after checking its
  command line is this data folder's dev server: an unrelated process on the port, or a server
  another running `accord up` owns, is never touched; the port check then refuses as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from temporalio.client import Client

from accord import search_attributes as sa
from accord import signing_keys
from accord.client import Accord, connect
from accord.config import Settings
from accord.web.auth.local import new_link
from definitions.schema import PartnershipDefinition


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


PID_FILE = "temporal.pid"
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def database(settings: Settings) -> Path:
    # Absolute: how a later `accord up`, from any folder, recognises this data folder's server.
    return (settings.data_dir / "temporal.db").resolve()


def dev_server_command(settings: Settings, port: int, ui_port: int) -> list[str]:
    return [
        settings.temporal_cli(),
        "server",
        "start-dev",
        "--db-filename",
        str(database(settings)),
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--namespace",
        settings.temporal_namespace,
        "--log-level",
        "warn",
        *sa.dev_server_flags(),
    ]


async def _wait_for_server(settings: Settings, process: subprocess.Popen, log: Path) -> Client:
    for _ in range(150):
        if process.poll() is not None:
            raise RuntimeError(f"the Temporal dev server exited ({process.returncode}); see {log}")
        try:
            return await connect(settings)
        except RuntimeError:
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the Temporal dev server did not come up in 30 s; see {log}")


async def run_embedded(
    settings: Settings, sample: PartnershipDefinition, *, port: int, ui_port: int, console: Console
) -> None:
    from accord.web.server import serve
    from worker import build_worker

    settings = settings.model_copy(
        update={"temporal_address": f"127.0.0.1:{port}", "temporal_ui_url": f"http://localhost:{ui_port}"}
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Generates the data folder's key on the first run; refuses a short or published one.
    signing_keys.check_for_start(settings)
    pid_file = settings.data_dir / PID_FILE
    stop_leftover_server(pid_file, database(settings), console)
    for busy in (port, ui_port, settings.web_port):
        if _port_open(busy):
            raise SystemExit(f"port {busy} is already in use: is another `accord up` running?")

    log = settings.data_dir / "temporal.log"
    console.print(f"starting Temporal dev server (state in {settings.data_dir / 'temporal.db'}) ...")
    with log.open("ab") as log_file:
        process = subprocess.Popen(  # noqa: ASYNC220 - before anything else runs on this loop
            dev_server_command(settings, port, ui_port),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            # Own process group: Ctrl-C reaches us once, and we stop the server in order.
            start_new_session=True,
            preexec_fn=_die_with_parent(),  # noqa: PLW1509 - no threads yet: nothing to deadlock on
        )
    pid_file.write_text(json.dumps({"server": process.pid, "parent": os.getpid()}))
    try:
        client = await _wait_for_server(settings, process, log)
        await sa.ensure_registered(client, settings.temporal_namespace)
        accord = Accord(client, settings)
        async with build_worker(client, settings):
            web = asyncio.create_task(serve(settings, accord))
            workflow_id = await accord.start(sample, reuse_running=True)
            outbox = settings.web_base_url.rstrip("/") + "/outbox"
            link = await new_link(settings)  # the pages need sign-in; no identity provider here
            console.print()
            console.print(f"[bold green]Accord is up.[/bold green] Sample partnership: [bold]{sample.name}[/bold]")
            console.print(f"  Temporal UI (this workflow): {settings.workflow_ui_url(workflow_id)}")
            console.print(f"  Temporal UI (all):           {settings.namespace_ui_url}/workflows")
            console.print(f"  Accord web app:              {settings.web_base_url}")
            console.print(f"  Sign in (once, within 10 minutes, in a browser on this machine):\n    {link}",
                          markup=False, highlight=False)
            console.print("    (another one: accord signin-link)", markup=False, highlight=False)
            console.print(f"  Emails (outbox page):        {outbox}")
            console.print(f"  Emails (files):              {settings.outbox_dir.resolve()}")
            console.print("  Press Ctrl-C to stop.")
            await _until_interrupted(web)
    finally:
        _stop(process)
        pid_file.unlink(missing_ok=True)


async def _until_interrupted(web: asyncio.Task) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    waiter = asyncio.create_task(stop.wait())
    await asyncio.wait({waiter, web}, return_when=asyncio.FIRST_COMPLETED)
    for task in (waiter, web):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---------------------------------------------------------------------- a server left behind


def _die_with_parent() -> Callable[[], None] | None:
    """For Popen's preexec_fn: the child gets SIGTERM (a clean shutdown) when we die, even by
    SIGKILL. Linux only; elsewhere the pid file is the only defence."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # loaded here: the child must not load libraries
    parent = os.getpid()

    def in_child() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # we died between fork and prctl: nobody would tell it
            os._exit(1)

    return in_child


def stop_leftover_server(pid_file: Path, db: Path, console: Console, timeout: float = 20) -> None:
    """Stop the dev server an earlier `accord up` of this data folder left running, if any."""
    try:
        recorded = json.loads(pid_file.read_text())
        pid, parent = int(recorded["server"]), int(recorded["parent"])
    except FileNotFoundError:
        return
    except (ValueError, KeyError, TypeError):
        pid_file.unlink(missing_ok=True)  # not something we wrote: nothing to act on
        return
    leftover = _Process(pid)
    try:
        if not leftover.alive() or not _is_dev_server_of(pid, db):
            pid_file.unlink(missing_ok=True)  # gone, or the pid now names something else
            return
        if _parent_of(pid) == parent:
            return  # its `accord up` is alive: not ours to stop (the port check says so)
        console.print(f"stopping the Temporal dev server an earlier `accord up` left running (pid {pid}) ...")
        leftover.send(signal.SIGTERM)
        if not leftover.wait(timeout):
            leftover.send(signal.SIGKILL)
            leftover.wait(5)
    finally:
        leftover.close()
    pid_file.unlink(missing_ok=True)


def _is_dev_server_of(pid: int, db: Path) -> bool:
    """Its command line is `temporal server start-dev ... --db-filename <this data folder's db>`."""
    try:
        args = [os.fsdecode(a) for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")]
    except OSError:
        return False  # no /proc (not Linux), or not ours to read: never stop what we cannot identify
    try:
        named = args[args.index("--db-filename") + 1]
    except (ValueError, IndexError):
        return False
    return "start-dev" in args and named == str(db)


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])  # after "(command name)": the state, then the ppid


class _Process:
    """Another process, by pidfd where the kernel has them (Linux 5.3+): signals then reach
    that very process, never a later one that reuses its pid, and its exit can be awaited."""

    def __init__(self, pid: int):
        self.pid = pid
        try:
            self.fd: int | None = os.pidfd_open(pid)
        except OSError:  # ProcessLookupError (gone), or no pidfds here
            self.fd = None

    def alive(self) -> bool:
        if self.fd is not None:
            return not select.select([self.fd], [], [], 0)[0]  # readable once it has exited
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def send(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            if self.fd is not None:
                signal.pidfd_send_signal(self.fd, sig)
            else:
                os.kill(self.pid, sig)

    def wait(self, timeout: float) -> bool:
        """True once it has exited, False if it still runs after ``timeout`` seconds."""
        if self.fd is not None:
            return bool(select.select([self.fd], [], [], timeout)[0])
        deadline = time.monotonic() + timeout
        while self.alive():  # no pidfd: nothing to wait on but the process table
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return True

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
