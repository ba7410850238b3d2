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
"""

from __future__ import annotations

import copy
import os
import re
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from yaml.events import AliasEvent, MappingStartEvent, ScalarEvent, SequenceStartEvent

from definitions import checks
from definitions.durations import Duration
from definitions.limits import LATEST_RULES
from definitions.schema import Formality, PartnershipDefinition

# Limits. The largest sample definition is 12 KB, 594 nodes and 7 levels deep; the escalation
# workflow caps an amendment (a whole definition) at 50,000 characters. Each limit is far above
# what a real definition needs and far below what costs the parser a noticeable time:
# PyYAML's pure-Python parser (kept: it is what running workflows have always parsed
# amendments with, and libyaml differs from it in corner cases) composes only some 20,000-100,000
# nodes a second on a shared 2-core machine.

MAX_TEXT = 200_000
"""The most characters of definition text parsed (and bytes of a file or request body read).

16 times the largest sample and 4 times the amendment cap. Checked before parsing, and a
file is never read beyond it, so a 20 MB file (or /dev/zero) costs nothing."""

MAX_NODES = 10_000
"""The most values (scalars, lists and mappings, keys included) a definition may expand to.

An alias counts the whole node it names each time it is used, so a nine-level alias bomb
(a few hundred bytes that expand to a billion values) is refused after a few dozen events.
17 times the largest sample; a 50,000-character amendment written like the samples has
about 2,500. It bounds the work after parsing too (building, validation): 10,000 values in
flow style, PyYAML's slowest, take about half a second on a busy 2-core machine."""

MAX_DEPTH = 50
"""The most levels of nesting. A definition needs 7. PyYAML's composer recurses (three Python
frames a level here), so 20,000 levels would raise RecursionError deep in the parser; 50 levels
take 150 frames, well within Python's 1,000 even from inside a workflow handler."""

# Under the rules before v0.5 (rules 0: a partnership started earlier judging an amendment),
# the loader must still accept everything the old loader could finish within a workflow task:
# at most 50,000 characters of amendment text hold no more than 25,000 values without aliases,
# and the old composer could recurse about 250 levels before Python's recursion limit. Tags on
# lists and mappings were ignored then. Bombs and recursive aliases, which the old loader never
# finished (the task failed), are refused under every rules version.
LEGACY_MAX_NODES = 25_000
LEGACY_MAX_DEPTH = 200

