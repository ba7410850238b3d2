#!/usr/bin/env python3
"""The two quickstart commands, needing nothing but Python 3.11+:

    python3 dev.py up     # install into .venv, then run everything locally (accord up)
    python3 dev.py test   # install into .venv with test extras, then run the test suite

Each installs what it needs, once: the virtual environment is refreshed only when
pyproject.toml changes. Extra arguments are passed on (e.g. `python3 dev.py test -k web`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
SOURCES = ["accord", "activities", "definitions", "workflows", "worker.py", "tests"]


def say(text: str) -> None:
    print(f"[dev] {text}", flush=True)


def ensure_venv(extras: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py is run by whatever python3 a person has, and says what it needs
        sys.exit(f"Accord needs Python 3.11 or newer (this is {sys.version.split()[0]})")
    if not (BIN / "python").exists():
        say(f"creating {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / f".installed-{extras or 'base'}"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted:
        return
    target = f".[{extras}]" if extras else "."
    say(f"installing {target} into {VENV} (first run only)")
    python = str(BIN / "python")
    # uv installs in about ten seconds what pip takes a minute over (CI installs on every run);
    # pip stays the way in when uv cannot be had.
    if subprocess.run([python, "-m", "pip", "install", "--quiet", "uv"], check=False).returncode == 0:
        # Byte-compiled as pip does: where PYTHONDONTWRITEBYTECODE is set, nothing compiles them later.
        subprocess.run([python, "-m", "uv", "pip", "install", "--quiet", "--compile-bytecode", "--python", python,
                        "-e", target], cwd=ROOT, check=True)
    else:
        subprocess.run([python, "-m", "pip", "install", "--quiet", "-e", target], cwd=ROOT, check=True)
    stamp.write_text(wanted)


def compile_sources() -> None:
    """Byte-compile Accord's own modules (only those changed since the last time). Where
    PYTHONDONTWRITEBYTECODE is set, as on CI, Python would otherwise compile them from source in
    every process, and the workflow sandbox again for every workflow run it loads: measured, a
    quarter of the time a replay of the saved histories takes."""
    subprocess.run([str(BIN / "python"), "-m", "compileall", "-q", *SOURCES], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)


def can_apt_install() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None


def apt_install(package: str) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True, env=env, stdout=subprocess.DEVNULL)


def ensure_chromium() -> None:
    """The browser tests drive Debian's Chromium; install it when we can (root on Debian/Ubuntu)."""
    if shutil.which("chromium") or Path("/usr/bin/chromium").exists() or os.environ.get("ACCORD_CHROMIUM"):
        return
    if can_apt_install():
        say("installing chromium (apt-get) for the browser tests")
        apt_install("chromium")
    else:
        say("chromium not found and cannot be installed here: browser tests will be skipped "
            "(install Debian's `chromium` or set ACCORD_CHROMIUM)")


MERMAID = VENV / "mermaid" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"


def ensure_mermaid() -> None:
    """The diagram test draws `accord diagram`'s output with the real Mermaid in Chromium;
    Mermaid ships on npm only, so take it from there when npm is here (once, into .venv)."""
    if MERMAID.exists() or os.environ.get("ACCORD_MERMAID_JS"):
        return
    if not shutil.which("npm"):
        say("npm not found: the Mermaid drawing test is skipped (set ACCORD_MERMAID_JS to a mermaid.min.js)")
        return
    say("installing mermaid (npm) for the diagram test")
    subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(MERMAID.parents[3]),
                    "mermaid@11"], check=True, stdout=subprocess.DEVNULL)


def ensure_postgresql() -> None:
    """The storage tests start a real PostgreSQL server (tests/support/postgres.py) from Debian's
    `postgresql`; install it when we can (root on Debian/Ubuntu)."""
    if os.environ.get("ACCORD_POSTGRES_BIN") or any(Path("/usr/lib/postgresql").glob("*/bin/postgres")):
        return
    if can_apt_install():
        say("installing postgresql (apt-get) for the storage tests")
        apt_install("postgresql")
    else:
        say("PostgreSQL not found and cannot be installed here: the storage tests will fail "
            "(install Debian's `postgresql` or set ACCORD_POSTGRES_BIN to its bin folder)")


def ensure_iproute2() -> None:
    """The several-hosts test gives each host a network namespace of its own (`ip netns`, from
    Debian's iproute2); without it the test falls back to loopback addresses and says so."""
    if shutil.which("ip") or not can_apt_install():
        return
    say("installing iproute2 (apt-get) for the several-hosts test")
    apt_install("iproute2")


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("help", [])
    os.chdir(ROOT)
    if command == "up":
        ensure_venv("")
        compile_sources()
        return subprocess.call([str(BIN / "accord"), "up", *rest])
    if command == "test":
        ensure_venv("test")
        compile_sources()
        ensure_chromium()
        ensure_mermaid()
        if MERMAID.exists():
            os.environ.setdefault("ACCORD_MERMAID_JS", str(MERMAID))
        ensure_postgresql()
        ensure_iproute2()
        return subprocess.call([str(BIN / "python"), "-m", "pytest", *rest])
    print(__doc__)
    return 0 if command in ("help", "-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
