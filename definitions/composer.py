"""The bounded YAML composer: PyYAML's safe composer, counting values and depth as it goes,
and every YAML error as one :class:`~definitions.issues.Issue` at its line.

The composer counts nodes and depth as it goes (aliases count in full each time they are
used), and only plain YAML values are accepted (no tags that build objects). The work is
bounded by counts, never by a clock: this runs inside workflow code too (see
:mod:`definitions.loader`), where it must be deterministic and quick.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.events import AliasEvent, MappingStartEvent, ScalarEvent, SequenceStartEvent

from definitions.issues import DefinitionError, Issue, short

# Limits. The largest sample definition is 12 KB, 594 nodes and 7 levels deep; the escalation
# workflow caps an amendment (a whole definition) at 50,000 characters. Each limit is far above
# what a real definition needs and far below what costs the parser a noticeable time:
# PyYAML's pure-Python parser (kept: it is what running workflows have always parsed
# amendments with, and libyaml differs from it in corner cases) composes only some 20,000-100,000
# nodes a second on a shared 2-core machine.

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

YAML_TAG = "tag:yaml.org,2002:"
# The explicit tags a definition may use (on scalars: to force a type, e.g. `!!str 1.0`), and
# what each means for the message when its value cannot be read. `!` alone means "plain text".
SCALAR_TAGS = {
    f"{YAML_TAG}str": "text", f"{YAML_TAG}int": "a whole number", f"{YAML_TAG}float": "a number",
    f"{YAML_TAG}bool": "true or false", f"{YAML_TAG}null": "null", f"{YAML_TAG}timestamp": "a date or time",
}
_COLLECTION_TAGS: dict[type[yaml.Event], str] = {MappingStartEvent: f"{YAML_TAG}map", SequenceStartEvent: f"{YAML_TAG}seq"}


class Refused(yaml.MarkedYAMLError):
    """YAML that is well formed but not accepted (a limit, a tag): the message is the problem."""

    def __init__(self, problem: str, mark: Any) -> None:
        # ``mark``: where (PyYAML's types tell its pure and its C Mark apart; both have a line).
        super().__init__(None, None, problem, mark)


class BoundedLoader(yaml.SafeLoader):
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
            raise Refused(self._too_deep(), self.get_mark())
        super().fetch_flow_collection_start(token_class)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            if event.anchor in self.open_anchors:
                raise Refused(f"the alias *{event.anchor} is used inside the node it names "
                               "(a recursive alias: its value would never end)", event.start_mark)
            node = super().compose_node(parent, index)  # refuses an undefined alias
            self._count(self.sizes[id(node)], event)
            return node
        if not (self.legacy and not isinstance(event, ScalarEvent)):
            self._check_tag(event)
        self._count(1, event)
        if self.depth >= self.max_depth:
            raise Refused(self._too_deep(), event.start_mark)
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
            raise Refused(f"more than {self.max_nodes:,} values, counting each use of an alias in full "
                           "(a definition has a few hundred)", event.start_mark)

    def _too_deep(self) -> str:
        return f"nested more than {self.max_depth} levels deep (a definition needs fewer than 10)"

    @staticmethod
    def _check_tag(event: yaml.Event) -> None:
        tag = getattr(event, "tag", None)
        if tag in (None, "!"):
            return
        if (isinstance(event, ScalarEvent) and tag in SCALAR_TAGS) or _COLLECTION_TAGS.get(type(event)) == tag:
            return
        shown = "!!" + tag[len(YAML_TAG):] if tag.startswith(YAML_TAG) else tag
        raise Refused(f"the tag {short(shown)} is not allowed: a definition holds plain values "
                       "(put text that starts with '!' in quotes)", event.start_mark)



def yaml_issue(exc: yaml.YAMLError, text: str, file: str) -> Issue:
    """One issue for a YAML error, at its line, with a hint for the usual slips."""
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        return Issue(file, line, "(yaml)", f"not valid YAML: the character U+{exc.character:04X} is not allowed "
                     "in YAML text (remove it)")
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark else 1
    problem = getattr(exc, "problem", None) or str(exc)
    if isinstance(exc, Refused):
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



def compose(text: str, file: str, legacy: bool) -> yaml.Node | None:
    try:
        loader = BoundedLoader(text, legacy)  # the reader refuses control characters here
        try:
            return loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise DefinitionError([yaml_issue(exc, text, file)]) from None
    except RecursionError:
        # Only if the caller's own stack is already nearly full: MAX_DEPTH keeps the composer shallow.
        raise DefinitionError([Issue(file, 1, "(yaml)", "nested too deeply")]) from None
