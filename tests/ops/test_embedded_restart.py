"""`accord up` killed hard, then started again, comes up: its Temporal dev server did not
survive it (or is recognised and stopped), and nothing else is ever stopped.

Real `accord up` processes (`python -m accord.cli up`) on free ports, with their own data folder.
"""

from __future__ import annotations

import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from accord.config import Settings
from accord.embedded import PID_FILE, dev_server_command
from accord.ops.telemetry import free_loopback_port
from tests.support.paths import ROOT

SAFETY_TIMEOUT = 120  # only if something hangs; nothing waits for it to pass


class Lines:
    """A process's output, line by line, as it comes."""

    def __init__(self, process: subprocess.Popen):
        self.process = process
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def until(self, text: str) -> None:
        while True:
            line = self._queue.get(timeout=SAFETY_TIMEOUT)
            if line is None:
                raise AssertionError(f"exited ({self.process.wait()}) before {text!r}:\n{''.join(self.seen)}")
            self.seen.append(line)
            if text in line:
                return

    def rest(self) -> str:
        self.process.wait(SAFETY_TIMEOUT)
        while (line := self._queue.get(timeout=SAFETY_TIMEOUT)) is not None:
            self.seen.append(line)
        return "".join(self.seen)


class Stack:
    """One data folder and its ports, and the `accord up` processes run on them."""

    def __init__(self, tmp_path: Path):
        self.data = tmp_path / "data"
        self.port, self.ui_port, self.web_port = (free_loopback_port() for _ in range(3))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
        self.env.update({"ACCORD_DATA_DIR": str(self.data), "ACCORD_WEB_PORT": str(self.web_port),
                         "PYTHONUNBUFFERED": "1"})
        self.started: list[subprocess.Popen] = []
        self.servers: set[int] = set()

    def up(self) -> Lines:
        process = subprocess.Popen(
            [sys.executable, "-m", "accord.cli", "up", "--port", str(self.port), "--ui-port", str(self.ui_port)],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.started.append(process)
        return Lines(process)

    def server_pid(self) -> int:
        pid = json.loads((self.data / PID_FILE).read_text())["server"]
        self.servers.add(pid)
        return pid

    def clean_up(self) -> None:
        """Whatever the test's outcome, leave no process behind (the old code left servers)."""
        for process in self.started:
            if process.poll() is None:
                process.kill()
                process.wait()
        for pid in self.servers:
            if running(pid):
                os.kill(pid, signal.SIGKILL)

    def stop(self, up: Lines) -> None:
        up.process.send_signal(signal.SIGINT)
        assert up.process.wait(SAFETY_TIMEOUT) == 0, up.rest()


def running(pid: int) -> bool:
    """Alive and not a zombie (a dead process nobody has reaped yet holds no port)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


@pytest.fixture
def stack(tmp_path) -> Iterator[Stack]:
    made = Stack(tmp_path)
    try:
        yield made
    finally:
        made.clean_up()


def test_accord_up_killed_with_sigkill_comes_up_again(stack):
    first = stack.up()
    first.until("Accord is up.")
    server = stack.server_pid()
    assert running(server)

    # While it runs, a second `accord up` on the same folder refuses, and stops nothing.
    other = stack.up()
    assert other.process.wait(SAFETY_TIMEOUT) != 0 and "already in use" in other.rest()
    assert first.process.poll() is None and running(server)

    watching = os.pidfd_open(server)  # readable once the server has exited
    first.process.kill()  # SIGKILL: no cleanup of its own
    first.process.wait(SAFETY_TIMEOUT)
    # The server dies with it (PR_SET_PDEATHSIG), without anyone else stopping it.
    assert select.select([watching], [], [], SAFETY_TIMEOUT)[0], "the dev server outlived `accord up`"
    os.close(watching)
    second = stack.up()
    second.until("Accord is up.")  # before the fix: "port ... is already in use"
    assert not running(server)
    assert stack.server_pid() != server
    new_server = stack.server_pid()
    stack.stop(second)
    assert not running(new_server) and not (stack.data / PID_FILE).exists()


def test_a_server_left_over_by_an_earlier_accord_up_is_stopped_and_an_unrelated_process_is_not(stack):
    stack.data.mkdir()
    # A dev server whose `accord up` is gone (as on a system without PR_SET_PDEATHSIG).
    settings = Settings(data_dir=stack.data)
    leftover = subprocess.Popen(dev_server_command(settings, stack.port, stack.ui_port), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
    stack.started.append(leftover)
    Lines(leftover).until("Temporal Server:")  # it serves: the port is taken
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    (stack.data / PID_FILE).write_text(json.dumps({"server": leftover.pid, "parent": int(gone.stdout)}))

    up = stack.up()
    up.until("Accord is up.")
    assert leftover.wait(SAFETY_TIMEOUT) is not None
    assert "stopping the Temporal dev server an earlier `accord up` left running" in "".join(up.seen)
    stack.stop(up)

    # Something else on the port, named by a stale pid file: refused, and left alone.
    squatter = subprocess.Popen([sys.executable, "-u", "-m", "http.server", str(stack.port), "--bind", "127.0.0.1"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        Lines(squatter).until("Serving HTTP")
        (stack.data / PID_FILE).write_text(json.dumps({"server": squatter.pid, "parent": int(gone.stdout)}))
        refused = stack.up()
        assert refused.process.wait(SAFETY_TIMEOUT) != 0
        assert f"port {stack.port} is already in use" in refused.rest()
        assert squatter.poll() is None
    finally:
        squatter.kill()
        squatter.wait()
