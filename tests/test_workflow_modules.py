"""The workflow modules are shared by every run on a worker (worker.WORKFLOW_RUNNER passes
them through the sandbox), so they must keep no mutable state at module level: a list, dict
or set there would be one object for all partnerships, and a run could see another's data."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import MutableMapping, MutableSequence, MutableSet

import workflows


def module_state() -> dict[str, type]:
    found = {}
    for info in pkgutil.iter_modules(workflows.__path__):
        module = importlib.import_module(f"workflows.{info.name}")
        for name, value in vars(module).items():
            if not name.startswith("__") and isinstance(value, MutableMapping | MutableSequence | MutableSet | bytearray):
                found[f"{module.__name__}.{name}"] = type(value)
    return found


def test_workflow_modules_keep_no_mutable_module_state():
    assert module_state() == {}


def test_the_check_sees_module_state(monkeypatch):
    import workflows.mailing

    monkeypatch.setattr(workflows.mailing, "SENT", [], raising=False)
    assert module_state() == {"workflows.mailing.SENT": list}

