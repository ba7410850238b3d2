"""What an amendment changes: the field paths where two definitions differ, in words.

Used to show an amendment before it is approved (``accord amend``) and to record what it
changed in the partnership's audit trail. Lists are compared by the ``id`` of their items
where they have one (a reordered ladder is not a change of every level).
"""

from __future__ import annotations

from typing import Any

from definitions.schema import PartnershipDefinition

MAX_VALUE = 60


def changes(old: PartnershipDefinition, new: PartnershipDefinition) -> list[str]:
    out: list[str] = []
    _walk(old.model_dump(mode="json"), new.model_dump(mode="json"), "", out)
    return out


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def _keyed(items: list[Any]) -> dict[str, Any] | None:
    if all(isinstance(i, dict) and isinstance(i.get("id"), str) for i in items):
        keys = [i["id"] for i in items]
        if len(set(keys)) == len(keys):
            return {k: i for k, i in zip(keys, items)}
    return None


def _walk(old: Any, new: Any, path: str, out: list[str]) -> None:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            child = f"{path}.{key}" if path else str(key)
            if key not in new:
                out.append(f"{child}: removed")
            elif key not in old:
                out.append(f"{child}: added {_show(new[key])}")
            else:
                _walk(old[key], new[key], child, out)
        return
    if isinstance(old, list) and isinstance(new, list):
        old_keyed, new_keyed = _keyed(old), _keyed(new)
        if old_keyed is not None and new_keyed is not None:
            _walk(old_keyed, new_keyed, path, out)
            return
        if len(old) == len(new):
            for i, (a, b) in enumerate(zip(old, new)):
                _walk(a, b, f"{path}[{i}]", out)
            return
    out.append(f"{path}: {_show(old)} -> {_show(new)}")