Loc = tuple[str | int, ...]
_SAFE = yaml.constructor.SafeConstructor()
_YAML_TAG = "tag:yaml.org,2002:"
# The explicit tags a definition may use (on scalars: to force a type, e.g. `!!str 1.0`), and
# what each means for the message when its value cannot be read. `!` alone means "plain text".
_SCALAR_TAGS = {
    f"{_YAML_TAG}str": "text", f"{_YAML_TAG}int": "a whole number", f"{_YAML_TAG}float": "a number",
    f"{_YAML_TAG}bool": "true or false", f"{_YAML_TAG}null": "null", f"{_YAML_TAG}timestamp": "a date or time",
}
_COLLECTION_TAGS: dict[type[yaml.Event], str] = {MappingStartEvent: f"{_YAML_TAG}map", SequenceStartEvent: f"{_YAML_TAG}seq"}
# Implicit tags the resolver gives plain `=` and `<<`; a definition has no use for either: text.
_AS_TEXT = {f"{_YAML_TAG}value", f"{_YAML_TAG}merge"}
_SURROGATE = re.compile("[\ud800-\udfff]")
_FILE_KINDS: list[tuple[Callable[[int], bool], str]] = [
    (stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
]


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


# ---------------------------------------------------------------------- composing, bounded


class _Refused(yaml.MarkedYAMLError):
    """YAML that is well formed but not accepted (a limit, a tag): the message is the problem."""

    def __init__(self, problem: str, mark: Any) -> None:
        # ``mark``: where (PyYAML's types tell its pure and its C Mark apart; both have a line).
        super().__init__(None, None, problem, mark)


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe composer, counting as it goes.

    Every node composed counts 1; an alias counts the expanded size of the node it names
    (computed once, when that node is finished), so the total is exactly the number of
    values the data will have. An alias to a node that is still open is recursive (its
    data would be infinite) and is refused; so are tags other than plain YAML's.
    """

    def __init__(self, text: str, legacy: bool = False):
        super().__init__(text)
        self.max_nodes, self.max_depth = (LEGACY_MAX_NODES, LEGACY_MAX_DEPTH) if legacy else (MAX_NODES, MAX_DEPTH)
        self.legacy = legacy
        self.depth = 0
        self.nodes = 0
        self.sizes: dict[int, int] = {}  # id(node) -> its expanded size; the nodes live as long as the loader
        self.open_anchors: set[str] = set()

    def fetch_flow_collection_start(self, token_class: type) -> None:
        # The scanner reads up to 1,024 characters ahead while a `[` or `{` might start a key, checking
        # every open bracket at each token: refuse deep brackets here, before that costs anything.
        if self.flow_level >= self.max_depth:
            raise _Refused(self._too_deep(), self.get_mark())
        super().fetch_flow_collection_start(token_class)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            if event.anchor in self.open_anchors:
                raise _Refused(f"the alias *{event.anchor} is used inside the node it names "
                               "(a recursive alias: its value would never end)", event.start_mark)
            node = super().compose_node(parent, index)  # refuses an undefined alias
            self._count(self.sizes[id(node)], event)
            return node
        if not (self.legacy and not isinstance(event, ScalarEvent)):
            self._check_tag(event)
        self._count(1, event)
        if self.depth >= self.max_depth:
            raise _Refused(self._too_deep(), event.start_mark)
        anchor = event.anchor
        if anchor is not None:
            self.open_anchors.add(anchor)
        self.depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self.depth -= 1
            self.open_anchors.discard(anchor)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        self.sizes[id(node)] = 1 + sum(self.sizes[id(c)] for c in children)
        return node

    def _count(self, n: int, event: yaml.Event) -> None:
        self.nodes += n
        if self.nodes > self.max_nodes:
            raise _Refused(f"more than {self.max_nodes:,} values, counting each use of an alias in full "
                           "(a definition has a few hundred)", event.start_mark)

    def _too_deep(self) -> str:
        return f"nested more than {self.max_depth} levels deep (a definition needs fewer than 10)"

    @staticmethod
    def _check_tag(event: yaml.Event) -> None:
        tag = getattr(event, "tag", None)
        if tag in (None, "!"):
            return
        if (isinstance(event, ScalarEvent) and tag in _SCALAR_TAGS) or _COLLECTION_TAGS.get(type(event)) == tag:
            return
        shown = "!!" + tag[len(_YAML_TAG):] if tag.startswith(_YAML_TAG) else tag
        raise _Refused(f"the tag {_short(shown)} is not allowed: a definition holds plain values "
                       "(put text that starts with '!' in quotes)", event.start_mark)


# ---------------------------------------------------------------------- building the data


class _Lines:
    """Maps a field path to the line where it is written."""

    def __init__(self) -> None:
        self.at: dict[Loc, int] = {}

    def line(self, loc: Loc) -> int:
        for n in range(len(loc), -1, -1):
            if loc[:n] in self.at:
                return self.at[loc[:n]]
        return 1


class _Builder:
    """Python data from the composed nodes, with the line of every path, and the problems
    that belong to one value (duplicate keys, keys that are not text, unreadable values)."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.lines = _Lines()
        self.issues: list[Issue] = []

    def problem(self, loc: Loc, line: int, message: str) -> None:
        self.issues.append(Issue(self.file, line, ".".join(map(str, loc)) or "(top level)", message))

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        line = node.start_mark.line + 1
        self.lines.at.setdefault(loc, line)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key_line = key_node.start_mark.line + 1
                if not isinstance(key_node, yaml.ScalarNode):
                    kind = "a mapping" if isinstance(key_node, yaml.MappingNode) else "a list"
                    self.problem(loc, key_line, f"a key must be text, not {kind}")
                    continue
                key = key_node.value  # keys stay text: `yes:` and `1:` are names, not a bool and a number
                if _SURROGATE.search(key):
                    self.problem(loc, key_line, f"the key {_short(key)} is not valid Unicode (it has a lone surrogate)")
                    continue
                if key in out:
                    self.problem((*loc, key), key_line, "duplicate key (written twice)")
                self.lines.at[(*loc, key)] = key_line
                out[key] = self.build(value_node, (*loc, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*loc, i)) for i, child in enumerate(node.value)]
        return self.scalar(node, loc, line)

    def scalar(self, node: yaml.Node, loc: Loc, line: int) -> Any:
        # YAML's safe resolver types plain scalars (ints, floats, bools, null, dates). The
        # constructor function is called directly: SafeConstructor.construct_object would
        # cache every node it ever saw in a module-level object (and is not thread-safe).
        if node.tag in _AS_TEXT:
            return node.value
        try:
            value = _SAFE.yaml_constructors[node.tag](_SAFE, node)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError, KeyError, AttributeError) as exc:
            # Each is a value its tag cannot read (`!!int abc`, `!!bool maybe`, a 5,000-digit
            # number, a time zone of +99:00): PyYAML raises all of these for bad scalars.
            reason = " (too many digits)" if "digits" in str(exc) else ""
            self.problem(loc, line, f"{_short(node.value)} is not {_SCALAR_TAGS.get(node.tag, 'a value')}{reason}")
            return node.value
        if isinstance(value, str) and _SURROGATE.search(value):
            self.problem(loc, line, f"{_short(value)} is not valid Unicode (it has a lone surrogate, e.g. \"\\ud800\")")
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value


