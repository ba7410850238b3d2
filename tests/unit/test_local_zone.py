"""The machine's zone, as the CLI's default and the local sign-in link's person's zone: TZ as the C
library reads it, else /etc/timezone, else the zone /etc/localtime links to, else UTC; only
names the pinned zone database knows (accord/local_zone.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from accord import local_zone


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A machine's zone files, as a distribution lays them out, in a folder of the test's own."""
    monkeypatch.delenv("TZ", raising=False)
    monkeypatch.setattr(local_zone, "TIMEZONE_FILE", tmp_path / "timezone")
    monkeypatch.setattr(local_zone, "LOCALTIME", tmp_path / "localtime")
    return tmp_path


@pytest.mark.parametrize(("tz", "zone"), [
    ("Asia/Kolkata", "Asia/Kolkata"),
    (":Europe/Berlin", "Europe/Berlin"),  # POSIX: a colon before a file name
    (":/usr/share/zoneinfo/America/Sao_Paulo", "America/Sao_Paulo"), ("/etc/localtime", None),  # or a path
    ("UTC", None), ("Etc/UTC", None), ("", None),
    ("CET-1CEST,M3.5.0,M10.5.0/3", None),  # a POSIX rule names no place: UTC
    ("Mars/Olympus_Mons", None), ("../../etc/passwd", None), ("EST", None),
])
def test_the_machines_zone_from_tz(machine: Path, monkeypatch: pytest.MonkeyPatch, tz: str, zone: str | None):
    (machine / "timezone").write_text("Europe/Lisbon\n")  # TZ set wins over the files, even unusable
    monkeypatch.setenv("TZ", tz)
    assert local_zone.machine_zone() == zone


def test_the_machines_zone_from_its_files(machine: Path):
    assert local_zone.machine_zone() is None  # nothing says: UTC
    os.symlink("/usr/share/zoneinfo/posix/Australia/Sydney", machine / "localtime")
    assert local_zone.machine_zone() == "Australia/Sydney"
    (machine / "timezone").write_text("America/Sao_Paulo\n")
    assert local_zone.machine_zone() == "America/Sao_Paulo"
    (machine / "timezone").write_text("x" * 100_000)  # names nothing: the link says
    assert local_zone.machine_zone() == "Australia/Sydney"
    (machine / "timezone").write_text("Etc/UTC\n")
    assert local_zone.machine_zone() is None
