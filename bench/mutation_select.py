"""A pytest plugin for the mutation run (bench/mutation.py): only the fast, pure rule-book tests.

Loaded with ``-p bench.mutation_select`` from ``[tool.mutmut] pytest_add_cli_args`` in
pyproject.toml, which also names the test files (``--mutation-tests`` patterns). Each mutant
reruns the tests that reach its function, so a test that starts a Temporal server, a browser
or a worker would turn a run of minutes into hours: any test asking for one of
:data:`SERVER_FIXTURES` is left out, whatever file it is in.

The end-of-session replay of tests/conftest.py is turned off (see :func:`pytest_configure`).
Hypothesis runs derandomized and without its example database, so two runs over the same
code give the same figures, and without deadlines (every call goes through mutmut's
trampoline, which is slower, and a missed deadline is not a killed mutant).
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

# Fixtures of tests/conftest.py (and the helpers it imports) that start a server or a process.
# (pytest lists every fixture a test needs, directly or through another, so these cover the rest.)
SERVER_FIXTURES = frozenset({"ts_env", "dev_env", "postgres_server", "oidc_provider"})


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--mutation-tests", action="append", default=[], metavar="PATTERN",
        help="a test file name pattern the mutation run takes (e.g. test_logic_*.py); repeat for more",
    )


def pytest_configure(config: pytest.Config) -> None:
    from hypothesis import settings

    from tests.support import run_record

    # tests/conftest.py replays the run's recorded histories when a session ends. The tests kept
    # here start no workflow, so there is nothing to replay; and the Replayer would start
    # Temporal's runtime in the process mutmut forks each mutant's run from, where a forked
    # child can neither use it ("Cannot create replay worker across forks") nor fork safely.
    run_record.check = lambda: (0, {})

    settings.register_profile("mutation", derandomize=True, database=None, deadline=None, print_blob=False)
    settings.load_profile("mutation")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    patterns = config.getoption("mutation_tests")
    if not patterns or collection_path.is_dir() or collection_path.suffix != ".py":
        return None
    if collection_path.name == "conftest.py":
        return None
    return not any(fnmatch.fnmatch(collection_path.name, p) for p in patterns)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    servers = [item for item in items if SERVER_FIXTURES & set(getattr(item, "fixturenames", ()))]
    if servers:
        config.hook.pytest_deselected(items=servers)
        items[:] = [item for item in items if item not in servers]