def _short(text: str, limit: int = 40) -> str:
    """A value as it may appear in a one-line message: quoted, escaped, cut short."""
    shown = repr(text[:limit] + ("..." if len(text) > limit else ""))
    return shown.encode("ascii", "backslashreplace").decode("ascii")


# ---------------------------------------------------------------------- YAML errors


def _yaml_issue(exc: yaml.YAMLError, text: str, file: str) -> Issue:
    """One issue for a YAML error, at its line, with a hint for the usual slips."""
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        return Issue(file, line, "(yaml)", f"not valid YAML: the character U+{exc.character:04X} is not allowed "
                     "in YAML text (remove it)")
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark else 1
    problem = getattr(exc, "problem", None) or str(exc)
    if isinstance(exc, _Refused):
        return Issue(file, line, "(yaml)", problem)
    # The context says what was being read, and where it started: "but found another document" alone
    # is unreadable, and an unclosed bracket is reported where the parser gave up, not where it opened.
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    hint = _hint(context or "", problem)
    if context:
        where = f" (line {context_mark.line + 1})" if context_mark and context_mark.line + 1 != line else ""
        problem = f"{context}{where}: {problem}"
    return Issue(file, line, "(yaml)", f"not valid YAML: {problem}{hint}")


def _hint(context: str, problem: str) -> str:
    if "flow mapping" in context or "flow sequence" in context:
        return " (inside [ ] or { }, a value with a comma, colon or bracket must be in quotes; close each bracket)"
    if "mapping values are not allowed" in problem:
        return " (a value that contains ': ' must be in quotes)"
    if "'\\t'" in problem:
        return " (indent with spaces, not tabs)"
    if "cannot start any token" in problem:
        return " (a value that starts with this character must be in quotes)"
    if "alias" in context or "anchor" in context:
        return " (a value that starts with * or & must be in quotes)"
    if "expected <block end>" in problem:
        return " (quote the whole value, not a part of it)"
    return ""


# ---------------------------------------------------------------------- parsing


def _pydantic_message(err: Mapping[str, Any]) -> str:
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        return "unknown field (check the spelling; see `accord schema`)"
    if err["type"] == "missing":
        return "required field is missing"
    return msg.removeprefix("Value error, ")


def _clean_loc(loc: Loc) -> Loc:
    # pydantic adds the tag of union members and Annotated validators to error locations.
    return tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p in {"function-after", "function-before"})))


def _compose(text: str, file: str, legacy: bool) -> yaml.Node | None:
    try:
        loader = _BoundedLoader(text, legacy)  # the reader refuses control characters here
        try:
            return loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise DefinitionError([_yaml_issue(exc, text, file)]) from None
    except RecursionError:
        # Only if the caller's own stack is already nearly full: MAX_DEPTH keeps the composer shallow.
        raise DefinitionError([Issue(file, 1, "(yaml)", "nested too deeply")]) from None


