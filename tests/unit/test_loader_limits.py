"""The loader's limits, at their edges: counted exactly (an alias counts all it expands to),
refused with their own message one step past the limit and never before it, and the same
refusal wherever the loader runs (a file, a text, an amendment checked by the escalation
workflow). The hostile inputs themselves are in tests/support/hostile.py."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from accord.logic.rules.escalations import parse_amendment
from definitions.loader import (
    MAX_DEPTH,
    MAX_NODES,
    MAX_TEXT,
    DefinitionError,
    Issue,
    load,
    parse,
)
from tests.support.hostile import alias_bomb, definition

VALUES_MESSAGE = f"more than {MAX_NODES:,} values"
DEPTH_MESSAGE = f"nested more than {MAX_DEPTH} levels"


def issues_of(text: str) -> list[Issue]:
    with pytest.raises(DefinitionError) as exc:
        parse(text, "test.yaml")
    return exc.value.issues


def expanded(node: yaml.Node) -> int:
    """Values in the data a node stands for, counted by walking PyYAML's own tree (aliases in full)."""
    if isinstance(node, yaml.MappingNode):
        return 1 + sum(expanded(k) + expanded(v) for k, v in node.value)
    if isinstance(node, yaml.SequenceNode):
        return 1 + sum(expanded(child) for child in node.value)
    return 1


def with_values(total: int) -> str:
    """A mapping with an anchored list used through aliases, expanding to exactly ``total`` values;
    the aliases come last, so the last value counted is an alias's."""
    # {a: &a [x * 99], c: [x * rest], b: [*a * uses]}: 1 + (1 + 1 + 99) + (1 + 1 + rest) + (1 + 1 + 100 * uses)
    uses = (total - 106) // 100
    rest = total - 106 - 100 * uses
    text = ("a: &a [" + ", ".join(["x"] * 99) + "]\nc: [" + ", ".join(["x"] * rest) + "]\nb: ["
            + ", ".join(["*a"] * uses) + "]\n")
    assert expanded(yaml.compose(text)) == total
    return text


@pytest.mark.parametrize("total", [MAX_NODES - 1, MAX_NODES])
def test_values_up_to_the_limit_are_read(total: int) -> None:
    # Refused as a definition (it is not one), but not for its size: every value was read.
    assert not any(VALUES_MESSAGE in i.message for i in issues_of(with_values(total)))


def test_one_value_past_the_limit_is_refused_and_an_alias_counts_in_full() -> None:
    [issue] = issues_of(with_values(MAX_NODES + 1))
    assert (issue.path, issue.line) == ("(yaml)", 3)  # the list of aliases that went past it
    assert VALUES_MESSAGE in issue.message


def nested(levels: int) -> str:
    """``levels`` nested nodes: mappings, then a list, with the innermost value the last level."""
    return "".join(f"{' ' * i}k{i}:\n" for i in range(levels - 2)) + " " * (levels - 2) + "- x\n"


@pytest.mark.parametrize("style", ["block", "flow"])
def test_nesting_up_to_the_limit_is_read_and_one_more_level_is_refused(style: str) -> None:
    def text(levels: int) -> str:
        return nested(levels) if style == "block" else "[" * (levels - 1) + "x" + "]" * (levels - 1)

    assert not any(DEPTH_MESSAGE in i.message for i in issues_of(text(MAX_DEPTH)))
    [issue] = issues_of(text(MAX_DEPTH + 1))
    assert issue.path == "(yaml)" and DEPTH_MESSAGE in issue.message


def test_deep_nesting_is_refused_even_when_the_caller_has_used_most_of_the_stack() -> None:
    """Called with only 60 frames to spare (fewer than MAX_DEPTH levels need), the parse still
    ends in a DefinitionError, never a RecursionError."""
    frame, used = sys._getframe(), 0  # noqa: SLF001 - CPython's documented frame access, to measure the stack left
    while frame:
        frame, used = frame.f_back, used + 1

    def at_depth(frames: int) -> list[Issue]:
        return at_depth(frames - 1) if frames else issues_of(nested(MAX_DEPTH + 10))

    [issue] = at_depth(sys.getrecursionlimit() - used - 60)
    assert issue.path == "(yaml)" and "nested" in issue.message


def test_text_past_the_size_limit_is_refused_before_it_is_parsed() -> None:
    [issue] = issues_of("# " + "x" * MAX_TEXT)
    assert issue.path == "(file)" and f"at most {MAX_TEXT:,}" in issue.message


def test_a_file_is_read_only_up_to_the_limit(tmp_path: Path) -> None:
    exact = tmp_path / "exact.yaml"
    exact.write_text(definition("exact") + "#" * (MAX_TEXT - len(definition("exact").encode()) - 1) + "\n")
    assert exact.stat().st_size == MAX_TEXT
    assert load(exact).name == "Minimal partnership"
    with exact.open("a") as f:
        f.write("#")
    with pytest.raises(DefinitionError) as exc:
        load(exact)
    assert f"larger than {MAX_TEXT:,} bytes" in exc.value.issues[0].message


RULES_1 = SimpleNamespace(rules_version=1, allow_short_durations=True)
# An escalation of a partnership started before v0.5 judges amendments by the old rules.
RULES_0 = SimpleNamespace(rules_version=0, allow_short_durations=False)


@pytest.mark.parametrize("state", [RULES_1, RULES_0], ids=["rules 1", "rules 0"])
def test_the_escalation_workflow_refuses_an_alias_bomb_in_an_amendment_at_once(state) -> None:
    # The same check the escalation's resolve validator and handler run (workflow code).
    with pytest.raises(ValueError, match="more than [0-9,]+ values, counting each use of an alias"):
        parse_amendment(alias_bomb().decode(), state)


@pytest.mark.parametrize("state", [RULES_1, RULES_0], ids=["rules 1", "rules 0"])
def test_a_recursive_alias_in_an_amendment_is_a_message_not_a_recursion_error(state) -> None:
    with pytest.raises(ValueError, match="recursive alias"):
        parse_amendment(definition("recursive") + "x: &x [*x]\n", state)


def test_under_the_old_rules_the_loader_accepts_what_the_old_loader_finished() -> None:
    # A tag on a mapping was ignored before v0.5, and an amendment of 50,000 characters could hold
    # up to 25,000 values: a partnership started then still accepts them (its history may hold one).
    tagged = definition("tagged").replace("ops:", "ops: !custom", 1)
    with pytest.raises(DefinitionError, match="the tag '!custom' is not allowed"):
        parse(tagged)
    assert parse(tagged, rules=0).id.endswith("tagged")
    many = definition("many") + "description: " + str(list(range(12_000))).replace(" ", "") + "\n"
    with pytest.raises(DefinitionError, match="more than 10,000 values"):
        parse(many)
    with pytest.raises(DefinitionError, match="description"):  # the old rules refuse it for its type, not its size
        parse(many, rules=0)


def test_parsing_leaves_nothing_behind() -> None:
    """Nodes are not cached between parses (the old module-level constructor kept every node)."""
    from definitions.yaml_lines import SAFE

    for _ in range(3):
        parse(definition("leak"))
    assert SAFE.constructed_objects == {} and SAFE.recursive_objects == {}
