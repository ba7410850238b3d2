"""The saved histories exercise everything the workflows do (tests/support/corpus.py says what that is).

A message handler, a patch or a path that no saved history takes is one that the replay test
cannot protect: a change to it would pass every replay and still break running partnerships.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import workflows
from tests.support.corpus import coverage, required
from tests.support.history_files import SAVED
from workflows import versions


def patch_ids() -> set[str]:
    """Every patch id, from the registry (workflows/versions.py)."""
    return {p.id for p in versions.PATCHES}


def test_every_patch_id_in_the_workflows_is_in_the_registry():
    modules = [importlib.import_module(m.name) for m in pkgutil.walk_packages(workflows.__path__, "workflows.")]
    used = {value for module in modules for name, value in inspect.getmembers(module)
            if name.startswith("PATCH_") and isinstance(value, str)}
    assert used == patch_ids(), "every PATCH_* constant has its entry in versions.PATCHES, and every entry a constant"
    assert {patch for _, patch, _ in versions.RULES} <= patch_ids()


def test_the_saved_histories_cover_every_message_path_and_patch():
    covered = set().union(*coverage(SAVED).values())
    missing = (required() | {f"patch:{p}" for p in patch_ids()}) - covered
    assert not missing, f"no saved history exercises: {sorted(missing)}"
