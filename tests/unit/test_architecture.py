"""The structure stays as it is left: the import contracts (``lint-imports``, configured in
pyproject.toml) and ruff's private-access rule (SLF001) run with the suite, so a change that
breaks a layer fails here, in CI, and not in review.

Each checker is also run once on a copy of the tree with one violation planted, so a
configuration that checks nothing (a contract on a misspelt package, a rule not selected)
cannot pass unnoticed.
"""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.support.checkers import ROOT, run, tool

PACKAGES = ("accord", "workflows", "activities", "definitions")
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return run([tool("lint-imports"), "--no-cache"], root)


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """The packages and pyproject.toml, copied: a violation planted there touches nothing real."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def plant(root: Path, module: str, line: str) -> None:
    path = root / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_every_import_contract_is_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    kept = result.stdout.count(" KEPT")
    assert kept == len(CONTRACTS) >= 5, result.stdout


@pytest.mark.parametrize(("module", "line", "broken"), [
    # The web app starting a workflow by itself, not through accord.client.
    ("accord/web/site.py", "import workflows.partnership", "through-the-client"),
    # The CLI naming a workflow at run time (under TYPE_CHECKING it would be allowed).
    ("accord/cli/output.py", "from workflows.escalation import EscalationWorkflow", "through-the-client"),
    # The rule book reaching for the client.
    ("accord/logic/limits.py", "import accord.client", "pure-rules"),
    # A cycle: the models importing the client, which imports the models.
    ("accord/models/__init__.py", "import accord.client", "acyclic"),
])
def test_a_planted_violation_breaks_its_contract(tree_copy: Path, module: str, line: str, broken: str) -> None:
    plant(tree_copy, module, line)
    result = lint_imports(tree_copy)
    assert result.returncode != 0, result.stdout
    names = {c["id"]: c["name"] for c in CONTRACTS}
    assert f"{names[broken]} BROKEN" in " ".join(result.stdout.split()), result.stdout


def test_no_module_reaches_into_another_modules_private_names(tree_copy: Path) -> None:
    """ruff, with every rule pyproject.toml selects (SLF001 among them), over the whole tree (tests
    and bench included): clean, or each exception says why on its line. Then once on the copy,
    with a private access planted."""
    result = run([tool("ruff"), "check", "--no-cache", "--output-format", "concise", "."], ROOT)
    assert result.returncode == 0, result.stdout + result.stderr

    plant(tree_copy, "accord/web/site.py", "from accord.web import problems\nproblems._planted = problems.Problem")
    result = run([tool("ruff"), "check", "--no-cache", "--output-format", "concise", "accord/web/site.py"], tree_copy)
    assert result.returncode != 0 and "SLF001" in result.stdout, result.stdout
