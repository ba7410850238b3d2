"""Running the project's checkers (lint-imports, ruff, mypy) from tests: this environment's
copy (the test extras install them), on a tree's root with that tree first on the path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """A checker from this environment, else from PATH."""
    found = BIN / name if (BIN / name).exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return str(found)


def run(args: list[str], root: Path = ROOT, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    # The tree's own packages first on the path (workflows/ is a namespace package).
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=timeout, check=False)
