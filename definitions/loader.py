"""Load definition files and report every problem as ``file:line: field.path: message``.

YAML is parsed to a node tree first so each value keeps its line; pydantic's error
locations and :mod:`definitions.checks` paths are then mapped back to lines. Duplicate
keys are an error (plain YAML loaders silently keep the last one).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from definitions import checks
from definitions.limits import LATEST_RULES
from definitions.schema import PartnershipDefinition

Loc = tuple[str | int, ...]
_SCALARS = yaml.constructor.SafeConstructor()


@dataclass(frozen=True)
class Issue:
    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}: {self.message}"


class DefinitionError(Exception):
    """A definition that cannot be used; ``issues`` holds every problem found."""

    def __init__(self, issues: list[Issue]):
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


class _Lines:
    """Maps a field path to the line where it is written."""

    def __init__(self) -> None:
        self.at: dict[Loc, int] = {}

    def line(self, loc: Loc) -> int:
        for n in range(len(loc), -1, -1):
            if loc[:n] in self.at:
                return self.at[loc[:n]]
        return 1


def _build(node: yaml.Node, loc: Loc, lines: _Lines, dupes: list[tuple[Loc, int]]) -> Any:
    lines.at.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key in out:
                dupes.append(((*loc, key), key_node.start_mark.line + 1))
            lines.at[(*loc, key)] = key_node.start_mark.line + 1
            out[key] = _build(value_node, (*loc, key), lines, dupes)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(child, (*loc, i), lines, dupes) for i, child in enumerate(node.value)]
    # Scalars: YAML's safe resolver types them (ints, floats, bools, null, dates).
    return _SCALARS.construct_object(node)


def _pydantic_message(err: dict[str, Any]) -> str:
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        return "unknown field (check the spelling; see `accord schema`)"
    if err["type"] == "missing":
        return "required field is missing"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return msg


def _clean_loc(loc: Loc) -> Loc:
    # pydantic adds the tag of union members and Annotated validators to error locations.
    return tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p in {"function-after", "function-before"})))


def parse(text: str, file: str = "<definition>", *, rules: int = LATEST_RULES, allow_short: bool = False,
          templates: Sequence[Path] | None = None) -> PartnershipDefinition:
    """Validate a definition's YAML text; raise :class:`DefinitionError` with every problem.

    ``rules`` and ``allow_short`` go to :func:`definitions.checks.problems`. ``templates``:
    the folders the MOU template is looked for in (``accord.documents.mou.template_folders``);
    None (workflow code, which has no filesystem) does not look.
    """
    lines = _Lines()
    dupes: list[tuple[Loc, int]] = []
    try:
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        # The context says what was being read, and where it started: "but found another document" alone
        # is unreadable, and an unclosed bracket is reported where the parser gave up, not where it opened.
        context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context:
            where = f" (line {context_mark.line + 1})" if context_mark and context_mark.line + 1 != line else ""
            problem = f"{context}{where}: {problem}"
        raise DefinitionError([Issue(file, line, "(yaml)", f"not valid YAML: {problem}")]) from None
    if node is None:
        raise DefinitionError([Issue(file, 1, "(top level)", "the file is empty")])
    data = _build(node, (), lines, dupes)
    issues = [Issue(file, line, ".".join(map(str, loc)), "duplicate key (written twice)") for loc, line in dupes]
    if not isinstance(data, dict):
        raise DefinitionError([Issue(file, 1, "(top level)", "a definition is a mapping of fields (key: value)")])
    try:
        definition = PartnershipDefinition.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = _clean_loc(tuple(err["loc"]))
            issues.append(Issue(file, lines.line(loc), ".".join(map(str, loc)) or "(top level)", _pydantic_message(err)))
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
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError([Issue(str(p), 1, "(file)", f"cannot read: {exc.strerror or exc}")]) from None
    return parse(text, str(p), **options)


def validate_files(paths: list[Path], **options: Any) -> list[Issue]:
    """Every problem in every file (directories are searched for *.yaml / *.yml; ``options``:
    those of :func:`parse`)."""
    issues: list[Issue] = []
    for path in _expand(paths):
        try:
            load(path, **options)
        except DefinitionError as exc:
            issues.extend(exc.issues)
    return issues


def _expand(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted([*p.rglob("*.yaml"), *p.rglob("*.yml")]))
        else:
            out.append(p)
    return out
