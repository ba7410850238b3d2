"""The rules across fields, judged on the rest of a definition whose values do not all have
the right type (``validate_files`` and ``accord definitions check``, never workflow code)."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from enum import Enum
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from definitions import checks
from definitions.durations import Duration
from definitions.issues import Loc
from definitions.schema import Formality, PartnershipDefinition
from definitions.yaml_lines import clean_loc

_MARK = "stand-in"  # in every stand-in value: a message quoting one is about the stand-in, not the file
# An enum's stand-in is the value that asks least of the rest of the file (informal: no MOU needed).
_LENIENT: dict[type, Any] = {Formality: Formality.informal}


def despite_type_errors(data: dict[str, Any], errors: list[tuple[Loc, Any]],
                        check: Callable[[PartnershipDefinition], list[checks.Problem]]) -> list[checks.Problem]:
    """The rules across fields (``check``: ``definitions.loader.check`` with the caller's options),
    judged on the rest of a definition whose values do not all have the right type.

    Each wrong value is replaced by a stand-in of the right type (an unknown key is left out,
    an optional field takes its default), then the rules run on the result. What they say
    about the stand-ins is dropped: every problem inside the object that held a wrong value
    (the rules there may compare it with its neighbours), and every problem quoting a stand-in.
    A stand-in duration is one second, which no reminder or deadline elsewhere can conflict
    with. The limit: a wrong shape (a list where a mapping belongs, a missing section, a list
    too short) has no stand-in, and then only the type errors are reported.
    """
    repaired = copy.deepcopy(data)
    blind: list[Loc] = []  # where the rules may have judged a stand-in
    for _ in range(3):  # a stand-in can uncover an error inside what it replaced; rarely more
        for loc, err in errors:
            unknown = err["type"] == "extra_forbidden"  # left out, it changes nothing the rules read
            expected = _annotation_at(loc) if loc and not unknown else None
            if expected is None and not unknown:
                return []
            kind, optional = expected or (None, True)
            stand_in = None if optional else _stand_in(kind, len(blind))
            if stand_in is None and not optional:
                return []
            try:
                _put(repaired, loc, stand_in)
            except (KeyError, IndexError, TypeError):  # a path through a value of the wrong shape
                return []
            if not unknown:
                blind.append(loc[:-1] if len(loc) > 1 else loc)
        try:
            definition = PartnershipDefinition.model_validate(repaired)
        except ValidationError as exc:
            errors = [(clean_loc(tuple(err["loc"])), err) for err in exc.errors()]
            continue
        return [p for p in check(definition)
                if _MARK not in p.message and not any(p.path[:len(b)] == b for b in blind)]
    return []


def _put(data: Any, loc: Loc, value: Any) -> None:
    """Set the value at ``loc`` (None: leave the key out, so its default applies)."""
    for part in loc[:-1]:
        data = data[part]
    if value is None and isinstance(data, dict):
        data.pop(loc[-1], None)
    else:
        data[loc[-1]] = value


def _bare(kind: Any) -> Any:
    """``kind`` without Annotated and Optional around it."""
    while True:
        if get_origin(kind) is Annotated:
            kind = get_args(kind)[0]
        elif get_origin(kind) in (Union, UnionType) and type(None) in get_args(kind):
            rest = [a for a in get_args(kind) if a is not type(None)]
            if len(rest) != 1:
                return kind
            kind = rest[0]
        else:
            return kind


def _annotation_at(loc: Loc) -> tuple[Any, bool] | None:
    """The type the value at ``loc`` must have, and whether it may be left out (it has a default)."""
    kind: Any = PartnershipDefinition
    optional = False
    for part in loc:
        bare = _bare(kind)
        if isinstance(bare, type) and issubclass(bare, BaseModel) and isinstance(part, str) and part in bare.model_fields:
            field = bare.model_fields[part]
            # pydantic keeps a field's constraints (a pattern) apart from its type: put them back.
            kind = Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
            optional = not field.is_required()
        elif get_origin(bare) is list and isinstance(part, int):
            kind, optional = get_args(bare)[0], False
        elif get_origin(bare) is dict and isinstance(part, str):
            kind, optional = get_args(bare)[1], False
        else:
            return None
    return kind, optional


def _patterns(kind: Any) -> list[str]:
    found: list[str] = []
    while get_origin(kind) is Annotated:
        kind, *metadata = get_args(kind)
        found += [m.pattern for m in metadata if isinstance(getattr(m, "pattern", None), str)]
    return found


def _stand_in(kind: Any, n: int) -> Any:
    """A value of type ``kind`` that every rule accepts and that no message can mistake for the
    author's; None if there is none (a list, a mapping, a section)."""
    bare = _bare(kind)
    if bare is Duration:
        return "1s"
    if get_origin(bare) is Literal:
        return get_args(bare)[0]
    if isinstance(bare, type) and issubclass(bare, Enum):
        return _LENIENT.get(bare, next(iter(bare))).value
    if bare in (bool, int, float):
        return {bool: False, int: 1, float: 0.5}[bare]
    if bare is str:
        patterns = _patterns(kind)
        for text in (f"{_MARK}-{n}", f"{_MARK}-{n}@{_MARK}.invalid"):
            if all(re.match(p, text) for p in patterns):
                return text
    return None

