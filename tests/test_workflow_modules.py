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
