"""Signing keys: the worker, the web app and `accord up` refuse to start with a short or published
key, or with none where one must not be generated; the generated key file is 0600 from its first
byte; `accord config check` reports the same as errors.

The processes are started as an operator would (`python -m accord.cli worker`, environment
variables only) and must say why in one line and exit 1, with no traceback and no key printed.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from accord import signing_keys
from accord.cli import app
from accord.config import Settings
from accord.ops.telemetry import free_loopback_port
from tests.support.paths import ROOT

GOOD = secrets.token_urlsafe(32)
REMOTE = "temporal.invalid:7233"  # not this machine (and never resolves)
SAFETY_TIMEOUT = 60  # only if something hangs; nothing waits for it to pass


def environment(tmp_path: Path, **accord: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    env.update({"ACCORD_DATA_DIR": str(tmp_path / "data"), "ACCORD_WEB_PORT": str(free_loopback_port())})
    env.update({f"ACCORD_{k.upper()}": v for k, v in accord.items()})
    return env


def accord(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "accord.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=SAFETY_TIMEOUT, check=False)


def stored(tmp_path: Path, key: str) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "signing.key").write_text(key)


REFUSED = {
    "the placeholder compose fell back to": ({"signing_keys": "change-me-in-production"}, "published"),
    "a short key": ({"signing_keys": "not-long-enough"}, "15 bytes long"),
    "an old key that is short": ({"signing_keys": f"old-and-short,{GOOD}"}, "key 1 of 2"),
    "a short key in the data folder": ({"stored": "short"}, "signing.key: the key is 5 bytes long"),
    "no key, Temporal elsewhere": ({"temporal_address": REMOTE}, "no signing key"),
}


# `accord up` runs its own local Temporal, so it may always generate a key: it refuses bad ones.
STARTS = [(command, case) for command in ("worker", "web") for case in REFUSED] + [
    ("up", "the placeholder compose fell back to"), ("up", "a short key in the data folder")]


@pytest.mark.parametrize(("command", "case"), STARTS)
def test_a_process_refuses_to_start_with_a_bad_or_missing_key(tmp_path, command, case):
    settings, says = REFUSED[case]
    settings = dict(settings)
    if "stored" in settings:
        stored(tmp_path, settings.pop("stored"))
    done = accord(command, env=environment(tmp_path, **settings))
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    for key in (settings.get("signing_keys") or "").split(","):
        assert not key or key not in done.stdout + done.stderr
    if case == "no key, Temporal elsewhere":
        assert not (tmp_path / "data" / "signing.key").exists()


@pytest.mark.parametrize("command", ["worker", "web"])
def test_with_temporal_elsewhere_the_data_folders_existing_key_is_used(tmp_path, command):
    """A shared volume (or an earlier `accord up`) holds the key: the process starts."""
    stored(tmp_path, GOOD)
    started = "not reachable yet" if command == "worker" else "Application startup complete"
    process = subprocess.Popen([sys.executable, "-m", "accord.cli", command], cwd=ROOT, text=True,
                               env=environment(tmp_path, temporal_address=REMOTE),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        seen = []
        for line in process.stderr:  # until it says it is up (a worker: waiting for Temporal)
            seen.append(line)
            if started in line:
                break
        assert started in "".join(seen), "".join(seen)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=SAFETY_TIMEOUT)
    assert (tmp_path / "data" / "signing.key").read_text() == GOOD


# ---------------------------------------------------------------------- the key file

class FileWatch:
    """Through Python's audit hooks: every file opened for creation in a folder, and the
    permissions it has whenever the process does anything else afterwards (a write is
    followed by a close, a chmod, a link... each raises an audit event; stat raises none)."""

    active: FileWatch | None = None

    def __init__(self, folder: Path):
        self.folder = str(folder)
        self.created: list[str] = []
        self.modes: dict[str, set[int]] = {}
        self.events: list[str] = []

    def __call__(self, event: str, args: tuple) -> None:
        self.events.append(event)
        if event == "open" and str(args[0]).startswith(self.folder) and isinstance(args[2], int) and args[2] & os.O_CREAT:
            self.created.append(str(args[0]))
        for path in self.created:
            try:
                info = os.stat(path)
            except FileNotFoundError:
                continue
            if info.st_size:  # the key is in it: who may read it now?
                self.modes.setdefault(path, set()).add(stat.S_IMODE(info.st_mode))


def _audit(event: str, args: tuple) -> None:
    if FileWatch.active is not None:
        watch, FileWatch.active = FileWatch.active, None  # no recursion from the watch's own calls
        try:
            watch(event, args)
        finally:
            FileWatch.active = watch


sys.addaudithook(_audit)  # for the life of the test process; it records only while a watch is active


def test_the_generated_key_file_is_0600_from_its_first_byte(tmp_path):
    """Even with a umask that lets everyone read new files, the key is never readable by
    others, at any moment: created 0600 (O_CREAT | O_EXCL), never written first and narrowed after."""
    settings = Settings(data_dir=tmp_path / "data")
    watch = FileWatch(tmp_path / "data")
    old_umask = os.umask(0)
    FileWatch.active = watch
    try:
        [key] = settings.keys
    finally:
        FileWatch.active = None
        os.umask(old_umask)
    path = tmp_path / "data" / "signing.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == key and signing_keys.problems([key]) == []
    assert watch.created and watch.modes, f"nothing observed: {watch.events}"
    assert {mode for modes in watch.modes.values() for mode in modes} == {0o600}, watch.modes
    assert Settings(data_dir=tmp_path / "data").keys == [key]  # the next process reads the same key


GENERATE = """
import sys
from pathlib import Path
from accord.config import Settings
settings = Settings(data_dir=Path(sys.argv[1]))
print("ready", flush=True)
sys.stdin.readline()
print(settings.keys[0], flush=True)
"""


def test_processes_generating_the_key_at_once_all_get_the_same_one(tmp_path):
    folder = tmp_path / "data"
    started = [subprocess.Popen([sys.executable, "-c", GENERATE, str(folder)], cwd=ROOT, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for _ in range(4)]
    for process in started:
        assert process.stdout.readline().strip() == "ready"
    for process in started:
        process.stdin.write("go\n")
        process.stdin.flush()
    keys = {process.communicate(timeout=SAFETY_TIMEOUT)[0].strip() for process in started}
    assert keys == {(folder / "signing.key").read_text()}
    assert [p.name for p in folder.iterdir()] == ["signing.key"]  # no draft left behind


# ---------------------------------------------------------------------- accord config check


@pytest.mark.parametrize(("settings", "level", "says"), [
    ({"signing_keys": "change-me-in-production"}, "error", "published"),
    ({"signing_keys": f"{GOOD},tiny"}, "error", "key 2 of 2"),
    ({"temporal_address": REMOTE}, "error", "no signing key"),
    ({}, "warning", "not set: a key is generated in"),
    ({"signing_keys": GOOD}, None, None),
])
def test_config_check_reports_what_the_processes_would_refuse(tmp_path, monkeypatch, settings, level, says):
    for name, value in environment(tmp_path, **settings).items():
        monkeypatch.setenv(name, value)
    for name in [n for n in os.environ if n.startswith("ACCORD_")]:
        if name not in environment(tmp_path, **settings):
            monkeypatch.delenv(name)
    result = CliRunner().invoke(app, ["config", "check"])
    found = [line for line in result.output.splitlines() if line.split(":")[1:2] == [" signing_keys"]]
    if level is None:
        assert result.exit_code == 0 and found == [], result.output
    else:
        [line] = found
        assert line.startswith(f"{level}: signing_keys: ") and says in line
        assert result.exit_code == (1 if level == "error" else 0)
    assert not (tmp_path / "data" / "signing.key").exists()  # checking never writes a key
    for key in (settings.get("signing_keys") or "").split(","):
        assert not key or key not in result.output


# ---------------------------------------------------------------------- keys in Accord's own files

DOCUMENTED = ["README.md", "docker-compose.yml", ".env.example", "Dockerfile"]
KEY_IN_TEXT = [
    re.compile(r"ACCORD_SIGNING_KEYS[ \t]*[=:][ \t]*['\"]?([^\s'\"]+)"),
    re.compile(r"signing_keys[ \t]*[=:][ \t]*\[([^\]]*)\]"),
]


def test_every_signing_key_written_in_accords_own_files_is_refused():
    found = {}
    for name in DOCUMENTED:
        text = (ROOT / name).read_text()
        for pattern in KEY_IN_TEXT:
            for match in pattern.finditer(text):
                value = match.group(1)
                if value.startswith(("$", "<")) or "..." in value:
                    continue  # a variable, a placeholder or an ellipsis: not a key anyone can copy
                for key in re.split(r"[,\s]+", value):
                    key = key.strip("'\"")
                    if key:
                        found[key] = name
    assert found, "the search found no example keys at all: check the patterns"
    accepted = {key: where for key, where in found.items() if not signing_keys.problems([key])}
    assert accepted == {}, f"keys written in Accord's files would be accepted; add them to PUBLISHED: {accepted}"
