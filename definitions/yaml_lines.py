"""Python data from the composed YAML nodes, with the line where every field path is
written; and pydantic's error locations and messages, mapped back onto those paths."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from definitions.composer import SCALAR_TAGS, YAML_TAG
from definitions.issues import Issue, Loc, short

SAFE = yaml.constructor.SafeConstructor()
# Implicit tags the resolver gives plain `=` and `<<`; a definition has no use for either: text.
_AS_TEXT = {f"{YAML_TAG}value", f"{YAML_TAG}merge"}
_SURROGATE = re.compile("[\ud800-\udfff]")


class Lines:
    """Maps a field path to the line where it is written."""

    def __init__(self) -> None:
        self.at: dict[Loc, int] = {}

    def line(self, loc: Loc) -> int:
        for n in range(len(loc), -1, -1):
            if loc[:n] in self.at:
                return self.at[loc[:n]]
        return 1


class Builder:
    """Python data from the composed nodes, with the line of every path, and the problems
    that belong to one value (duplicate keys, keys that are not text, unreadable values)."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.lines = Lines()
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
                    self.problem(loc, key_line, f"the key {short(key)} is not valid Unicode (it has a lone surrogate)")
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
            value = SAFE.yaml_constructors[node.tag](SAFE, node)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError, KeyError, AttributeError) as exc:
            # Each is a value its tag cannot read (`!!int abc`, `!!bool maybe`, a 5,000-digit
            # number, a time zone of +99:00): PyYAML raises all of these for bad scalars.
            reason = " (too many digits)" if "digits" in str(exc) else ""
            self.problem(loc, line, f"{short(node.value)} is not {SCALAR_TAGS.get(node.tag, 'a value')}{reason}")
            return node.value
        if isinstance(value, str) and _SURROGATE.search(value):
            self.problem(loc, line, f"{short(value)} is not valid Unicode (it has a lone surrogate, e.g. \"\\ud800\")")
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value



def pydantic_message(err: Mapping[str, Any]) -> str:
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        return "unknown field (check the spelling; see `accord schema`)"
    if err["type"] == "missing":
        return "required field is missing"
    return msg.removeprefix("Value error, ")


def clean_loc(loc: Loc) -> Loc:
    # pydantic adds the tag of union members and Annotated validators to error locations.
    return tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p in {"function-after", "function-before"})))

