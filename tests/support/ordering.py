"""The order in which the test processes take the files.

xdist's ``loadfile`` hands whole files to the three processes, first come first served. Left to
itself it starts with the files that hold the most tests, so the few files whose one or two
tests take minutes (the property test, five years of a partnership, the crash runs) came last:
two processes then sat idle while the third finished them, and a full run's last 3% took about
three minutes. These files go first now (the addopts turn xdist's own reordering off); the rest
follow in their usual order and fill the gaps.
"""

from __future__ import annotations

import pytest

# Seconds each file's tests took in a full run on 2 cores (pytest --durations=0), the slowest
# first. Only the order matters: a new slow file belongs here.
SLOWEST_FILES = {
    "tests/workflows/test_definition_property.py": 153,
    "tests/faults/test_faults_crash.py": 130,
    "tests/workflows/test_operating.py": 125,
    "tests/replay/test_zz_replay.py": 77,
    "tests/web/test_api.py": 76,
    "tests/faults/test_faults_server.py": 73,
    "tests/web/test_e2e_every_link.py": 64,
    "tests/web/test_browser.py": 55,
    "tests/ops/test_several_hosts.py": 45,
    "tests/replay/test_upgrade.py": 36,
    "tests/ops/test_signing_keys.py": 35,
    "tests/ops/test_embedded_restart.py": 29,
    "tests/unit/test_types.py": 24,
}


def slowest_first(items: list[pytest.Item]) -> None:
    """Put the tests of the slowest files first, keeping every file's own order (a stable sort)."""
    items.sort(key=lambda item: -SLOWEST_FILES.get(item.nodeid.split("::", 1)[0], 0))