def parse(text: str, file: str = "<definition>", *, rules: int = LATEST_RULES, allow_short: bool = False,
          templates: Sequence[Path] | None = None, all_problems: bool = False) -> PartnershipDefinition:
    """Validate a definition's YAML text; raise :class:`DefinitionError` with every problem.

    ``rules`` (the version of the rules a running workflow applies) and ``allow_short`` go to
    :func:`definitions.checks.problems`. ``templates``: the folders the MOU template is looked
    for in (``accord.documents.mou.template_folders``); None (workflow code, which has no
    filesystem) does not look. ``all_problems``: when values have the wrong type, still run the
    rules across fields on the rest (:func:`_despite_type_errors`); off in workflow code, which
    must judge an amendment exactly as it always has.
    """
    if len(text) > MAX_TEXT:
        raise DefinitionError([Issue(file, 1, "(file)", f"{len(text):,} characters long: a definition is at most {MAX_TEXT:,}")])
    if "\x00" in text[:2] and _looks_like_utf16(text[:64].encode("utf-8", "surrogatepass")):
        raise DefinitionError([Issue(file, 1, "(file)", "looks like UTF-16 text (a NUL after each letter): save it as UTF-8")])
    node = _compose(text, file, legacy=rules < 1)
    if node is None:
        raise DefinitionError([Issue(file, 1, "(top level)", "the file is empty")])
    builder = _Builder(file)
    data = builder.build(node, ())
    issues, lines = builder.issues, builder.lines
    if not isinstance(data, dict):
        raise DefinitionError([Issue(file, 1, "(top level)", "a definition is a mapping of fields (key: value)")])
    try:
        definition = PartnershipDefinition.model_validate(data)
    except ValidationError as exc:
        errors = [(_clean_loc(tuple(err["loc"])), err) for err in exc.errors()]
        for loc, err in errors:
            issues.append(Issue(file, lines.line(loc), ".".join(map(str, loc)) or "(top level)", _pydantic_message(err)))
        if all_problems:
            for problem in _despite_type_errors(data, errors, rules=rules, allow_short=allow_short, templates=templates):
                issues.append(Issue(file, lines.line(problem.path), problem.dotted, problem.message))
        raise DefinitionError(sorted(issues, key=lambda i: i.line)) from None
    for problem in check(definition, rules=rules, allow_short=allow_short, templates=templates):
        issues.append(Issue(file, lines.line(problem.path), problem.dotted, problem.message))
    if issues:
        raise DefinitionError(sorted(issues, key=lambda i: i.line))
    return definition


# ---------------------------------------------------------------------- rules despite type errors

_MARK = "stand-in"  # in every stand-in value: a message quoting one is about the stand-in, not the file
# An enum's stand-in is the value that asks least of the rest of the file (informal: no MOU needed).
_LENIENT: dict[type, Any] = {Formality: Formality.informal}


def _despite_type_errors(data: dict[str, Any], errors: list[tuple[Loc, Any]], **options: Any) -> list[checks.Problem]:
    """The rules across fields, judged on the rest of a definition whose values do not all
    have the right type.

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
            errors = [(_clean_loc(tuple(err["loc"])), err) for err in exc.errors()]
            continue
        return [p for p in check(definition, **options)
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


# ---------------------------------------------------------------------- reading files


def decode(raw: bytes, file: str) -> str:
    """A file's or a request body's bytes as text: UTF-8 (a byte order mark is allowed), else one issue."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        wide = "UTF-32" if raw.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")) else "UTF-16"
        raise DefinitionError([Issue(file, 1, "(file)", f"{wide} text (it starts with a {wide} byte order mark): "
                                     "save it as UTF-8")])
    if _looks_like_utf16(raw[:64]):
        raise DefinitionError([Issue(file, 1, "(file)", "looks like UTF-16 text (a NUL after each letter): save it as UTF-8")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DefinitionError([Issue(file, line, "(file)", f"not UTF-8 text: the byte 0x{raw[exc.start]:02x} "
                                     "cannot start or continue a character (save it as UTF-8)")]) from None


def _looks_like_utf16(head: bytes) -> bool:
    """UTF-16 without a byte order mark: in text that is mostly ASCII, every other byte is NUL."""
    pairs = len(head) // 2
    return pairs >= 2 and (head[1::2].count(0) == pairs or head[0::2].count(0) == pairs)


def read(path: str | Path) -> str:
    """A definition file's text, reading at most MAX_TEXT bytes; anything else is one issue.

    Only a regular file is opened for reading (a FIFO would wait for a writer, a device
    could never end): the kind is checked before opening, and again on what was opened,
    which is opened without waiting in case the path was swapped in between.
    """
    p, name = Path(path), str(path)

    def refuse(message: str) -> DefinitionError:
        return DefinitionError([Issue(name, 1, "(file)", message)])

    try:
        kind = os.stat(p).st_mode
    except FileNotFoundError:
        if p.is_symlink():
            raise refuse(f"a link to {_short(os.readlink(p), 200)}, which does not exist") from None
        raise refuse("cannot read: No such file or directory") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise refuse(f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    _regular_file(kind, refuse)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as f:
            _regular_file(os.fstat(f.fileno()).st_mode, refuse)
            raw = f.read(MAX_TEXT + 1)
    except OSError as exc:
        raise refuse(f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_TEXT:
        raise refuse(f"larger than {MAX_TEXT:,} bytes: a definition is at most that (real ones are about 10 KB)")
    return decode(raw, name)


def _regular_file(mode: int, refuse: Callable[[str], DefinitionError]) -> None:
    for test, what in _FILE_KINDS:
        if test(mode):
            raise refuse(f"is {what}, not a definition file")
    if not stat.S_ISREG(mode):
        raise refuse("is not a regular file")


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
