"""Load definition files and report every problem as ``file:line: field.path: message``.

YAML is parsed to a node tree first so each value keeps its line; pydantic's error
locations and :mod:`definitions.checks` paths are then mapped back to lines. Duplicate
keys are an error (plain YAML loaders silently keep the last one).

Every input is hostile until read: the text's size is checked before it is parsed, the
composer counts nodes and depth as it goes (aliases count in full each time they are
used), and only plain YAML values are accepted (no tags that build objects). Each
refusal is one :class:`Issue` with a line, never an exception of another kind. The work
is bounded by counts, never by a clock: this module also runs inside workflow code (an
amendment is parsed in the escalation workflow's validator and handler), where it must be
deterministic and quick.

The parts, each in its own module: reading a file or a body (:mod:`definitions.files`), the
bounded composer and YAML errors (:mod:`definitions.composer`), data with the line of every
path (:mod:`definitions.yaml_lines`), the rules despite type errors (:mod:`definitions.stand_ins`),
and the issues they report (:mod:`definitions.issues`). This module puts them together and
re-exports what callers import from it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from definitions import checks
from definitions.composer import (
    LEGACY_MAX_DEPTH,
    LEGACY_MAX_NODES,
    MAX_DEPTH,
    MAX_NODES,
    compose,
)
from definitions.files import MAX_TEXT, decode, looks_like_utf16, read
from definitions.issues import DefinitionError, Issue, Loc
from definitions.limits import LATEST_RULES
from definitions.schema import PartnershipDefinition
from definitions.stand_ins import despite_type_errors
from definitions.yaml_lines import Builder, clean_loc, pydantic_message

__all__ = [
    "LEGACY_MAX_DEPTH", "LEGACY_MAX_NODES", "MAX_DEPTH", "MAX_NODES", "MAX_TEXT", "DefinitionError", "Issue", "Loc",
    "check", "decode", "load", "parse", "read", "validate_files",
]


def parse(text: str, file: str = "<definition>", *, rules: int = LATEST_RULES, allow_short: bool = False,
          templates: Sequence[Path] | None = None, all_problems: bool = False) -> PartnershipDefinition:
    """Validate a definition's YAML text; raise :class:`DefinitionError` with every problem.

    ``rules`` (the version of the rules a running workflow applies) and ``allow_short`` go to
    :func:`definitions.checks.problems`. ``templates``: the folders the MOU template is looked
    for in (``accord.documents.mou.template_folders``); None (workflow code, which has no
    filesystem) does not look. ``all_problems``: when values have the wrong type, still run the
    rules across fields on the rest (:func:`definitions.stand_ins.despite_type_errors`); off in workflow code, which
    must judge an amendment exactly as it always has.
    """
    if len(text) > MAX_TEXT:
        raise DefinitionError([Issue(file, 1, "(file)", f"{len(text):,} characters long: a definition is at most {MAX_TEXT:,}")])
    if "\x00" in text[:2] and looks_like_utf16(text[:64].encode("utf-8", "surrogatepass")):
        raise DefinitionError([Issue(file, 1, "(file)", "looks like UTF-16 text (a NUL after each letter): save it as UTF-8")])
    node = compose(text, file, legacy=rules < 1)
    if node is None:
        raise DefinitionError([Issue(file, 1, "(top level)", "the file is empty")])
    builder = Builder(file)
    data = builder.build(node, ())
    issues, lines = builder.issues, builder.lines
    if not isinstance(data, dict):
        raise DefinitionError([Issue(file, 1, "(top level)", "a definition is a mapping of fields (key: value)")])
    try:
        definition = PartnershipDefinition.model_validate(data)
    except ValidationError as exc:
        errors = [(clean_loc(tuple(err["loc"])), err) for err in exc.errors()]
        for loc, err in errors:
            issues.append(Issue(file, lines.line(loc), ".".join(map(str, loc)) or "(top level)", pydantic_message(err)))
        if all_problems:
            judge = partial(check, rules=rules, allow_short=allow_short, templates=templates)
            for problem in despite_type_errors(data, errors, judge):
                issues.append(Issue(file, lines.line(problem.path), problem.dotted, problem.message))
        raise DefinitionError(sorted(issues, key=lambda i: i.line)) from None
    for problem in check(definition, rules=rules, allow_short=allow_short, templates=templates):
        issues.append(Issue(file, lines.line(problem.path), problem.dotted, problem.message))
    if issues:
        raise DefinitionError(sorted(issues, key=lambda i: i.line))
    return definition



def check(definition: PartnershipDefinition, *, rules: int = LATEST_RULES, allow_short: bool = False,
          templates: Sequence[Path] | None = None) -> list[checks.Problem]:
    """Every problem with a definition already parsed (options: those of :func:`parse`)."""
    found = checks.problems(definition, rules=rules, allow_short=allow_short)
    mou = definition.mou
    if templates is None or mou is None or any(p.path == ("mou", "template") for p in found):
        return found
    # The lookup of rendering: a Jinja2 FileSystemLoader over these folders, in order.
    if not any(os.path.isfile(os.path.join(folder, mou.template)) for folder in templates):
        searched = ", ".join(str(f) for f in templates)
        found.append(checks.Problem(("mou", "template"),
                                    f"MOU template {mou.template!r} is in none of the template folders ({searched})"))
    return found



def load(path: str | Path, **options: Any) -> PartnershipDefinition:
    """Read and validate one definition file (``options``: those of :func:`parse`)."""
    return parse(read(path), str(path), **options)


def validate_files(paths: list[Path], **options: Any) -> list[Issue]:
    """Every problem in every file (directories are searched for *.yaml / *.yml; ``options``:
    those of :func:`parse`; the rules across fields run despite type errors unless
    ``all_problems=False``)."""
    options = {"all_problems": True, **options}
    issues: list[Issue] = []
    for path in paths:
        files = _definitions_in(path)
        if not files:
            issues.append(Issue(str(path), 1, "(file)", "a folder without definition files (*.yaml, *.yml)"))
        for file in files:
            try:
                load(file, **options)
            except DefinitionError as exc:
                issues.extend(exc.issues)
    return issues


def _definitions_in(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted([*path.rglob("*.yaml"), *path.rglob("*.yml")])
    return [path]
