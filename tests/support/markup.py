"""Hostile markup for the template tests: the marker, definitions and states that carry it in
every field a person or a definition controls, and readers that say how it came out.

A marker is numbered, so a failure names the field it came from (``Markers.fields``). It
holds what an attacker would try in each output: an element with an attribute and a script
(HTML), ``&amp;`` (double escaping), a Markdown link, a table pipe, and the characters that
mean something to iCalendar and Mermaid (``#;,\\`` and ``-->``).
"""

from __future__ import annotations

import re
from enum import Enum
from html.parser import HTMLParser
from typing import Any

import yaml
from pydantic import BaseModel

from definitions.durations import Duration

MARK = re.compile(r"MARK-(\d+)")


def hostile(n: int) -> str:
    return (f'<b data-x="MARK-{n}">&\'"&amp;</b><script>alert({n})</script>'
            f"[sign in](https://evil.example/{n})|#;,\\ -->")


class Markers:
    """Hands out numbered markers and remembers which field got which."""

    def __init__(self) -> None:
        self.fields: dict[int, str] = {}
        self.numbers: dict[str, int] = {}

    def __call__(self, field: str) -> str:
        n = len(self.fields) + 1
        self.fields[n], self.numbers[field] = field, n
        return hostile(n)

    def of(self, field: str) -> str:
        return hostile(self.numbers[field])


# ---------------------------------------------------------------------- definitions

# Keys whose values are ids, addresses, paths or choices: the schema refuses markup there,
# so they keep their sample values, as do references to ids and durations. Every other text
# is poisoned.
DEFINITION_KEEP = {"id", "email", "template", "holidays", "policy", "on_timeout", "formality", "direction",
                   "category", "version"}


def _is_duration(text: str) -> bool:
    try:
        Duration.parse(text)
    except (ValueError, TypeError):
        return False
    return True


def _ids(raw: Any) -> set[str]:
    if isinstance(raw, dict):
        own = {raw["id"]} if isinstance(raw.get("id"), str) else set()
        return own.union(*map(_ids, raw.values()))
    if isinstance(raw, list):
        return set().union(*map(_ids, raw))
    return set()


def poison_definition(raw: Any, mark: Markers, path: str = "d", ids: set[str] | None = None) -> Any:
    """The YAML data of a definition with a marker in every free text (and in the titles of
    ``mou.clauses.other``, which are keys)."""
    ids = _ids(raw) if ids is None else ids
    if isinstance(raw, dict):
        titles = path.endswith(".other")
        return {
            (mark(f"{path}[{k}].title") if titles else k):
                v if k in DEFINITION_KEEP and not titles else poison_definition(v, mark, f"{path}.{k}", ids)
            for k, v in raw.items()
        }
    if isinstance(raw, list):
        return [poison_definition(v, mark, f"{path}[{i}]", ids) for i, v in enumerate(raw)]
    if isinstance(raw, str) and raw not in ids and not _is_duration(raw):
        return mark(path)
    return raw


def hostile_yaml(sample_text: str, mark: Markers, **changes: Any) -> str:
    raw = yaml.safe_load(sample_text)
    for dotted, value in changes.items():
        node = raw
        *parents, last = dotted.split("__")
        for key in parents:
            node = node[key]
        node[last] = value
    return yaml.safe_dump(poison_definition(raw, mark), allow_unicode=True, sort_keys=False, width=10_000)


# ---------------------------------------------------------------------- states

# Fields of the workflow's records that hold ids, references, hashes, keys or choices made by
# code; every other text field is something a person typed or a definition named.
STATE_KEEP = {
    "partnership_id", "chain_id", "id", "owner", "actor", "by", "stakeholder", "party", "delegator", "delegate",
    "approvers", "participants", "contacts", "approval_id", "review_id", "metric_id", "task_id", "hash",
    "document_hash", "archive_hash", "policy", "kind", "source", "send_key", "event", "recipient", "trigger",
    "severity", "completed_by", "overridden_by", "raised_by", "closed_by", "resolved_by", "workflow_id",
    "partnership_workflow_id", "unreachable", "missed", "actions_checked", "actions", "answered", "status",
    "step", "data", "definition", "changes", "amendment_outcome", "escalation_id",
}


