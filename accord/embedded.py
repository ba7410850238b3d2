"""`accord up`: the whole stack on one machine, in the foreground.

A Temporal dev server (with its Web UI) persisting to a SQLite file in the data folder,
Accord's search attributes, the worker, the web app, and one sample partnership. Ctrl-C
stops everything; running it again picks up the same state (same database, same signing
key, same outbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
from pathlib import Path

from rich.console import Console
from temporalio.client import Client

from accord import search_attributes as sa
from accord.client import Accord, connect
from accord.config import Settings
from accord.web.auth.local import new_link
from definitions.schema import PartnershipDefinition


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def dev_server_command(settings: Settings, port: int, ui_port: int) -> list[str]:
    return [
        settings.temporal_cli(),
        "server",
        "start-dev",
        "--db-filename",
        str(settings.data_dir / "temporal.db"),
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
    for busy in (port, ui_port, settings.web_port):
        if _port_open(busy):
            raise SystemExit(f"port {busy} is already in use: is another `accord up` running?")

    log = settings.data_dir / "temporal.log"
    console.print(f"starting Temporal dev server (state in {settings.data_dir / 'temporal.db'}) ...")
    with log.open("ab") as log_file:
        process = subprocess.Popen(
            dev_server_command(settings, port, ui_port),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            # Own process group: Ctrl-C reaches us once, and we stop the server in order.
            start_new_session=True,
        )
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
