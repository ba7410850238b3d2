"""Replay under changed zone data: the dates a workflow computed do not follow the machine's zone files.

Zone rules change several times a year, and a worker replays histories recorded under
older (or newer) data. Accord computes local times from the pinned ``tzdata`` package
only (accord/logic/zones.py, README "Where time zone arithmetic happens"), so a worker
whose system zone files say something else replays the same dates. Here a process is
given zone files in which London keeps Los Angeles's time (``PYTHONTZPATH``, which
``zoneinfo`` reads before the package, and ``TZ``): it sees the changed data through
``zoneinfo``, and yet replays the saved calendar histories (tests/histories/v0.7-calendar)
and computes every recorded meeting again to the second.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

from tests.support.history_files import SAVED
from tests.support.paths import ROOT

SET = SAVED / "v0.7-calendar"


def altered_zone_files(dest: Path) -> Path:
    """A copy of the zone files in which Europe/London is America/Los_Angeles."""
    source = Path(str(resources.files("tzdata") / "zoneinfo"))
    shutil.copytree(source, dest)
    shutil.copyfile(source / "America" / "Los_Angeles", dest / "Europe" / "London")
    return dest


def test_saved_calendar_histories_replay_with_their_dates_under_changed_zone_data(tmp_path) -> None:
    zone_dir = altered_zone_files(tmp_path / "zoneinfo")
    env = {**os.environ, "PYTHONTZPATH": str(zone_dir), "TZ": f":{zone_dir / 'Europe' / 'London'}",
           "ACCORD_TEST_RUN": str(tmp_path / "run")}
    result = subprocess.run([sys.executable, "-m", "tests.support.zone_replay", str(SET)], check=False, cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    # The changed data is really in force for code that asks the system (London at UTC-7 in July)...
    assert seen["system_london_offset_h"] == -7.0
    # ...but not for Accord's zone arithmetic, so the histories replay and every date is the same.
    assert seen["pinned_london_offset_h"] == 1.0
    assert seen["histories"] >= 1 and seen["replay_failures"] == {}
    assert seen["meetings"], "the set records weekly meetings to compute again"
    assert max(len(m["recorded"]) for m in seen["meetings"]) >= 20
    for meetings in seen["meetings"]:
        assert meetings["recomputed"] == meetings["recorded"]