def poison_model(value: Any, mark: Markers, path: str) -> Any:
    """``value`` with a marker in every text field not in STATE_KEEP (models, lists, dict values)."""
    if isinstance(value, BaseModel):
        updates = {name: poison_model(getattr(value, name), mark, f"{path}.{name}")
                   for name in type(value).model_fields if name not in STATE_KEEP}
        return value.model_copy(update=updates)
    if isinstance(value, Enum):
        return value
    if isinstance(value, str):
        return mark(path)
    if isinstance(value, list):
        return [poison_model(v, mark, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: poison_model(v, mark, f"{path}[{k}]") for k, v in value.items()}
    return value


# ---------------------------------------------------------------------- readers


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Html(HTMLParser):
    """Elements, attributes and text of an HTML document, as a browser's parser sees them."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]], list[str]]] = []  # tag, attributes, ancestors
        self.texts: list[str] = []  # attribute values and text, each on its own
        self.data: list[str] = []  # the text alone: what reads as one run across inline elements
        self.open: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs, list(self.open)))
        self.texts += [v for _, v in attrs if v]
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs, list(self.open)))
        self.texts += [v for _, v in attrs if v]

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            while self.open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        self.data.append(data)

    def text(self) -> str:
        return "\x00".join(self.texts)


def numbers_in(output: str) -> set[int]:
    return {int(n) for n in MARK.findall(output)}


def check_html(html: str, where: str, forms: dict[int, str] | None = None, plain_links: bool = False) -> set[int]:
    """No element or attribute came from the markers, and every marker that reached the page
    reads as its literal text (or as the form given in ``forms``). Returns the numbers shown.
    ``plain_links``: links are allowed inside a ``<pre class="plain">`` (a plain-text email
    shown with its addresses linked)."""
    doc = Html(html)
    for tag, attrs, inside in doc.elements:
        names = {name for name, _ in attrs}
        assert tag != "script", f"{where}: a <script> element: {attrs}"
        assert not names & {"data-x", "onerror"}, f"{where}: markup from user text became <{tag} {attrs}>"
        for name, value in attrs:
            if name in {"href", "src", "action", "formaction"} and value and "evil.example" in value:
                assert plain_links and tag == "a" and "pre" in inside, f"{where}: a link from user text: <{tag} {name}={value!r}>"
    shown = numbers_in(html)
    text = doc.text() + "\x00" + "".join(doc.data)
    for n in shown:
        literal = (forms or {}).get(n, hostile(n))
        assert literal in text, f"{where}: marker {n} reached the page but does not read as its literal text"
    return shown


def check_text(text: str, where: str) -> set[int]:
    """A plain-text output carries every marker as typed: no entity, nothing dropped."""
    shown = numbers_in(text)
    for n in shown:
        assert hostile(n) in text, f"{where}: marker {n} is not there literally"
    for entity in ("&lt;", "&gt;", "&#34;", "&#39;", "&quot;", "&amp;amp;"):
        assert entity not in text, f"{where}: HTML entity {entity} in a plain-text output"
    return shown


# iCalendar (RFC 5545, section 3.1 and 3.3.11; RFC 6868 for ^-escapes in parameters), read
# strictly: every line CRLF-terminated and folded with one space or tab, no control
# characters but HTAB, parameter values either plain SAFE-CHARs or one quoted string, and
# TEXT values using only the escapes \\ \; \, \n.
_CTL = "\x00-\x08\x0a-\x1f\x7f"
_SAFE = f'[^{_CTL}";:,]'
_QSAFE = f'[^{_CTL}"]'
_PARAM_VALUE = f'(?:"{_QSAFE}*"|{_SAFE}*)'
_PARAM = f"[A-Za-z0-9-]+={_PARAM_VALUE}(?:,{_PARAM_VALUE})*"
_CONTENT_LINE = re.compile(f"(?P<name>[A-Za-z0-9-]+)(?P<params>(?:;{_PARAM})*):(?P<value>[^{_CTL}]*)")
_ONE_PARAM = re.compile(f";([A-Za-z0-9-]+)=({_PARAM_VALUE})")
_TEXT = re.compile(r"\\(.?)|([;,])", re.DOTALL)
TEXT_PROPERTIES = {"SUMMARY", "DESCRIPTION", "LOCATION", "COMMENT"}


def _unescape_text(value: str) -> str:
    def one(m: re.Match) -> str:
        assert m.group(2) is None, f"an unescaped {m.group(2)!r} in a TEXT value: {value!r}"
        assert m.group(1) and m.group(1) in "\\;,nN", f"a stray backslash in a TEXT value: {value!r}"
        return "\n" if m.group(1) in "nN" else m.group(1)

    return _TEXT.sub(one, value)


def _param(value: str) -> str:
    if value.startswith('"'):
        value = value[1:-1]
    return re.sub(r"\^(.)", lambda m: {"n": "\n", "'": '"', "^": "^"}.get(m.group(1), m.group(0)), value)


def read_ics(data: bytes) -> list[tuple[str, dict[str, str], str]]:
    """The content lines of an .ics file as (name, parameters, value), TEXT values unescaped."""
    text = data.decode("utf-8")
    assert text.endswith("\r\n"), "an iCalendar file ends with CRLF"
    physical = text[:-2].split("\r\n")
    for line in physical:
        assert not re.search(f"[{_CTL}\r]", line.replace("\t", " ")), f"a control character in {line!r}"
        assert len(line.encode()) <= 75, f"a line longer than 75 octets: {line!r}"
    logical: list[str] = []
    for line in physical:
        if line[:1] in (" ", "\t"):
            assert logical, "a continuation line first"
            logical[-1] += line[1:]
        else:
            logical.append(line)
    out = []
    for line in logical:
        match = _CONTENT_LINE.fullmatch(line)
        assert match, f"not an RFC 5545 content line: {line!r}"
        name = match["name"].upper()
        params = {k.upper(): _param(v) for k, v in _ONE_PARAM.findall(match["params"])}
        value = _unescape_text(match["value"]) if name in TEXT_PROPERTIES else match["value"]
        out.append((name, params, value))
    return out


# Mermaid, read strictly for the shapes `accord diagram` writes: one statement a line; labels
# in double quotes hold no quote, no "<" or ">" but the diagram's own "<br/>", no "%", "`",
# "&" or "#" outside an entity code. Labels are returned decoded, as Mermaid shows them.
_ID = r"[A-Za-z][A-Za-z0-9_]*"
_LABEL = r'"([^"]*)"'
_SHAPES = [rf"\[{_LABEL}\]", rf"\(\[{_LABEL}\]\)", rf"\{{\{{{_LABEL}\}}\}}", rf"\[/{_LABEL}/\]", rf">{_LABEL}\]",
           r"\(\[([a-z ]+)\]\)"]
_NODE = rf"(?P<id>{_ID})(?:{'|'.join(_SHAPES)})?"
_EDGE = r"(?:-->|-\.->)(?:\|(?P<edge>[^|\"]*)\|)?"
_STATEMENTS = [
    re.compile(r"flowchart TD"),
    re.compile(r"direction (?:TB|LR)"),
    re.compile(r"end"),
    re.compile(rf"subgraph (?P<id>{_ID})\[{_LABEL}\]"),
]


def _node(text: str) -> tuple[str, str | None]:
    match = re.fullmatch(_NODE, text)
    assert match, f"not a Mermaid node: {text!r}"
    label = next((g for g in match.groups()[1:] if g is not None), None)
    return match["id"], label


def read_mermaid(source: str) -> tuple[list[tuple], list[str]]:
    """(structure, labels): the statements with their ids but not their labels, and every label decoded."""
    structure: list[tuple] = []
    labels: list[str] = []
    for line in source.splitlines():
        line = line.strip()
        fixed = next((p.fullmatch(line) for p in _STATEMENTS if p.fullmatch(line)), None)
        if fixed is not None:
            structure.append(("statement", line.split("[")[0]))
            labels += [g for g in fixed.groups() if g is not None and g != fixed.groupdict().get("id")]
            continue
        parts = re.split(rf"\s+({_EDGE})\s+", line, maxsplit=1)
        if len(parts) == 1:
            ident, label = _node(line)
            structure.append(("node", ident))
        else:
            left, edge, *_, right = parts
            (a, la), (b, lb) = _node(left), _node(right)
            structure.append(("edge", a, edge.split("|")[0], b))
            labels += [x for x in (la, lb) if x is not None]
            continue
        if label is not None:
            labels.append(label)
    decoded = []
    for label in labels:
        bare = label.replace("<br/>", "\n")
        assert not re.search(r'[<>%`&"]', bare), f"markup left in a Mermaid label: {label!r}"
        assert not re.search(r"#(?!\d+;)", bare), f"a '#' outside an entity code: {label!r}"
        decoded.append(re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), bare))
    return structure, decoded
