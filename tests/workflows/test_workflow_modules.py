"""The workflow modules are shared by every run on a worker (worker.WORKFLOW_RUNNER passes
them through the sandbox), so they must keep no mutable state at module level: a list, dict
or set there would be one object for all partnerships, and a run could see another's data.

The workflows are packages (workflows/partnership/, workflows/escalation/, workflows/toolkit/):
both checks walk every module under ``workflows``, however deep.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import MutableMapping, MutableSequence, MutableSet

import workflows
from worker import WORKFLOW_RUNNER


def workflow_modules() -> list[str]:
    """Every module under the ``workflows`` package, subpackages included."""
    return sorted(m.name for m in pkgutil.walk_packages(workflows.__path__, "workflows."))


def module_state() -> dict[str, type]:
    found = {}
    for name in workflow_modules():
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if not attribute.startswith("__") and isinstance(value, MutableMapping | MutableSequence | MutableSet | bytearray):
                found[f"{module.__name__}.{attribute}"] = type(value)
    return found


def test_the_walk_reaches_every_subpackage():
    names = workflow_modules()
    for expected in ("workflows.partnership.workflow", "workflows.partnership.approvals", "workflows.escalation.workflow",
                     "workflows.toolkit.notifier", "workflows.versions"):
        assert expected in names


def test_workflow_modules_keep_no_mutable_module_state():
    assert module_state() == {}


def test_the_check_sees_module_state(monkeypatch):
    import workflows.toolkit.mailing

    monkeypatch.setattr(workflows.toolkit.mailing, "SENT", [], raising=False)
    assert module_state() == {"workflows.toolkit.mailing.SENT": list}


def test_the_check_sees_module_state_in_a_nested_package(monkeypatch):
    import workflows.partnership.approvals

    monkeypatch.setattr(workflows.partnership.approvals, "ASKED", {}, raising=False)
    assert module_state() == {"workflows.partnership.approvals.ASKED": dict}


def test_the_worker_passes_every_workflow_module_through_the_sandbox():
    """The passthrough is by package prefix (as the SDK's importer matches it): every module
    under ``workflows`` is shared, none is re-imported per run."""
    passthrough = WORKFLOW_RUNNER.restrictions.passthrough_modules

    def passed(name: str) -> bool:
        parts = name.split(".")
        return any(".".join(parts[:i]) in passthrough for i in range(1, len(parts) + 1))

    assert not [name for name in workflow_modules() if not passed(name)]
    assert not passed("accord.logic"), "only the workflow packages are meant here"


def test_each_activity_declaration_matches_the_activity_the_worker_registers(tmp_path):
    """workflows/toolkit/activities.py declares the activities for workflow code (name and types
    only); the worker registers the real ones (activities/): same names, same argument and result types."""
    import inspect

    from temporalio import activity

    from accord.config import Settings
    from worker import activities_for
    from workflows.toolkit import activities as declared

    def signature(fn) -> tuple:
        defn = activity._Definition.must_from_callable(fn)  # noqa: SLF001 - the SDK's only way to read an activity's declared payload types
        return defn.name, defn.arg_types, defn.ret_type

    registered = {signature(fn)[0]: signature(fn) for fn in activities_for(Settings(data_dir=tmp_path))}
    declarations = [fn for _, fn in inspect.getmembers(declared, inspect.iscoroutinefunction)
                    if hasattr(fn, "__temporal_activity_definition")]
    assert {signature(fn)[0] for fn in declarations} == set(registered)
    for fn in declarations:
        assert signature(fn) == registered[signature(fn)[0]]


def test_workflow_code_calls_activities_by_declaration_not_by_name():
    import re
    from pathlib import Path

    by_name = re.compile(r"(execute|start)_activity(_method)?\(\s*[\"']")
    sources = [p for root in workflows.__path__ for p in Path(root).rglob("*.py")]
    assert [str(p) for p in sources if by_name.search(p.read_text())] == []
