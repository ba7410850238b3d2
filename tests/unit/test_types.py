"""mypy over accord, definitions, workflows and activities ([tool.mypy] in pyproject.toml: the
pydantic plugin, unused ignores reported, every ignore naming its error code) runs with the
suite and must be clean.

A second run checks a small planted file with the same configuration, so a configuration
that checks less than it says (the plugin off, ignores without codes let through) fails here.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.support.checkers import ROOT, run, tool


def mypy(*args: str) -> subprocess.CompletedProcess[str]:
    return run([tool("mypy"), "--config-file", str(ROOT / "pyproject.toml"), *args])


def test_mypy_is_clean_over_the_packages() -> None:
    result = mypy()
    assert result.returncode == 0, result.stdout + result.stderr
    checked = re.search(r"no issues found in (\d+) source files", result.stdout)
    assert checked and int(checked.group(1)) >= 150, result.stdout  # every package, not a corner of one


def test_the_configuration_catches_what_it_promises(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text(
        "from accord.config import ApiKey\n"
        "from accord.models import Stage\n"
        "\n"
        "stage: Stage = 'screening'\n"  # a plain string where the enum is expected
        "key = ApiKey(name='bot', role='ops', sha256='0' * 64, owner='x')\n"  # pydantic plugin: no such field
        "count: int = 'one'  # type: ignore\n"  # an ignore without its error code
        "total: int = 2  # type: ignore[assignment]\n",  # an ignore that ignores nothing
        encoding="utf-8",
    )
    result = mypy(str(planted))
    assert result.returncode == 1, result.stdout
    found = {m.group(1) for m in re.finditer(r"^\S*planted\.py:\d+: error: .*\[([a-z-]+)\]$", result.stdout, re.MULTILINE)}
    assert found >= {"assignment", "call-arg", "ignore-without-code", "unused-ignore"}, result.stdout
