"""The previous release of Accord, run as a real worker beside this one (the upgrade test).

Partnerships outlive releases: a partnership started by one release is carried on by the
next. ``PREVIOUS_RELEASE`` names the last commit before this release's work; the test
extracts that commit's tree from this repository (``git archive``), runs its worker in a
process of its own (``accord worker`` from that tree, on this machine's Python and
packages), starts partnerships on it, stops it mid-life, and lets this tree's worker
finish them.

The old worker is reached only through Temporal: it is handed the same task queue, and
the test talks to workflows through updates and queries whose JSON shape both releases
share. Partnerships are started with the definition as the plain YAML mapping, so that a
field this release adds to the definition model cannot reach a worker that refuses
unknown fields.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path

from tests.support.paths import ROOT

# v0.4, the last commit before this release's work (issues 11-16). Move it forward when a
# release ships, together with the new set of saved histories.
PREVIOUS_RELEASE = "d607456cc1c32d0519e990b9db967fff5caebcaa"
OLD_IDENTITY = "previous-release"
WORKER = "from accord.cli import app; app(['worker'])"  # what `accord worker` runs



def extract(dest: Path, commit: str = PREVIOUS_RELEASE) -> Path:
    """The tree of ``commit`` in ``dest`` (no .git: only what the release shipped)."""
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit],
                                 check=True, capture_output=True).stdout
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(
            f"commit {commit} is not in this clone ({exc.stderr.decode().strip()}); the upgrade test needs the "
            "previous release's code: clone with history (git fetch --unshallow)"
        ) from None
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest


@contextmanager
def old_worker(tree: Path, env: dict[str, str], log: Path, program: str = WORKER) -> Iterator[subprocess.Popen]:
    """The previous release's ``accord worker``, configured by ``env`` (ACCORD_* settings).

    Its own tree comes first on the import path, so every module it imports is the old one
    (this tree's editable install only fills in what the old tree does not have, which the
    old code never asks for)."""
    process_env = {**os.environ, **env, "PYTHONPATH": str(tree), "ACCORD_WORKER_IDENTITY": OLD_IDENTITY}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", program],
            cwd=tree, env=process_env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def stop(process: subprocess.Popen) -> int:
    """Stop the old worker as an upgrade does (SIGTERM: finish what runs, take nothing new)."""
    process.send_signal(signal.SIGTERM)
    return process.wait(60)
